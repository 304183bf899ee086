import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FixedPointReport } from '../src/core/index.js';
import { FixedPointError, ddim, discreteDenoiser, invert, karrasSchedule, parseSchedulerConfig, targetOf, tensor, x0ProcessingOf } from '../src/core/index.js';
import { toyProblem } from '../src/lab/toy/problem.js';
import { w2sdRow } from '../src/lab/toy/methods.js';
import { runMethod } from '../src/lab/toy/run.js';
import { fixedPointNotes, toJson } from '../src/lab/toy/tables.js';
import { ModelShelf } from '../src/lab/mnist/models.js';
import { reflectionRow } from '../src/lab/mnist/rows.js';
import { runRow } from '../src/lab/mnist/run.js';
import { ddimSchedule } from '../src/core/schedules/discrete.js';
import { mixture1d } from './helpers/gaussian.js';
import { writeTinyModel } from './lab-tiny-onnx.js';

const weak = mixture1d([0.3, 0.7], [-4, 4], 1);
const s = karrasSchedule(0.002, 80, 5);

test('the reported residual is the returned point’s own: recomputed from x̃ as |y − F_w(x̃)| / (|y| + |x̃| + |move|)', async () => {
  const i = 1;
  for (const yv of [0.3, 2.5, -6]) {
    const reports: FixedPointReport[] = [];
    const y = tensor(Float32Array.of(yv), [1, 1]);
    const back = await invert('fixed-point', weak, y, i, s, { maxIterations: 2, tolerance: 1e-12, report: (r) => reports.push(r) });
    // F_w(x̃) = x̃ + (σ_{i+1} − σ_i)·(x̃ − D_w(x̃; σ_i))/σ_i, written out here from the paper's DDIM step
    const [up, down] = [s.points[i].sigma, s.points[i + 1].sigma];
    const d = (await weak(tensor(back, [1, 1]), s.points[i]))[0];
    const move = ((down - up) / up) * (back[0] - d);
    const rel = Math.abs(yv - back[0] - move) / (Math.abs(yv) + Math.abs(back[0]) + Math.abs(move));
    const r = reports[0];
    assert.deepEqual([r.step, r.sigma, r.iterations, r.items, r.unconverged, r.tolerance], [i, up, 2, 1, 1, 1e-12]);
    assert.ok(Math.abs(r.maxRelativeResidual - rel) <= 1e-6 * rel + 1e-9, `y ${yv}: reported ${r.maxRelativeResidual}, recomputed ${rel}`);
  }
});

test('strict: stopping at the cap above tolerance is a FixedPointError naming step, σ, items and residual', async () => {
  const y = tensor(Float32Array.of(0.3, -1, 2), [3, 1]);
  await assert.rejects(invert('fixed-point', weak, y, 2, s, { maxIterations: 1, strict: true }), (e: unknown) => {
    assert.ok(e instanceof FixedPointError);
    assert.equal(e.report.step, 2);
    assert.equal(e.report.unconverged, 3);
    assert.match(e.message, /did not converge at step 2 \(σ [\d.]+\): 3 of 3 items above tolerance 0\.000001 after 1 iterations, max relative residual/);
    return true;
  });
  // converged: no error even when strict, and the residual is under tolerance
  const reports: FixedPointReport[] = [];
  await invert('fixed-point', weak, y, 2, s, { strict: true, report: (r) => reports.push(r) });
  assert.equal(reports[0].unconverged, 0);
  assert.ok(reports[0].maxRelativeResidual <= 1e-6);
});

test('toy lab: a row’s fixed-point summary reaches the JSON and the notes under the table; strict makes it an error', async () => {
  const p = toyProblem({ samples: 64, seed: 2, dim: 1 });
  const capped = { inversion: 'fixed-point' as const, lambda: 3, fixedPoint: { maxIterations: 1 } };
  const row = await runMethod(p, w2sdRow(p, capped), { sampler: ddim(), steps: 5 });
  assert.equal(row.fixedPoint?.inversions, 3);
  assert.equal(row.fixedPoint?.iterations, 3);
  assert.deepEqual(row.fixedPoint?.unconvergedSteps, [0, 1, 2]);
  assert.ok(row.fixedPoint!.maxRelativeResidual > 1e-6);
  // counted NFE: 5 main + 3 strong + 3 solver evaluations
  assert.equal(row.nfe, 5 + 3 + 3);
  const json = toJson({ config: {}, modeNames: [], target: {}, bestW: 1, rows: [row], sweeps: [] } as never) as { rows: { fixedPoint: unknown }[] };
  assert.deepEqual(json.rows[0].fixedPoint, row.fixedPoint);
  assert.match(fixedPointNotes([row])[0], /stopped at the iteration cap .* at steps 0, 1, 2 \(NOT CONVERGED\)/);
  await assert.rejects(runMethod(p, w2sdRow(p, { ...capped, fixedPoint: { maxIterations: 1, strict: true } }), { sampler: ddim(), steps: 5 }), FixedPointError);
  const ok = await runMethod(p, w2sdRow(p, { inversion: 'fixed-point', lambda: 3, fixedPoint: { strict: true } }), { sampler: ddim(), steps: 5 });
  assert.deepEqual(ok.fixedPoint?.unconvergedSteps, []);
  assert.ok(ok.nfe > 5 + 3 + 3, 'the counted NFE includes every solver iteration');
});

test('MNIST lab: runRow carries the fixed-point summary over its batches; strict stops the row', async () => {
  const models = join(mkdtempSync(join(tmpdir(), 'w2sd-fp-')), 'models');
  writeTinyModel(models, 'mnist-full-final', { a: 0.3, b: 0.02, c: 0.0004 });
  const shelf = new ModelShelf(models);
  const strong = { model: await shelf.model('mnist-full-final') };
  const settings = {
    count: 3, batch: 2, seed: 1, steps: 4, sampler: ddim(), schedule: (n: number) => ddimSchedule(strong.model.scheduler, n), imageShape: strong.model.imageShape, labelOf: (i: number) => i,
  };
  const spec = { id: 'self', name: 'self', group: 'control' as const, main: strong, strong, weak: strong, kind: 'self' as const, inversion: 'fixed-point' as const };
  const capped = await runRow(reflectionRow({ ...spec, settings: { fixedPoint: { maxIterations: 1, tolerance: 1e-9 } } }), settings);
  // two batches × λ = 3 inversions, each stopped after one iteration
  assert.equal(capped.fixedPoint?.inversions, 6);
  assert.deepEqual(capped.fixedPoint?.unconvergedSteps, [0, 1, 2]);
  await assert.rejects(runRow(reflectionRow({ ...spec, settings: { fixedPoint: { maxIterations: 1, tolerance: 1e-9, strict: true } } }), settings), FixedPointError);
});

test('with clip_sample the fixed-point inversion inverts the clipped forward DDIM step (the sampler’s own step maps x̃ back to y)', async () => {
  const cfg = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, set_alpha_to_one: false, clip_sample: true, clip_sample_range: 1 });
  const ds = ddimSchedule(cfg, 10);
  const x0 = x0ProcessingOf(cfg);
  // ε = 0.3·x_t + t/2000: x0 far outside [−1, 1] for these latents, so the clip is active
  const weakNet = discreteDenoiser(async (xt, t) => Float32Array.from(xt.data, (v) => 0.3 * v + t / 2000), 'epsilon');
  const y = tensor(Float32Array.of(-9, -2.5, 0.4, 3, 12), [5, 1]);
  for (const i of [1, 5]) {
    const back = await invert('fixed-point', weakNet, y, i, ds, { maxIterations: 200, strict: true }, x0);
    const one = { ...ds, points: [ds.points[i]], final: targetOf(ds, i), targets: undefined };
    const forward = await ddim({ ...x0 })(weakNet, tensor(back, y.shape), one);
    for (let j = 0; j < 5; j++) assert.ok(Math.abs(forward[j] - y.data[j]) < 1e-4 * Math.abs(y.data[j]) + 1e-5, `step ${i}, item ${j}: ${forward[j]} vs ${y.data[j]}`);
    // without the clip in F_w the solution differs: the clip matters here
    const unclipped = await invert('fixed-point', weakNet, y, i, ds, { maxIterations: 200 });
    assert.ok(Math.abs(unclipped[0] - back[0]) > 1e-2, `clip inactive at step ${i}?`);
  }
});
