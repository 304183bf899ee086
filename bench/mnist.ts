import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ddim } from '../src/core/samplers/ddim.js';
import { ddimSchedule } from '../src/core/schedules/discrete.js';
import { MODEL_NAMES, ModelShelf, defaultModelsDir } from '../src/lab/mnist/models.js';
import { plainRow, reflectionRow } from '../src/lab/mnist/rows.js';
import { runRow } from '../src/lab/mnist/run.js';

/*
 * Sampling throughput of the shipped MNIST models on this machine: images per second for plain DDIM and
 * for W2SD (λ = T − 1, ddim inversion, i.e. 3T − 2 calls), T = 20, at two batch sizes, plus the bare
 * network rate (rows per second) that bounds both. `--models DIR` points at another folder.
 */

export interface MnistBenchRow {
  model: string;
  method: string;
  batch: number;
  images: number;
  steps: number;
  nfe: number;
  seconds: number;
  imagesPerSecond: number;
  networkRowsPerSecond: number;
}

export async function benchMnist(args: string[] = []): Promise<MnistBenchRow[] | { skipped: string }> {
  const at = args.indexOf('--models');
  const dir = at >= 0 ? args[at + 1] : defaultModelsDir();
  if (!existsSync(join(dir, MODEL_NAMES.qualityStrong, 'model.onnx'))) {
    const why = `no ${MODEL_NAMES.qualityStrong} in ${dir} (train/export the models first, see models/README.md)`;
    console.log(`\n## MNIST sampling throughput\n\nskipped: ${why}`);
    return { skipped: why };
  }
  const shelf = new ModelShelf(dir);
  const out: MnistBenchRow[] = [];
  const steps = 20;
  for (const name of [MODEL_NAMES.qualityStrong, MODEL_NAMES.qualityWeak]) {
    const m = await shelf.model(name);
    const weak = await shelf.model(name === MODEL_NAMES.qualityStrong ? MODEL_NAMES.qualityWeak : MODEL_NAMES.qualityStrong);
    const rows = [
      plainRow('plain', 'plain DDIM', 'baseline', { model: m }),
      reflectionRow({ id: 'w2sd', name: 'W2SD (ddim, λ = T − 1)', group: 'w2sd', main: { model: m }, strong: { model: m }, weak: { model: weak } }),
    ];
    for (const batch of [32, 256]) {
      const images = batch === 32 ? 64 : 256;
      for (const row of rows) {
        if (name === MODEL_NAMES.qualityWeak && row.id === 'w2sd') continue;
        const base = { count: batch, batch, seed: 9, steps: 2, sampler: ddim(), schedule: (n: number) => ddimSchedule(m.scheduler, n), imageShape: m.imageShape, labelOf: (i: number) => i % 10 };
        await runRow(row, base); // warm-up: first runs allocate and JIT
        const r = await runRow(row, { ...base, count: images, steps });
        out.push({
          model: name,
          method: row.name,
          batch,
          images,
          steps,
          nfe: r.nfe,
          seconds: r.seconds,
          imagesPerSecond: images / r.seconds,
          networkRowsPerSecond: (r.networkPerImage * images) / r.seconds,
        });
      }
    }
  }
  console.log('\n## MNIST sampling throughput (ONNX Runtime CPU, this machine)\n');
  console.log('| model | method | batch | images | T | NFE | s | images/s | network rows/s |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of out) {
    console.log(`| ${r.model} | ${r.method} | ${r.batch} | ${r.images} | ${r.steps} | ${r.nfe} | ${r.seconds.toFixed(2)} | ${r.imagesPerSecond.toFixed(2)} | ${r.networkRowsPerSecond.toFixed(0)} |`);
  }
  return out;
}
