import { ddim } from '../src/core/index.js';
import { toyProblem } from '../src/lab/toy/problem.js';
import { runMethod } from '../src/lab/toy/run.js';
import { autoguidanceRow, plainStrong, w2sdRow } from '../src/lab/toy/methods.js';

/*
 * The toy lab's throughput: samples per second for whole runs (T = 50, 10,000 samples in one batch, the
 * metrics included), and the raw analytic-model cost per sample evaluation, for the 1-D and 2-D toys.
 */

export interface ToyBenchRow {
  toy: string;
  method: string;
  nfe: number;
  seconds: number;
  samplesPerSecond: number;
  nsPerSampleEval: number;
}

export async function benchToy(): Promise<ToyBenchRow[]> {
  const samples = 10000;
  const steps = 50;
  const sampler = ddim();
  const rows: ToyBenchRow[] = [];
  for (const dim of [1, 2] as const) {
    const p = toyProblem({ dim, samples, seed: 0 });
    const methods = [plainStrong(p), w2sdRow(p, { inversion: 'ddim' }), w2sdRow(p, { inversion: 'fixed-point' }), autoguidanceRow(p, 2)];
    for (const m of methods) {
      await runMethod(p, m, { sampler, steps: 5 }); // warm-up: JIT and the per-σ caches of another schedule
      const t0 = performance.now();
      const r = await runMethod(p, m, { sampler, steps });
      const seconds = (performance.now() - t0) / 1000;
      rows.push({
        toy: `${dim}-D`,
        method: m.name,
        nfe: r.nfe,
        seconds,
        samplesPerSecond: samples / seconds,
        nsPerSampleEval: (seconds * 1e9) / (samples * r.nfe),
      });
    }
  }
  console.log(`\n## Toy lab throughput (T = ${steps}, ${samples} samples per run, metrics included)\n`);
  console.log('| toy | method | NFE | s | samples/s | ns per sample-evaluation |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.toy} | ${r.method} | ${r.nfe} | ${r.seconds.toFixed(3)} | ${Math.round(r.samplesPerSecond)} | ${r.nsPerSampleEval.toFixed(0)} |`);
  }
  return rows;
}
