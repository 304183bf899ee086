import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Denoiser } from '../src/core/types.js';
import { ddim } from '../src/core/samplers/ddim.js';
import { veSchedule } from '../src/core/schedules/discrete.js';
import { tensor } from '../src/core/tensor.js';
import { cosineCurve, mergeCurves } from '../src/lab/mnist/cosine.js';

/** D(x) = k·x: differences of two such denoisers are multiples of x, so every cosine is exactly ±1. */
const scale = (k: number): Denoiser => async (x) => x.data.map((v) => k * v);

test('the cosine curve has sign (b − a)(a − c) for D_s = a·x, D_w = b·x, D_ideal = c·x, at every step', async () => {
  const s = veSchedule([10, 5, 2, 1]);
  const x = tensor(Float32Array.from([1, -2, 3, 0.5, 2, 1]), [2, 3]);
  const aligned = await cosineCurve({ strong: scale(0.5), weak: scale(0.3), ideal: scale(0.7) }, ddim(), x, s);
  assert.equal(aligned.length, 4);
  for (const p of aligned) {
    // Δ1 ∝ D_w − D_s = −0.2x, Δ2 ∝ D_s − D_ideal = −0.2x: parallel
    assert.ok(Math.abs(p.meanCosine - 1) < 1e-6);
    assert.equal(p.positive, 1);
  }
  const opposed = await cosineCurve({ strong: scale(0.5), weak: scale(0.3), ideal: scale(0.4) }, ddim(), x, s);
  for (const p of opposed) assert.ok(Math.abs(p.meanCosine + 1) < 1e-6);
  // the norms are per sample in ε units: ‖0.2·x_b‖/σ, averaged over the two rows, at the first step's σ = 10
  const n0 = (Math.hypot(1, -2, 3) + Math.hypot(0.5, 2, 1)) / 2;
  assert.ok(Math.abs(aligned[0].normWeakToStrong - (0.2 * n0) / 10) < 1e-6);
});

test('mergeCurves weights batches by size', () => {
  const p = (c: number) => ({ step: 0, sigma: 1, timestep: 5, meanCosine: c, positive: c > 0 ? 1 : 0, normWeakToStrong: 1, normStrongToIdeal: 2 });
  const m = mergeCurves([{ points: [p(1)], weight: 3 }, { points: [p(-1)], weight: 1 }]);
  assert.equal(m[0].meanCosine, 0.5);
  assert.equal(m[0].positive, 0.75);
});
