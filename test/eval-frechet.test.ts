import { test } from 'node:test';
import assert from 'node:assert/strict';
import { featureStats, frechetDistance, frechetFromFeatures, matMul, sqrtPsd, symmetricEigen, type FeatureStats } from '../src/eval/index.js';
import { gaussian } from '../src/core/rng.js';

function stats(mean: number[], cov: number[]): FeatureStats {
  return { dim: mean.length, count: 1000, mean: Float64Array.from(mean), cov: Float64Array.from(cov) };
}

test('symmetricEigen finds the eigenpairs of a hand-checked matrix', () => {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2
  const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
  const sorted = [...values].sort((a, b) => a - b);
  assert.ok(Math.abs(sorted[0] - 1) < 1e-12 && Math.abs(sorted[1] - 3) < 1e-12);
  const k3 = values[0] > values[1] ? 0 : 1;
  assert.ok(Math.abs(Math.abs(vectors[0 * 2 + k3]) - Math.SQRT1_2) < 1e-12);
  assert.ok(Math.abs(vectors[0 * 2 + k3] - vectors[1 * 2 + k3]) < 1e-12);
});

test('symmetricEigen reconstructs a random 24 × 24 symmetric matrix', () => {
  const n = 24;
  const g = gaussian(7, n * n);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j] + g[j * n + i];
  const { values, vectors } = symmetricEigen(a, n);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k] * values[k] * vectors[j * n + k];
      worst = Math.max(worst, Math.abs(s - a[i * n + j]));
    }
  }
  assert.ok(worst < 1e-10, `reconstruction error ${worst}`);
  assert.throws(() => symmetricEigen(Float64Array.from([1, 2, 3, 4]), 2), /not symmetric/);
});

test('sqrtPsd squares back to the input and refuses an indefinite matrix', () => {
  const s = Float64Array.from([4, 2, 0.5, 2, 3, 1, 0.5, 1, 2]);
  const r = sqrtPsd(s, 3);
  const rr = matMul(r, r, 3);
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(rr[i] - s[i]) < 1e-12);
  assert.throws(() => sqrtPsd(Float64Array.from([1, 0, 0, -1]), 2, 'cov'), /cov: eigenvalue -1 < 0/);
});

test('Fréchet distance matches closed forms: 1-D, diagonal and a non-commuting 2 × 2 pair', () => {
  // 1-D: (m1 − m2)² + (s1 − s2)²
  assert.ok(Math.abs(frechetDistance(stats([1], [4]), stats([-2], [9])) - (9 + 1)) < 1e-12);
  // diagonal covariances: Σ (√a − √b)²
  const diag = (v: number[]) => v.flatMap((x, i) => v.map((_, j) => (i === j ? x : 0)));
  const d = frechetDistance(stats([0, 0, 1], diag([1, 4, 9])), stats([0, 1, 1], diag([4, 4, 1])));
  assert.ok(Math.abs(d - (1 + (1 + 0 + 4))) < 1e-12);
  // 2 × 2: tr √M = √(tr M + 2 √det M) with M similar to Σ1Σ2, so tr (Σ1Σ2)^{1/2} = √(tr Σ1Σ2 + 2 √(det Σ1 det Σ2))
  const a = [2, 1, 1, 3];
  const b = [1, -0.4, -0.4, 2];
  const trAB = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
  const detA = a[0] * a[3] - a[1] * a[2];
  const detB = b[0] * b[3] - b[1] * b[2];
  const expected = 0.25 + 5 + 3 - 2 * Math.sqrt(trAB + 2 * Math.sqrt(detA * detB));
  assert.ok(Math.abs(frechetDistance(stats([0.5, 0], a), stats([0, 0], b)) - expected) < 1e-12);
  assert.ok(frechetDistance(stats([0.3, 1], a), stats([0.3, 1], a)) < 1e-12);
  assert.throws(() => frechetDistance(stats([0], [1]), stats([0, 0], [1, 0, 0, 1])), /dimensions differ/);
});

test('featureStats gives the unbiased covariance and frechetFromFeatures agrees with it', () => {
  const x = Float32Array.from([1, 2, 3, 6, 5, 4]); // rows (1,2), (3,6), (5,4)
  const s = featureStats(x, 2);
  assert.deepEqual([...s.mean], [3, 4]);
  // deviations (−2,−2), (0,2), (2,0): sums of products 8, 4, 8 over n − 1 = 2
  assert.deepEqual([...s.cov], [4, 2, 2, 4]);
  assert.throws(() => featureStats(Float32Array.from([1, 2, 3]), 2), /3 values are not rows of 2/);
  assert.throws(() => featureStats(Float32Array.from([1, NaN, 3, 4]), 2), /non-finite value NaN in row 0/);
  // samples of N(0, I) against the same law shifted by 1 in every coordinate: FD → D·1 = 4 as n grows
  const n = 20000;
  const dim = 4;
  const p = gaussian(1, n * dim);
  const q = gaussian(2, n * dim).map((v) => v + 1);
  const fd = frechetFromFeatures(p, q, dim);
  assert.ok(Math.abs(fd - 4) < 0.15, `FD ${fd}`);
});
