import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GaussianMixture, gmmDenoiser } from '../src/models/gmm.js';
import { MixtureSpecError, parseMixtureFile, type MixtureSpec } from '../src/models/gmm-spec.js';
import { toyMixtures } from '../src/models/gmm-toys.js';
import { normalCdf } from '../src/models/gmm-normal.js';
import { tensor } from '../src/core/tensor.js';

/** Seeded normals for tests (xorshift + Box–Muller), independent of the code under test. */
function testNormals(seed: number): (length: number) => Float32Array {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return (length) => {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    return out;
  };
}

const skewed: MixtureSpec = {
  dim: 2,
  components: [
    { weight: 0.5, mean: [1, -2], cov: [[1.5, 0.6], [0.6, 0.8]] },
    { weight: 0.3, mean: [-3, 1], cov: [[0.5, -0.2], [-0.2, 2.0]] },
    { weight: 0.2, mean: [2, 3], cov: [[0.3, 0], [0, 0.3]] },
  ],
};

const points = Float64Array.of(0, 0, 1.2, -1.5, -2.5, 0.7, 3, 3.5, -0.4, 2.2);

test('score matches central finite differences of the log-density at several noise levels', () => {
  const g = new GaussianMixture(skewed);
  const h = 1e-5;
  for (const sigma of [0, 0.3, 1, 5]) {
    const score = g.score(points, sigma);
    for (let r = 0; r < points.length / 2; r++) {
      for (let i = 0; i < 2; i++) {
        const plus = Float64Array.from(points.subarray(2 * r, 2 * r + 2));
        const minus = Float64Array.from(plus);
        plus[i] += h;
        minus[i] -= h;
        const fd = (g.logDensity(plus, sigma)[0] - g.logDensity(minus, sigma)[0]) / (2 * h);
        assert.ok(Math.abs(fd - score[2 * r + i]) < 1e-5 * Math.max(1, Math.abs(fd)), `σ=${sigma} row ${r} dim ${i}: fd ${fd} vs score ${score[2 * r + i]}`);
      }
    }
  }
});

test('denoiser equals Tweedie: D = x + σ² ∇log p_σ', () => {
  const g = new GaussianMixture(skewed);
  for (const sigma of [0.1, 1, 3, 40]) {
    const d = g.denoise(points, sigma);
    const s = g.score(points, sigma);
    for (let i = 0; i < points.length; i++) {
      const tweedie = points[i] + sigma * sigma * s[i];
      assert.ok(Math.abs(d[i] - tweedie) < 1e-5 * Math.max(1, Math.abs(tweedie)), `σ=${sigma} [${i}]: ${d[i]} vs ${tweedie}`);
    }
  }
});

test('one component: posterior mean and log-density match the closed form by hand', () => {
  // Σ = [[2, 1], [1, 3]], σ = 1 → C = [[3, 1], [1, 4]], det C = 11, C⁻¹ = [[4, −1], [−1, 3]]/11.
  const g = new GaussianMixture({ dim: 2, components: [{ weight: 1, mean: [1, 2], cov: [[2, 1], [1, 3]] }] });
  const x = Float64Array.of(3, -1);
  const dx = [2, -3];
  const cinv = [[4 / 11, -1 / 11], [-1 / 11, 3 / 11]];
  const u = [cinv[0][0] * dx[0] + cinv[0][1] * dx[1], cinv[1][0] * dx[0] + cinv[1][1] * dx[1]]; // C⁻¹(x−μ)
  const expectedD = [1 + 2 * u[0] + 1 * u[1], 2 + 1 * u[0] + 3 * u[1]]; // μ + Σ C⁻¹ (x − μ)
  const q = dx[0] * u[0] + dx[1] * u[1];
  const expectedLogp = -Math.log(2 * Math.PI) - 0.5 * Math.log(11) - 0.5 * q;
  const d = g.denoise(x, 1);
  assert.ok(Math.abs(d[0] - expectedD[0]) < 1e-6 && Math.abs(d[1] - expectedD[1]) < 1e-6, `${d} vs ${expectedD}`);
  assert.ok(Math.abs(g.logDensity(x, 1)[0] - expectedLogp) < 1e-12);
  const s = g.score(x, 1);
  assert.ok(Math.abs(s[0] + u[0]) < 1e-12 && Math.abs(s[1] + u[1]) < 1e-12);
});

test('1-D two-mode density is the hand-written mixture of normal densities', () => {
  const g = new GaussianMixture(toyMixtures(1).strong);
  const sigma = 2;
  const v = 1 + sigma * sigma;
  const pdf = (x: number, m: number): number => Math.exp(-((x - m) ** 2) / (2 * v)) / Math.sqrt(2 * Math.PI * v);
  for (const x of [-6, -4, 0, 1.5, 7]) {
    const expected = Math.log(0.42 * pdf(x, -4) + 0.58 * pdf(x, 4));
    assert.ok(Math.abs(g.logDensity(Float64Array.of(x), sigma)[0] - expected) < 1e-12);
  }
});

test('far-away points keep finite densities, scores and denoised values (log-sum-exp)', () => {
  const g = new GaussianMixture(skewed);
  const far = Float64Array.of(500, -800);
  assert.ok(Number.isFinite(g.logDensity(far, 0)[0]));
  for (const v of g.denoise(far, 0.01)) assert.ok(Number.isFinite(v));
  for (const v of g.score(far, 0)) assert.ok(Number.isFinite(v));
});

test('zero-weight components are never responsible and never sampled', () => {
  const g = new GaussianMixture(toyMixtures(2).weak);
  const r = g.responsibilities(Float64Array.of(-4, -4, 4, 4));
  assert.equal(r[0], 0);
  assert.equal(r[4], 0);
  const { component } = g.sample(3000, testNormals(7));
  assert.ok(!component.includes(0));
});

test('exact sampling reproduces the mixture mean, covariance and weights', () => {
  const g = new GaussianMixture(skewed);
  const n = 40000;
  const { x, component } = g.sample(n, testNormals(12345));
  const w = skewed.components.map((c) => c.weight);
  const mean = [0, 1].map((i) => skewed.components.reduce((s, c) => s + c.weight * c.mean[i], 0));
  const cov = [[0, 0], [0, 0]];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
    cov[i][j] = skewed.components.reduce((s, c) => s + c.weight * (c.cov[i][j] + c.mean[i] * c.mean[j]), 0) - mean[i] * mean[j];
  }
  const m = [0, 0];
  for (let s = 0; s < n; s++) for (let i = 0; i < 2; i++) m[i] += x[2 * s + i] / n;
  const c = [[0, 0], [0, 0]];
  for (let s = 0; s < n; s++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) c[i][j] += ((x[2 * s + i] - m[i]) * (x[2 * s + j] - m[j])) / n;
  // Standard errors: sd/√n ≈ 0.015 for the means; allow ~5 of them (and ~3 % for second moments).
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(m[i] - mean[i]) < 0.08, `mean[${i}] ${m[i]} vs ${mean[i]}`);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
    assert.ok(Math.abs(c[i][j] - cov[i][j]) < 0.05 * Math.max(1, Math.abs(cov[i][j])), `cov[${i}][${j}] ${c[i][j]} vs ${cov[i][j]}`);
  }
  for (let k = 0; k < 3; k++) {
    const share = component.filter((v) => v === k).length / n;
    assert.ok(Math.abs(share - w[k]) < 0.012, `weight ${k}: ${share} vs ${w[k]}`);
  }
});

test('normalCdf against known values', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalCdf(1.959963985) - 0.975) < 1e-7);
  assert.ok(Math.abs(normalCdf(-1) - 0.158655254) < 1e-7);
});

test('gmmDenoiser is D(x; σ) when timestep = sigma and the ε-predictor form otherwise', async () => {
  const g = new GaussianMixture(skewed);
  const den = gmmDenoiser(g);
  const x = tensor(Float32Array.from(points), [5, 2]);
  const same = await den(x, { sigma: 1.5, timestep: 1.5 });
  assert.deepEqual(same, g.denoise(x.data, 1.5));
  // Latent at σ = 2, model conditioned at σ_c = 1.5: ε = (x − D(x; 1.5))/1.5, D = x − 2ε.
  const lagged = await den(x, { sigma: 2, timestep: 1.5 });
  const d15 = g.denoise(x.data, 1.5);
  for (let i = 0; i < 10; i++) {
    const eps = (x.data[i] - d15[i]) / 1.5;
    assert.ok(Math.abs(lagged[i] - (x.data[i] - 2 * eps)) < 1e-5);
  }
  await assert.rejects(den(tensor(new Float32Array(3), [1, 3]), { sigma: 1, timestep: 1 }), /dimension 2/);
});

test('mixture files: valid file parses; each defect gets a clear error', () => {
  const ok = JSON.stringify({
    ideal: [{ weight: 0.5, mean: [0], std: 1 }, { weight: 0.5, mean: [3], cov: [[2]] }],
    strong: { components: [{ weight: 1, mean: [0], std: 1 }] },
    weak: [{ weight: 1, mean: [1], std: 2, name: 'only' }],
  });
  const t = parseMixtureFile(ok, 'm.json');
  assert.equal(t.ideal.dim, 1);
  assert.deepEqual(t.weak.components[0].cov, [[4]]);
  const bad = (obj: unknown): string => JSON.stringify(obj);
  const comp2 = { weight: 1, mean: [0, 0], std: 1 };
  const cases: [string, RegExp][] = [
    ['{ideal: ', /m\.json: malformed JSON/],
    [bad({ ideal: [comp2], strong: [comp2] }), /missing field "weak"/],
    [bad({ ideal: [{ mean: [0, 0], std: 1 }], strong: [comp2], weak: [comp2] }), /ideal\[0\]: missing field "weight"/],
    [bad({ ideal: [{ weight: 1, mean: [0, 0] }], strong: [comp2], weak: [comp2] }), /missing field "cov"/],
    [bad({ ideal: [{ weight: 1, mean: [0, 0], cov: [[1, 2], [2, 1]] }], strong: [comp2], weak: [comp2] }), /ideal\[0\]\.cov: must be positive definite/],
    [bad({ ideal: [{ weight: 1, mean: [0, 0], cov: [[1, 0.5], [0, 1]] }], strong: [comp2], weak: [comp2] }), /must be symmetric/],
    [bad({ ideal: [{ ...comp2, weight: 0.6 }, { ...comp2, weight: 0.3 }], strong: [comp2], weak: [comp2] }), /ideal: weights must sum to 1/],
    [bad({ ideal: [comp2], strong: [{ weight: 1, mean: [0], std: 1 }], weak: [comp2] }), /strong\[0\]\.mean: expected 2 numbers/],
    [bad({ ideal: [comp2], strong: [comp2], weak: [{ ...comp2, weight: -1 }, { ...comp2, weight: 2 }] }), /weak\[0\]\.weight: must be >= 0/],
    [bad({ ideal: [comp2], strong: [comp2], weak: [{ ...comp2, std: 0 }] }), /weak\[0\]\.std: must be > 0/],
    [bad({ ideal: [], strong: [comp2], weak: [comp2] }), /ideal: expected a non-empty array/],
    [bad({ dim: 3, ideal: [comp2], strong: [comp2], weak: [comp2] }), /ideal\[0\]\.mean: expected 3 numbers/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseMixtureFile(text, 'm.json'), (e: unknown) => e instanceof MixtureSpecError && re.test(e.message), `expected ${re}`);
  }
});
