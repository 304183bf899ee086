import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Denoiser, Schedule } from '../src/core/index.js';
import {
  CallCounter, alphasCumprod, cfg, ddim, ddimSchedule, ddimStep, discreteDenoiser, discreteGuided, euler, heun, invert,
  karrasSchedule, parseSchedulerConfig, plain, reflection, selfReflection, equalCompute, tensor, w2sd, w2sdSample,
  batchGaussian, zSampling, veSchedule as veLevels,
} from '../src/core/index.js';
import { gaussianDenoiser, maxAbsDiff, mixture1d } from './helpers/gaussian.js';

const twoModes = mixture1d([0.5, 0.5], [-2, 2], 0.5);
const n = 256;
const noise = tensor(batchGaussian(1, [n, 1]), [n, 1]);
const veSchedule = (steps: number) => karrasSchedule(0.02, 20, steps);

test('zero gap with the fixed-point inversion is plain sampling, to float tolerance', async () => {
  const ctx = { sampler: euler(), schedule: veSchedule, steps: 20, noise };
  const base = await plain('plain', twoModes).run(ctx);
  const self = await selfReflection('self', { main: twoModes, strong: twoModes }, { inversion: 'fixed-point', fixedPoint: { tolerance: 1e-7 } }).run(ctx);
  assert.ok(maxAbsDiff(self, base) < 1e-4, `max diff ${maxAbsDiff(self, base)}`);
});

/*
 * Zero gap with the ddim inversion, in closed form. Data N(μ, 1): D(x; σ) = μ + u/(1 + σ²), u = x − μ. On a step
 * a = σ_i → b = σ_{i+1}: the strong step scales u by m = (1 + ab)/(1 + a²); the ddim inversion (weak conditioned at
 * a on a latent at b) adds (a − b)·ε with ε = u'·a/(1 + a²), i.e. scales by (1 + 2a² − ab)/(1 + a²). The round trip
 * is g = m·(1 + 2a² − ab)/(1 + a²) ≠ 1, then the main step scales by m again; steps past λ scale by m alone.
 */
test('zero gap with the ddim inversion is off by its closed-form round trip Π g_i, which tends to 1 as steps shrink', async () => {
  const mu = 0.7;
  const gauss = gaussianDenoiser([mu], 1);
  const ratios: number[] = [];
  for (const steps of [10, 20, 40]) {
    const ctx = { sampler: euler(), schedule: veSchedule, steps, noise };
    const s = veSchedule(steps);
    const self = await selfReflection('self', { main: gauss, strong: gauss }, { inversion: 'ddim' }).run(ctx);
    let plainFactor = 1;
    let roundTrips = 1;
    s.points.forEach((p, i) => {
      const [a, b] = [p.sigma, (s.points[i + 1] ?? s.final).sigma];
      const m = (1 + a * b) / (1 + a * a);
      plainFactor *= m;
      if (i < steps - 1) roundTrips *= (m * (1 + 2 * a * a - a * b)) / (1 + a * a);
    });
    for (let j = 0; j < n; j++) {
      const want = mu + (noise.data[j] * s.initSigma - mu) * plainFactor * roundTrips;
      assert.ok(Math.abs(self[j] - want) < 1e-4 * (1 + Math.abs(want)), `T = ${steps}, item ${j}: ${self[j]} vs ${want}`);
    }
    ratios.push(roundTrips);
  }
  // (the closed form gives Π g = 0.344, 0.554, 0.731 at T = 10, 20, 40: the round trip pulls u toward μ, less
  // as the steps shrink, so the sampler's outputs checked above are far from plain sampling's)
  assert.ok(ratios[0] < 0.5, 'at T = 10 self-reflection with the ddim inversion is far from the identity');
});

test("one reflection moves x by (σ_{i+1} − σ_i)(d_s − d_w) up to O(Δσ²) (Theorem 1)", async () => {
  const strong = mixture1d([0.7, 0.3], [-2, 2], 0.5);
  const weak = mixture1d([0.9, 0.1], [-2, 2], 0.5);
  const x = tensor(Float32Array.from([-3, -1, 0.3, 1.2, 2.5]), [5, 1]);
  const sigma = 2.0;
  const errors: number[] = [];
  for (const h of [0.2, 0.1, 0.05, 0.025]) {
    const s: Schedule = { ...veSchedule(2), points: [{ sigma, timestep: sigma }, { sigma: sigma - h, timestep: sigma - h }] };
    const moved = await reflection({ strong, weak }, s, { lambda: 1 })(x, 0);
    const ds = await strong(x, s.points[0]);
    const dw = await weak(x, s.points[0]);
    const predicted = x.data.map((v, j) => v + -h * ((v - ds[j]) / sigma - (v - dw[j]) / sigma));
    errors.push(maxAbsDiff(moved, predicted));
    assert.ok(maxAbsDiff(moved, x.data) > 10 * errors[errors.length - 1], 'the displacement dominates its error');
  }
  for (let k = 1; k < errors.length; k++) {
    const ratio = errors[k - 1] / errors[k];
    assert.ok(ratio > 3 && ratio < 5.5, `halving Δσ should quarter the error: ratios of ${errors.join(', ')}`);
  }
});

test('the fixed-point inversion is the exact inverse of a weak DDIM step', async () => {
  const weak = mixture1d([0.9, 0.1], [-2, 2], 0.5);
  const s = veSchedule(8);
  const y = tensor(Float32Array.from([-2.5, 0.1, 1.9, 4]), [4, 1]);
  for (const i of [0, 3, 6]) {
    const back = await invert('fixed-point', weak, y, i, s, { tolerance: 1e-9, maxIterations: 200 });
    const forward = await ddimStep(weak, tensor(back, y.shape), s.points[i], s.points[i + 1].sigma);
    assert.ok(maxAbsDiff(forward, y.data) < 1e-4 * s.points[i].sigma, `step ${i}: residual ${maxAbsDiff(forward, y.data)}`);
  }
});

/** Strong N(0.3, 1), weak N(0.5, 1): exact denoisers for the counting tests. */
const strongG = gaussianDenoiser([0.3], 1);
const weakG = gaussianDenoiser([0.5], 1);

/*
 * W2SD by hand on two steps, σ: 2 → 1 → 0, λ = 1, one sample x = 2, data N(μ, 1) so D(x; σ) = μ + (x − μ)/(1 + σ²).
 * Strong μ = 0.3, weak μ = 0.5, main = strong. Step 0 is reflected, step 1 is not.
 *  strong DDIM step 2 → 1:   D_s(2; 2) = 0.3 + 1.7/5 = 0.64;  x' = 0.64 + (1/2)(2 − 0.64) = 1.32
 *  ddim inversion (Eq. 3):   weak conditioned at σ_c = 2 on x' (which sits at σ = 1):
 *                            D_w = 0.5 + 0.82/5 = 0.664;  ε = (1.32 − 0.664)/2 = 0.328;  x̃ = x' + (2 − 1)·ε = 1.648
 *  main step 2 → 1:          D_s(1.648; 2) = 0.3 + 1.348/5 = 0.5696;  x = 0.5696 + (1.648 − 0.5696)/2 = 1.1088
 *  step 1, 1 → 0:            x = D_s(1.1088; 1) = 0.3 + 0.8088/2 = 0.7044
 * fixed-point inversion:     F_w(x̃) = x̃ − (x̃ − D_w(x̃; 2))/2 = 0.6·x̃ + 0.2 = 1.32  →  x̃ = 1.12/0.6 = 1.8667
 *                            main: D_s = 0.3 + 1.5667/5 = 0.61333;  x = 0.61333 + (1.8667 − 0.61333)/2 = 1.24;  step 1: 0.3 + 0.94/2 = 0.77
 * S2WD (ddim; strong μ = 0.5, weak μ = 0.3, main μ = 0.3):
 *                            D = 0.5 + 1.5/5 = 0.8;  x' = 1.4;  D_w = 0.3 + 1.1/5 = 0.52;  ε = 0.44;  x̃ = 1.84
 *                            main: D_s = 0.3 + 1.54/5 = 0.608;  x = 0.608 + 1.232/2 = 1.224;  step 1: 0.3 + 0.924/2 = 0.762
 * Plain strong for comparison: 2 → 0.64 + 0.68 = 1.32 → 0.3 + 1.02/2 = 0.81. The ideal (μ = 0) side is below.
 */
test('W2SD, fixed-point W2SD and S2WD on two steps equal their hand-computed values', async () => {
  const s = veLevels([2, 1]);
  const x = tensor(Float32Array.of(2), [1, 1]);
  const strong = gaussianDenoiser([0.3], 1);
  const weak = gaussianDenoiser([0.5], 1);
  const run = (legs: { main: Denoiser; strong: Denoiser; weak: Denoiser }, inversion: 'ddim' | 'fixed-point') =>
    w2sdSample(euler(), legs, x, s, { lambda: 1, inversion, fixedPoint: { tolerance: 1e-9, maxIterations: 100 } });
  const close = (got: Float32Array, want: number, what: string) => assert.ok(Math.abs(got[0] - want) < 2e-6, `${what}: ${got[0]} vs ${want}`);
  close(await run({ main: strong, strong, weak }, 'ddim'), 0.7044, 'W2SD (ddim)');
  close(await run({ main: strong, strong, weak }, 'fixed-point'), 0.77, 'W2SD (fixed-point)');
  close(await run({ main: strong, strong: weak, weak: strong }, 'ddim'), 0.762, 'S2WD (ddim)');
  close(await run({ main: strong, strong, weak: strong }, 'fixed-point'), 0.81, 'self-reflection (fixed-point) = plain');
  close(await euler()(strong, x, s), 0.81, 'plain strong');
});

test('a run costs T + 2λ·repeats evaluations and the weak model only runs inside the window', async () => {
  const counter = new CallCounter();
  const weakSteps: number[] = [];
  const weak: Denoiser = (x, at) => {
    weakSteps.push(at.timestep);
    return weakG(x, at);
  };
  const legs = { main: counter.wrap(strongG, 'main'), strong: counter.wrap(strongG, 'strong'), weak: counter.wrap(weak, 'weak') };
  const s = veSchedule(10);
  await w2sdSample(euler(), legs, tensor(noise.data.map((v) => v * 20), noise.shape), s, { lambda: 4 });
  assert.equal(counter.total, 10 + 2 * 4);
  assert.deepEqual(counter.byLabel(), { strong: 4, weak: 4, main: 10 });
  // the ddim inversion conditions the weak model on each reflected step's upper level
  assert.deepEqual(weakSteps, s.points.slice(0, 4).map((p) => p.timestep));
  counter.reset();
  await w2sdSample(euler(), legs, tensor(noise.data.map((v) => v * 20), noise.shape), s, { lambda: 3, repeats: 2 });
  assert.equal(counter.total, 10 + 2 * 3 * 2);
  assert.equal(w2sd('x', legs).nfe(50), 50 + 2 * 49);
  assert.equal(equalCompute('x', legs).nfe(50), 26 + 2 * 12);
});

test('equal compute spends exactly the compared method’s evaluations per item: CFG batches count twice, repeats count', async () => {
  // a meter of network rows per item, written here: a CFG call on B items runs 2B rows
  let rows = 0;
  const cond = gaussianDenoiser([1], 1);
  const uncond = gaussianDenoiser([0], 1);
  const model = {
    both: async (x: Parameters<Denoiser>[0], at: Parameters<Denoiser>[1]): Promise<[Float32Array, Float32Array]> => {
      rows += 2 * x.shape[0];
      return [await cond(x, at), await uncond(x, at)];
    },
    cond: (async (x, at) => ((rows += x.shape[0]), cond(x, at))) as Denoiser,
    uncond: (async (x, at) => ((rows += x.shape[0]), uncond(x, at))) as Denoiser,
  };
  const items = 4;
  const ctx = { sampler: euler(), schedule: veSchedule, steps: 20, noise: tensor(noise.data.slice(0, items), [items, 1]) };
  await plain('cfg', cfg(model, 3)).run(ctx);
  assert.equal(rows / items, 40, 'CFG at T = 20: 2 evaluations per item per step');
  // budget 40 = 2·T' + 3·repeats·λ (main CFG 2, strong CFG 2, weak unconditional 1), λ nearest T'/2:
  // repeats 1: λ must be even; λ = 6 → T' = 11 (|6 − 5.5| = 0.5; λ = 4 → 14 and λ = 8 → 8 are farther)
  // repeats 2: 2T' + 6λ = 40; λ = 4 → T' = 8 (λ = T'/2 exactly)
  for (const [repeats, tp, lambda] of [[1, 11, 6], [2, 8, 4]]) {
    rows = 0;
    const m = equalCompute('ec', { main: cfg(model, 3), strong: cfg(model, 3), weak: model.uncond }, { repeats }, { costs: { main: 2, strong: 2, weak: 1 } });
    await m.run(ctx);
    assert.equal(rows / items, 40, `repeats ${repeats}`);
    assert.deepEqual(m.split(20), { steps: tp, lambda, evaluations: 40, budget: 40 });
  }
});

test('Heun under W2SD costs its own 2T − 1 plus 2λ', async () => {
  const counter = new CallCounter();
  const d = counter.wrap(strongG);
  await w2sdSample(heun(), { main: d, strong: d, weak: d }, tensor(noise.data.map((v) => v * 20), noise.shape), veSchedule(6), { lambda: 2 });
  assert.equal(counter.total, 2 * 6 - 1 + 2 * 2);
});

test('bad reflection options are refused by name', async () => {
  const s = veSchedule(5);
  const pair = { strong: strongG, weak: weakG };
  assert.throws(() => reflection(pair, s, { lambda: 5 }), /lambda.*λ < T = 5/);
  assert.throws(() => reflection(pair, s, { lambda: -1 }), /lambda/);
  assert.throws(() => reflection(pair, s, { lambda: 1.5 }), /lambda/);
  assert.throws(() => reflection(pair, s, { lambda: 2, repeats: 0 }), /repeats/);
  assert.throws(() => reflection(pair, s, { lambda: 2, inversion: 'exact' as never }), /inversion/);
  await assert.rejects(reflection(pair, s, { lambda: 2, inversion: 'official-lagged' })(noise, 0), /discrete/);
});

test('official-lagged reproduces the official code’s one-index-late inverse step (diffusers ≥ 0.22)', async () => {
  const config = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, set_alpha_to_one: false });
  const s = ddimSchedule(config, 50);
  const ac = alphasCumprod(config);
  const eps = async (xt: { data: Float32Array }, t: number) => Float32Array.from(xt.data, (v, j) => 0.3 * v + 0.01 * t * (j + 1) / 1000);
  const weak = discreteDenoiser(eps, 'epsilon');
  const xt = Float32Array.from([0.4, -0.7, 1.1]);
  for (const i of [10, 48]) {
    const t = s.points[i].timestep;
    const tau = s.points[i + 1].timestep; // timesteps[i + 1]
    const aSrc = tau - 20 >= 0 ? ac[tau - 20] : ac[0];
    const e = await eps({ data: xt }, t);
    const expectXt = xt.map((v, j) => Math.sqrt(ac[tau]) * ((v - Math.sqrt(1 - aSrc) * e[j]) / Math.sqrt(aSrc)) + Math.sqrt(1 - ac[tau]) * e[j]);
    // our latent sits at σ_{i+1}; the result is read at t_i by the main step
    const y = tensor(xt.map((v) => v * Math.sqrt(1 + s.points[i + 1].sigma ** 2)), [1, 3]);
    const got = (await invert('official-lagged', weak, y, i, s)).map((v) => v / Math.sqrt(1 + s.points[i].sigma ** 2));
    assert.ok(maxAbsDiff(got, expectXt) < 1e-5, `step ${i}: ${got} vs ${expectXt}`);
  }
});

test('CFG batches both halves into one call; scales 0 and 1 call one half; Z-Sampling is the guidance pair', async () => {
  const counter = new CallCounter();
  const halves: string[] = [];
  const cond = gaussianDenoiser([1], 1);
  const uncond = gaussianDenoiser([0], 1);
  const model = counter.wrapGuided({
    both: async (x, at) => {
      halves.push('both');
      return [await cond(x, at), await uncond(x, at)];
    },
    cond: (x, at) => (halves.push('cond'), cond(x, at)),
    uncond: (x, at) => (halves.push('uncond'), uncond(x, at)),
  });
  const x = tensor(Float32Array.from([0.5]), [1, 1]);
  const at = { sigma: 1, timestep: 1 };
  const [c, u] = [await cond(x, at), await uncond(x, at)];
  const g = await cfg(model, 5.5)(x, at);
  assert.ok(Math.abs(g[0] - (u[0] + 5.5 * (c[0] - u[0]))) < 1e-6);
  await cfg(model, 1)(x, at);
  await cfg(model, 0)(x, at);
  assert.deepEqual(halves, ['both', 'cond', 'uncond']);
  assert.equal(counter.total, 3);
  counter.reset();
  await zSampling('z', model, { strong: 5.5, weak: 0 }, { lambda: 3 }).run({ sampler: euler(), schedule: veSchedule, steps: 5, noise: tensor(noise.data.slice(0, 4), [4, 1]) });
  assert.equal(counter.total, 5 + 2 * 3);
  void discreteGuided;
});

test('fixed-point inversion converges item by item at coarse steps, where modes make plain iteration diverge', async () => {
  // modes 8 apart: between them ∂D/∂x is large, x̃ ← G(x̃) oscillates away; every sample must still round-trip
  const wide = mixture1d([0.3, 0.7], [-4, 4], 1);
  const many = tensor(batchGaussian(3, [2000, 1]), [2000, 1]);
  for (const steps of [5, 10, 20]) {
    const reports: { unconverged: number; iterations: number }[] = [];
    const ctx = { sampler: ddim(), schedule: (k: number) => karrasSchedule(0.002, 80, k), steps, noise: many };
    const base = await plain('plain', wide).run(ctx);
    const self = await selfReflection('self', { main: wide, strong: wide }, { inversion: 'fixed-point', fixedPoint: { report: (r) => reports.push(r) } }).run(ctx);
    assert.ok(maxAbsDiff(self, base) < 1e-3, `T = ${steps}: max diff ${maxAbsDiff(self, base)}`);
    assert.equal(reports.length, steps - 1);
    assert.ok(reports.every((r) => r.unconverged === 0), `T = ${steps}: ${JSON.stringify(reports)}`);
  }
});

test('fixed-point inversion reports items it could not bring under tolerance', async () => {
  const reports: { unconverged: number; iterations: number }[] = [];
  const s = veSchedule(4);
  await invert('fixed-point', twoModes, tensor(Float32Array.from([0.3, -1, 2]), [3, 1]), 1, s, { maxIterations: 1, report: (r) => reports.push(r) });
  assert.equal(reports[0].iterations, 1);
  assert.ok(reports[0].unconverged > 0);
});

test('the reflection applies the config’s x0 clipping to its DDIM steps, as diffusers’ schedulers do', async () => {
  // x0 = constant 3 outside the clip range: the strong step lands at clip(x0) + σ_to·ε
  const far: Denoiser = async (x) => new Float32Array(x.data.length).fill(3);
  const s: Schedule = { ...veSchedule(2), points: [{ sigma: 2, timestep: 2 }, { sigma: 1, timestep: 1 }] };
  const x = tensor(Float32Array.from([5]), [1, 1]);
  const step = await ddimStep(far, x, s.points[0], 1, { clipSample: 1 });
  assert.ok(Math.abs(step[0] - (1 + 1 * (5 - 3) / 2)) < 1e-6);
  const unclipped = await reflection({ strong: far, weak: far }, s, { lambda: 1 })(x, 0);
  const clipped = await reflection({ strong: far, weak: far }, s, { lambda: 1, x0: { clipSample: 1 } })(x, 0);
  // unclipped: 3 + (5−3)/2 = 4, back: 3 + 2·(4−3)/1 = 5; clipped: 2, back: 1 + 2·(2 − 3)/1 = −1
  assert.ok(Math.abs(unclipped[0] - 5) < 1e-6 && Math.abs(clipped[0] + 1) < 1e-6, `${unclipped[0]}, ${clipped[0]}`);
});
