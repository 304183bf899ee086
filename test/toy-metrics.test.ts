import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GaussianMixture } from '../src/models/gmm.js';
import { toyMixtures } from '../src/models/gmm-toys.js';
import { quantile, toyMetrics, toyReference } from '../src/eval/toy-metrics.js';
import { sliceDirections, slicedWasserstein1, sortedProjections, wasserstein1Sorted } from '../src/eval/wasserstein.js';

const ideal2d = new GaussianMixture(toyMixtures(2).ideal);

test('W1 on the line: a shift by c costs c; unequal sizes integrate the quantile functions', () => {
  const a = Float64Array.of(-1, 0, 2, 5);
  const b = a.map((v) => v + 0.75);
  assert.ok(Math.abs(wasserstein1Sorted(a, b) - 0.75) < 1e-12);
  // {0} vs {0, 1}: quantile functions differ by 1 on half of [0, 1].
  assert.equal(wasserstein1Sorted(Float64Array.of(0), Float64Array.of(0, 1)), 0.5);
  // {0, 1, 2} vs {0, 3}: on u∈[0,1/3] |0−0|, [1/3,1/2] |1−0|, [1/2,2/3] |1−3|, [2/3,1] |2−3| → 1/6 + 1/3 + 1/3.
  assert.ok(Math.abs(wasserstein1Sorted(Float64Array.of(0, 1, 2), Float64Array.of(0, 3)) - (1 / 6 + 1 / 3 + 1 / 3)) < 1e-12);
});

test('sliced W1 in 2-D of a shift by c along x is c·mean|cos θ| ≈ 2c/π', () => {
  const x = Float32Array.of(0, 0, 1, 2, -3, 1, 2, -2);
  const y = x.map((v, i) => (i % 2 === 0 ? v + 1.5 : v));
  const dirs = sliceDirections(2, 64);
  const sw = slicedWasserstein1(sortedProjections(x, 2, dirs), sortedProjections(y, 2, dirs));
  assert.ok(Math.abs(sw - (2 * 1.5) / Math.PI) < 2e-3, `${sw}`);
  // Directions in higher dimension are unit vectors.
  const d5 = sliceDirections(5, 8);
  for (let l = 0; l < 8; l++) assert.ok(Math.abs(Math.hypot(...d5.subarray(5 * l, 5 * l + 5)) - 1) < 1e-12);
});

test('quantile interpolates between order statistics', () => {
  assert.equal(quantile(Float64Array.of(4, 1, 3, 2, 5), 0.25), 2);
  assert.equal(quantile(Float64Array.of(0, 10), 0.01), 0.1);
});

test('toy metrics on hand-placed points', () => {
  // Reference: the four ideal means (log-density all equal) plus one far point: its log-density is the 1 % quantile floor.
  const refPts = Float32Array.of(-4, -4, 4, -4, -4, 4, 4, 4, 10, 10);
  const ref = toyReference(ideal2d, refPts);
  const lp = ideal2d.logDensity(refPts);
  assert.ok(Math.abs(ref.outlierLogDensity - (lp[4] + 0.04 * (lp[0] - lp[4]))) < 1e-9);
  // Samples: two at bottom-left shifted by (−1, 0) and (−1, 0); one at top-right exactly; one far out (outlier).
  const s = Float32Array.of(-5, -4, -5, -4, 4, 4, 12, 12);
  const m = toyMetrics(ref, s);
  assert.deepEqual(m.modeMass, [0.5, 0, 0, 0.5]);
  assert.deepEqual(m.modeMean[0], [-5, -4]);
  assert.ok(Math.abs(m.modeShift[0] - 1) < 1e-12);
  assert.ok(Number.isNaN(m.modeShift[1]));
  assert.deepEqual(m.modeMean[3], [8, 8]);
  // Spread: bottom-left samples coincide (0); top-right deviations (±4, ±4) → √(64 / 2 / 2) = 4 × the unit std.
  assert.equal(m.modeSpread[0], 0);
  assert.ok(Math.abs(m.modeSpread[3] - 4) < 1e-12);
  assert.equal(m.outlierRate, 0.25);
  const expectedLL = [...ideal2d.logDensity(s)].reduce((a, b) => a + b, 0) / 4;
  assert.ok(Math.abs(m.meanLogLik - expectedLL) < 1e-12);
  // The log-density at a mode centre: log(0.25 · 1/(2π)) up to the other modes' negligible tails.
  assert.ok(Math.abs(ideal2d.logDensity(Float32Array.of(4, 4))[0] - Math.log(0.25 / (2 * Math.PI))) < 1e-6);
});

test('exact ideal samples score as the ideal: 25 % per mode, 1 % outliers, mean log-lik = −entropy', () => {
  let s = 99;
  const normals = (len: number): Float32Array => {
    const out = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      const u1 = (s + 0.5) / 4294967296;
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      const u2 = (s + 0.5) / 4294967296;
      out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return out;
  };
  const ref = toyReference(ideal2d, ideal2d.sample(20000, normals).x);
  const m = toyMetrics(ref, ideal2d.sample(20000, normals).x);
  for (const v of m.modeMass) assert.ok(Math.abs(v - 0.25) < 0.015, `${m.modeMass}`);
  assert.ok(Math.abs(m.outlierRate - 0.01) < 0.004, `${m.outlierRate}`);
  // Well-separated modes: entropy ≈ log 4 + log(2πe) for unit-variance 2-D Gaussians.
  const negEntropy = -(Math.log(4) + Math.log(2 * Math.PI * Math.E));
  assert.ok(Math.abs(m.meanLogLik - negEntropy) < 0.03, `${m.meanLogLik} vs ${negEntropy}`);
  assert.ok(m.slicedW1 < 0.1, `${m.slicedW1}`);
  for (const v of m.modeShift) assert.ok(v < 0.06, `${m.modeShift}`);
  for (const v of m.modeSpread) assert.ok(Math.abs(v - 1) < 0.03, `${m.modeSpread}`);
});
