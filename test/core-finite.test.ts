import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Denoiser, Method, StepPoint } from '../src/core/index.js';
import {
  NonFiniteError, autoguided, batchGaussian, ddim, euler, firstNonFinite, guardDenoiser, karrasSchedule, plain, stepClock, tensor, w2sd,
} from '../src/core/index.js';
import { toyProblem } from '../src/lab/toy/problem.js';
import { w2sdRow } from '../src/lab/toy/methods.js';
import { runMethod } from '../src/lab/toy/run.js';
import { ModelShelf } from '../src/lab/mnist/models.js';
import { reflectionRow } from '../src/lab/mnist/rows.js';
import { runRow } from '../src/lab/mnist/run.js';
import { ddimSchedule } from '../src/core/schedules/discrete.js';
import { gaussianDenoiser } from './helpers/gaussian.js';
import { writeTinyModel } from './lab-tiny-onnx.js';

const good = gaussianDenoiser([0.3], 1);
const steps = 6;
const schedule = (t: number) => karrasSchedule(0.02, 20, t);
const noise = tensor(batchGaussian(1, [4, 1]), [4, 1]);
const ctx = { sampler: euler(), schedule, steps, noise };

/** A denoiser that puts `value` at index 2 of its output when `when(at)` holds, and is `good` otherwise. */
function poisoned(when: (at: StepPoint, call: number) => boolean, value = NaN): Denoiser {
  let call = 0;
  return async (x, at) => {
    const out = await good(x, at);
    if (when(at, call++)) out[2] = value;
    return out;
  };
}

async function failure(m: Method, c: Parameters<Method['run']>[0] = ctx): Promise<NonFiniteError> {
  try {
    await m.run(c);
  } catch (e) {
    assert.ok(e instanceof NonFiniteError, `expected a NonFiniteError, got ${(e as Error).stack}`);
    return e;
  }
  throw new Error('the run did not fail');
}

test('firstNonFinite finds NaN, +Inf and −Inf (also Inf and −Inf together) and nothing in finite data', () => {
  const a = new Float32Array(9).fill(1e38);
  assert.equal(firstNonFinite(a), -1); // a plain sum would overflow here; x·0 does not
  for (const v of [NaN, Infinity, -Infinity]) {
    const b = Float32Array.from(a);
    b[5] = v;
    assert.equal(firstNonFinite(b), 5);
  }
  const c = new Float32Array(4);
  c[1] = Infinity;
  c[3] = -Infinity;
  assert.equal(firstNonFinite(c), 1);
});

test('the guard names the leg, the clock’s step, σ and timestep, and passes finite output through untouched', async () => {
  const clock = stepClock();
  clock.step = 7;
  const g = guardDenoiser(poisoned(() => true, -Infinity), 'weak', clock);
  await assert.rejects(g(noise, { sigma: 1.5, timestep: 11 }), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.deepEqual([e.leg, e.step, e.sigma, e.timestep, e.index, e.value], ['weak', 7, 1.5, 11, 2, -Infinity]);
    assert.match(e.message, /leg 'weak' at step 7 \(σ 1\.5000, timestep 11\)/);
    return true;
  });
  const ok = await guardDenoiser(good, 'main', clock)(noise, { sigma: 1, timestep: 1 });
  assert.deepEqual(ok, await good(noise, { sigma: 1, timestep: 1 }));
});

test('NaN from the weak leg inside the ddim inversion names leg weak, the step and its levels', async () => {
  const s = schedule(steps);
  // the ddim inversion of step 3 conditions the weak model on t_3 while the latent sits at σ_4
  const weak = poisoned((at) => at.timestep === s.points[3].timestep);
  const e = await failure(w2sd('w2sd', { main: good, strong: good, weak }, { lambda: 5 }));
  assert.deepEqual([e.leg, e.step, e.timestep, e.sigma, e.during], ['weak', 3, s.points[3].timestep, s.points[4].sigma, 'ddim inversion']);
});

test('NaN inside the fixed-point inversion (its third iteration at step 2) names leg weak and step 2', async () => {
  const s = schedule(steps);
  let atStep2 = 0;
  const weak = poisoned((at) => at.sigma === s.points[2].sigma && ++atStep2 === 3);
  const e = await failure(w2sd('w2sd', { main: good, strong: good, weak }, { lambda: 5, inversion: 'fixed-point' }));
  assert.deepEqual([e.leg, e.step, e.sigma, e.during], ['weak', 2, s.points[2].sigma, 'fixed-point inversion']);
});

test('Inf from the strong leg and from the main leg after the reflection window name their legs and steps', async () => {
  const s = schedule(steps);
  const strong = poisoned((at) => at.sigma === s.points[1].sigma, Infinity);
  const e1 = await failure(w2sd('w2sd', { main: good, strong, weak: good }, { lambda: 3 }));
  assert.deepEqual([e1.leg, e1.step, e1.during], ['strong', 1, undefined]);
  // λ = 3: step 4 has no reflection; the main leg's call there is step 4's
  const main = poisoned((at) => at.sigma === s.points[4].sigma);
  const e2 = await failure(w2sd('w2sd', { main, strong: good, weak: good }, { lambda: 3 }));
  assert.deepEqual([e2.leg, e2.step, e2.sigma], ['main', 4, s.points[4].sigma]);
});

test('plain sampling and autoguidance check their legs too', async () => {
  const s = schedule(steps);
  const bad = poisoned((at) => at.sigma === s.points[2].sigma);
  const e1 = await failure(plain('plain', bad), { ...ctx, sampler: ddim() });
  assert.deepEqual([e1.leg, e1.step], ['main', 2]);
  const e2 = await failure(autoguided('ag', good, bad, 2));
  assert.deepEqual([e2.leg, e2.step], ['weak', 2]);
});

test('the toy lab’s rows fail with NonFiniteError naming the leg', async () => {
  const p = toyProblem({ samples: 16, seed: 1, dim: 2 });
  const nan: Denoiser = async (x) => new Float32Array(x.data.length).fill(NaN);
  const broken = { ...p, denoisers: { ...p.denoisers, weak: nan } };
  await assert.rejects(runMethod(broken, w2sdRow(broken, { lambda: 3, inversion: 'fixed-point' }), { sampler: ddim(), steps: 5 }), (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.deepEqual([e.leg, e.step, e.during], ['weak', 0, 'fixed-point inversion']);
    return true;
  });
});

test('the MNIST lab’s rows fail with NonFiniteError naming the leg (an ONNX model that outputs NaN)', async () => {
  const models = join(mkdtempSync(join(tmpdir(), 'w2sd-nan-')), 'models');
  writeTinyModel(models, 'mnist-full-final', { a: 0.3, b: 0.02, c: 0.0004 });
  writeTinyModel(models, 'mnist-small', { a: 0.2, b: 0.03, c: NaN });
  const shelf = new ModelShelf(models);
  const strong = { model: await shelf.model('mnist-full-final') };
  const weak = { model: await shelf.model('mnist-small') };
  const row = reflectionRow({ id: 'w', name: 'w', group: 'w2sd', main: strong, strong, weak });
  const run = runRow(row, {
    count: 2, batch: 2, seed: 1, steps: 4, sampler: ddim(), schedule: (n) => ddimSchedule(strong.model.scheduler, n), imageShape: strong.model.imageShape, labelOf: (i) => i,
  });
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof NonFiniteError);
    assert.deepEqual([e.leg, e.step, e.during], ['weak', 0, 'ddim inversion']);
    return true;
  });
});
