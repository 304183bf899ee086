import type { Denoiser, Sampler } from '../src/core/index.js';
import { CallCounter, ddim, dpmpp2m, euler, heun, karrasSchedule, tensor, w2sdSample } from '../src/core/index.js';

/*
 * The sampler's own cost per step, against a model that does nothing but hand back a fresh output buffer
 * (as ONNX Runtime does). What is left after subtracting that buffer's allocation is the cost W2SD's math
 * adds to a real model call; the target is under 0.5 % of a 100 ms UNet call.
 */

const MODEL_MS = 100;

function noop(): Denoiser {
  return async (x) => new Float32Array(x.data.length);
}

async function timeIt(fn: () => Promise<unknown>, minMs = 400): Promise<number> {
  await fn();
  let runs = 0;
  const t0 = performance.now();
  do {
    await fn();
    runs++;
  } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / runs;
}

export interface CoreBenchRow {
  shape: string;
  method: string;
  evalsPerStep: number;
  usPerStep: number;
  usModelPerStep: number;
  usSamplerPerStep: number;
  shareOf100ms: number;
}

export async function benchCore(): Promise<CoreBenchRow[]> {
  const rows: CoreBenchRow[] = [];
  const steps = 20;
  const s = karrasSchedule(0.03, 14.6, steps);
  for (const shape of [[2, 4, 64, 64], [2, 4, 128, 128]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tensor(new Float32Array(n).fill(0.5), shape);
    const counter = new CallCounter();
    const den = counter.wrap(noop());
    const usModelCall = (await timeIt(() => den(x, s.points[0]))) * 1000;
    const cases: [string, () => Promise<unknown>][] = [];
    const add = (name: string, sampler: Sampler) => cases.push([name, () => sampler(den, x, s)]);
    add('ddim', ddim());
    add('euler', euler());
    add('heun', heun());
    add('dpmpp-2m', dpmpp2m());
    for (const inversion of ['ddim', 'fixed-point'] as const) {
      const legs = { main: den, strong: den, weak: den };
      cases.push([`w2sd ddim (${inversion} inversion)`, () => w2sdSample(ddim(), legs, x, s, { lambda: steps - 1, inversion })]);
    }
    for (const [method, run] of cases) {
      counter.reset();
      await run();
      const evals = counter.total;
      const usRun = (await timeIt(run)) * 1000;
      const usPerStep = usRun / steps;
      const usModelPerStep = (usModelCall * evals) / steps;
      const usSampler = Math.max(0, usPerStep - usModelPerStep);
      rows.push({ shape: shape.join('×'), method, evalsPerStep: evals / steps, usPerStep, usModelPerStep, usSamplerPerStep: usSampler, shareOf100ms: usSampler / (MODEL_MS * 1000 * (evals / steps)) });
    }
  }
  return rows;
}

export function printCore(rows: CoreBenchRow[]): void {
  console.log('\n## Sampler cost per step against a no-op model (µs; share of a 100 ms model call per evaluation)\n');
  console.log('| latent | method | evals/step | µs/step total | µs/step no-op model | µs/step sampler | share of 100 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.shape} | ${r.method} | ${r.evalsPerStep.toFixed(2)} | ${r.usPerStep.toFixed(0)} | ${r.usModelPerStep.toFixed(0)} | ${r.usSamplerPerStep.toFixed(0)} | ${(r.shareOf100ms * 100).toFixed(3)} % |`);
  }
}
