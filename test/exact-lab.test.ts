import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gaussian, samplerByName } from '../src/core/index.js';
import { GaussianMixture } from '../src/models/gmm.js';
import { MixtureOfExperts } from '../src/models/gmm-moe.js';
import { clipIndex, sequenceMixture, type SequenceSpec } from '../src/models/gmm-sequence.js';
import { toyMixtures } from '../src/models/gmm-toys.js';
import { exactProblem, moeExperts, sequenceSpec } from '../src/lab/exact/presets.js';
import { expectedRoughness, temporalMetrics } from '../src/lab/exact/temporal.js';
import { runExactLab } from '../src/lab/exact/lab.js';
import { w2sdRow } from '../src/lab/toy/methods.js';
import { runMethod } from '../src/lab/toy/run.js';
import { registerToy } from '../src/cli/toy.js';
import { runCommand } from './helpers/cli.js';

const unit = (w: number, mean: number) => ({ prior: w, mixture: { dim: 1, components: [{ weight: 1, mean: [mean], cov: [[1]] }] } });

test('MoE gates and routing match the hand-derived two-expert case', () => {
  // experts N(−1, 1) and N(+1, 1), priors ½: at noise σ each is N(±1, 1 + σ²), so
  // g_2(x) = 1 / (1 + exp(−2x / (1 + σ²))) and D_e(x) = μ_e + (x − μ_e) / (1 + σ²)
  const moe = new MixtureOfExperts([unit(0.5, -1), unit(0.5, 1)]);
  const sigma = 0.7;
  const v = 1 + sigma * sigma;
  const x = Float32Array.of(0.3, -2);
  const g = moe.gates(x, sigma);
  for (let b = 0; b < 2; b++) {
    const g2 = 1 / (1 + Math.exp((-2 * x[b]) / v));
    assert.ok(Math.abs(g[b * 2 + 1] - g2) < 1e-12);
    assert.ok(Math.abs(g[b * 2] + g[b * 2 + 1] - 1) < 1e-12);
  }
  const d = (mu: number, xi: number) => mu + (xi - mu) / v;
  const top = moe.denoise(x, sigma, { kind: 'top', k: 1 });
  const bottom = moe.denoise(x, sigma, { kind: 'bottom', k: 1 });
  const all = moe.denoise(x, sigma, { kind: 'all' });
  // x = 0.3 sits nearer +1 (expert 2 is top), x = −2 nearer −1
  assert.ok(Math.abs(top[0] - d(1, 0.3)) < 1e-6 && Math.abs(bottom[0] - d(-1, 0.3)) < 1e-6);
  assert.ok(Math.abs(top[1] - d(-1, -2)) < 1e-6 && Math.abs(bottom[1] - d(1, -2)) < 1e-6);
  const g2 = 1 / (1 + Math.exp((-2 * 0.3) / v));
  assert.ok(Math.abs(all[0] - ((1 - g2) * d(-1, 0.3) + g2 * d(1, 0.3))) < 1e-6);
  assert.throws(() => moe.denoiser({ kind: 'top', k: 3 }), /k must be an integer in 1\.\.2/);
});

test('specialist experts with the exact router reproduce the ideal mixture’s denoiser; top-4 of 4 equals all', () => {
  const moe = new MixtureOfExperts(moeExperts('specialists'));
  const ideal = new GaussianMixture(toyMixtures(2).ideal);
  const x = gaussian(3, 64).map((v) => 6 * v);
  for (const sigma of [0.05, 0.8, 3, 20]) {
    const want = ideal.denoise(x, sigma);
    for (const r of [{ kind: 'all' } as const, { kind: 'top', k: 4 } as const]) {
      const got = moe.denoise(x, sigma, r);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])), `σ ${sigma} ${r.kind} [${i}]`);
    }
    // top-2 and bottom-2 split the four experts between them
    const g = moe.gates(x, sigma);
    const top = moe.chosen(g, { kind: 'top', k: 2 });
    const bottom = moe.chosen(g, { kind: 'bottom', k: 2 });
    for (let i = 0; i < top.length; i++) assert.equal(top[i] + bottom[i], 1);
  }
});

test('the sequence mixture has the AR(1) ⊗ pixel covariance and trajectory means, in (c, f, h, w) order', () => {
  const spec: SequenceSpec = {
    shape: { channels: 1, frames: 3, height: 1, width: 2 },
    std: 2,
    rho: 0.5,
    trajectories: [{ weight: 1, start: [1, -1], velocity: [0.5, 2] }],
  };
  const m = sequenceMixture(spec).components[0];
  const s = spec.shape;
  const i = (f: number, w: number) => clipIndex(s, 0, f, 0, w);
  assert.deepEqual(m.mean, [1, -1, 1.5, 1, 2, 3]);
  assert.equal(m.cov[i(0, 0)][i(0, 0)], 4);
  assert.equal(m.cov[i(0, 1)][i(1, 1)], 2);
  assert.equal(m.cov[i(0, 0)][i(2, 0)], 1);
  assert.equal(m.cov[i(0, 0)][i(1, 1)], 0);
  assert.throws(() => sequenceMixture({ ...spec, rho: 1 }), /rho must be in \[0, 1\)/);
});

test('temporal metrics of exact clips recover ρ, the analytic roughness and the mode weights', () => {
  const spec = sequenceSpec(0.25, 0.9);
  const mix = new GaussianMixture(sequenceMixture(spec));
  const { x } = mix.sample(4000, (n) => gaussian(11, n));
  const t = temporalMetrics(spec, x);
  assert.ok(Math.abs(t.lag1 - 0.9) < 0.01, `lag1 ${t.lag1}`);
  assert.ok(Math.abs(t.roughness / expectedRoughness(1, 0.9) - 1) < 0.05, `roughness ${t.roughness}`);
  assert.ok(t.consistency > 0.99);
  for (const f of t.frameMass) assert.ok(Math.abs(f[0] - 0.25) < 0.03);
  // frames shuffled in time lose the correlation
  const white = temporalMetrics(sequenceSpec(0.25, 0), new GaussianMixture(sequenceMixture(sequenceSpec(0.25, 0))).sample(4000, (n) => gaussian(12, n)).x);
  assert.ok(Math.abs(white.lag1) < 0.03 && Math.abs(white.roughness / 6 - 1) < 0.05);
});

test('the core samples video-shaped latents [B, 1, F, 1, 2] exactly as the same values flattened', async () => {
  const p = exactProblem('video', { samples: 64, seed: 5 });
  assert.deepEqual(p.itemShape, [1, 8, 1, 2]);
  const flat = { ...p, itemShape: undefined };
  const s = { sampler: samplerByName('ddim'), steps: 6 };
  const a = await runMethod(p, w2sdRow(p, { lambda: 3, inversion: 'ddim' }), s);
  const b = await runMethod(flat, w2sdRow(flat, { lambda: 3, inversion: 'ddim' }), s);
  assert.deepEqual(a.samples, b.samples);
  assert.equal(a.nfe, 6 + 2 * 3);
});

test('exact MoE lab (graded experts): W2SD adds bottom-left mass over top-k alone, S2WD removes it; every control row is there', async () => {
  const res = await runExactLab('moe-graded', { samples: 400, steps: 10, sampler: 'ddim', inversion: 'ddim', seed: 0 });
  const row = (p: string) => res.rows.find((r) => r.name.startsWith(p))!;
  const mass = (p: string) => row(p).metrics.modeMass[0];
  assert.ok(mass('W2SD (fixed-point)') > mass('plain strong') + 0.05);
  assert.ok(mass('S2WD') < mass('plain strong') - 0.05);
  for (const p of ['plain weak', 'self-reflection (ddim)', 'W2SD equal-compute', `autoguidance w=${res.bestW} (best)`]) assert.ok(row(p), p);
  assert.equal(row('plain strong').nfe, 10);
});

const toy = (args: string[]) => runCommand(registerToy, ['toy', ...args]);

test('w2sd toy --preset runs the exact labs, writes Markdown and JSON together, and refuses bad or toy-only options first', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'w2sd-exact-'));
  const json = JSON.parse(await toy(['--preset', 'video,moe-specialists', '--samples', '100', '--steps', '5', '--json', '--out', dir]));
  assert.deepEqual(json.presets.map((p: { preset: string }) => p.preset), ['video', 'moe-specialists']);
  const video = json.presets[0];
  assert.ok(video.rows.every((r: { temporal?: unknown }) => r.temporal));
  assert.ok(video.rows.some((r: { name: string }) => r.name.startsWith('S2WD')));
  assert.deepEqual((await readdir(dir)).sort(), ['moe-specialists.json', 'moe-specialists.md', 'video.json', 'video.md']);
  assert.match(await readFile(join(dir, 'video.md'), 'utf8'), /\| W2SD \(ddim\) \| 13 \|/);
  const empty = await mkdtemp(join(tmpdir(), 'w2sd-exact-'));
  await assert.rejects(toy(['--preset', 'moe', '--out', empty]), /--preset: expected moe-graded, moe-specialists, video or all, got "moe"/);
  await assert.rejects(toy(['--preset', 'video', '--sweep', 'lambda', '--out', empty]), /--sweep: only for the built-in toys/);
  await assert.rejects(toy(['--preset', 'video', '--samples', '0', '--out', empty]), /--samples: expected an integer from 1 to/);
  assert.deepEqual(await readdir(empty), []);
});
