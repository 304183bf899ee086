import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DiscreteModel, PredictionType, Sampler, Schedule } from '../src/core/index.js';
import {
  alphasCumprod, ddim, ddimInvert, ddimSchedule, discreteDenoiser, dpmpp2m, euler, eulerAncestral, heun,
  karrasSchedule, parseSchedulerConfig, stepNoise, tensor,
} from '../src/core/index.js';
import { gaussianDenoiser, gaussianFlow, maxAbsDiff } from './helpers/gaussian.js';

/*
 * Two kinds of independent values: the exact probability-flow solution for Gaussian data (samplers must
 * converge to it at their order), and diffusers' DDIM written out in its own x_t variables, step by step,
 * against which the σ-space samplers must agree to float precision.
 */

const mu = [0.5, -1.0, 2.0];
const spread = 0.7;
const start = Float32Array.from([3.0, -2.0, 1.5, 0.2, 4.0, -3.0]);

/** Geometric levels from 20 down to a final 0.05 (no jump to σ = 0, whose Euler step is exact here). */
function geometric(steps: number): Schedule {
  const sig = Array.from({ length: steps + 1 }, (_, i) => 20 * (0.05 / 20) ** (i / steps));
  const k = karrasSchedule(0.05, 20, steps);
  return { ...k, points: sig.slice(0, steps).map((sigma) => ({ sigma, timestep: sigma })), final: { sigma: 0.05, timestep: 0.05 } };
}

async function errorAt(sampler: Sampler, steps: number): Promise<number> {
  const x = start.map((v) => v * 20);
  const out = await sampler(gaussianDenoiser(mu, spread), tensor(x, [2, 3]), geometric(steps));
  return maxAbsDiff(out, gaussianFlow(x, mu, spread, 20, 0.05));
}

test('Euler converges to the exact flow at first order, Heun and DPM++(2M) at second', async () => {
  for (const [name, sampler, order] of [['euler', euler(), 1], ['heun', heun(), 2], ['dpmpp-2m', dpmpp2m(), 2]] as const) {
    const e1 = await errorAt(sampler, 20);
    const e2 = await errorAt(sampler, 40);
    const observed = Math.log2(e1 / e2);
    assert.ok(Math.abs(observed - order) < 0.35, `${name}: observed order ${observed.toFixed(2)} (errors ${e1}, ${e2})`);
  }
});

test('DDIM with η = 0 is the Euler step in σ space', async () => {
  const s = karrasSchedule(0.05, 20, 12);
  const x = tensor(start.map((v) => v * 20), [2, 3]);
  const a = await ddim()(gaussianDenoiser(mu, spread), x, s);
  const b = await euler()(gaussianDenoiser(mu, spread), x, s);
  assert.ok(maxAbsDiff(a, b) < 1e-5);
});

/** An ε-, v- or x0-predicting VP "network" with a smooth, non-linear dependence on x_t and t. */
const net: DiscreteModel = async (xt, t) => Float32Array.from(xt.data, (v, j) => 0.4 * v * Math.cos(t / 300 + 0.7 * j) + 0.25 * Math.sin(0.013 * t * (j + 1)) - 0.1 * xt.data[(j + 1) % xt.data.length]);

const cfg = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, set_alpha_to_one: false, clip_sample: false });

interface Reference {
  eta?: number;
  clip?: number;
  prediction?: PredictionType;
  threshold?: { ratio: number; max: number };
}

/** diffusers' DDIMScheduler.step, in x_t, as its docstring and Song et al. Eq. 12 write it. */
async function ddimReference(xT: Float32Array, s: Schedule, o: Reference, noise?: (i: number) => Float32Array): Promise<Float32Array> {
  const ac = alphasCumprod(cfg);
  const ratio = 1000 / s.points.length;
  let x = Float64Array.from(xT);
  for (let i = 0; i < s.points.length; i++) {
    const t = s.points[i].timestep;
    const aT = ac[t];
    const aPrev = t - ratio >= 0 ? ac[t - ratio] : ac[0];
    const out = await net(tensor(Float32Array.from(x), [x.length]), t);
    let x0 = new Float64Array(x.length);
    const eps = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      const m = out[j];
      switch (o.prediction ?? 'epsilon') {
        case 'epsilon':
          x0[j] = (x[j] - Math.sqrt(1 - aT) * m) / Math.sqrt(aT);
          eps[j] = m;
          break;
        case 'v_prediction':
          x0[j] = Math.sqrt(aT) * x[j] - Math.sqrt(1 - aT) * m;
          eps[j] = Math.sqrt(aT) * m + Math.sqrt(1 - aT) * x[j];
          break;
        case 'sample':
          x0[j] = m;
          eps[j] = (x[j] - Math.sqrt(aT) * m) / Math.sqrt(1 - aT);
          break;
      }
    }
    if (o.clip !== undefined) x0 = x0.map((v) => Math.min(Math.max(v, -o.clip!), o.clip!));
    if (o.threshold) {
      const sorted = Float64Array.from(x0, Math.abs).sort();
      const pos = o.threshold.ratio * (sorted.length - 1);
      const q = sorted[Math.floor(pos)] + (pos - Math.floor(pos)) * (sorted[Math.min(Math.floor(pos) + 1, sorted.length - 1)] - sorted[Math.floor(pos)]);
      const sc = Math.min(Math.max(q, 1), o.threshold.max);
      x0 = x0.map((v) => Math.min(Math.max(v, -sc), sc) / sc);
    }
    const variance = ((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev);
    const std = (o.eta ?? 0) * Math.sqrt(variance);
    const z = noise?.(i);
    x = x.map((_, j) => Math.sqrt(aPrev) * x0[j] + Math.sqrt(1 - aPrev - std * std) * eps[j] + (std > 0 ? std * z![j] : 0));
  }
  return Float32Array.from(x);
}

/** σ-space run from the same x_T, returned in x_t units at the final level. */
async function ours(sampler: Sampler, xT: Float32Array, s: Schedule, prediction: PredictionType = 'epsilon', seed?: number) {
  const scale = Math.sqrt(1 + s.points[0].sigma ** 2);
  const out = await sampler(discreteDenoiser(net, prediction), tensor(xT.map((v) => v * scale), [1, xT.length]), s, seed === undefined ? {} : { noise: stepNoise(seed) });
  const back = 1 / Math.sqrt(1 + s.final.sigma ** 2);
  return out.map((v) => v * back);
}

const xT = Float32Array.from([0.3, -1.2, 0.8, 1.5, -0.4, 0.05, -2.0, 0.9]);
const relClose = (a: Float32Array, b: Float32Array, tol: number, what: string) => {
  const scale = Math.max(...Array.from(b, Math.abs));
  assert.ok(maxAbsDiff(a, b) <= tol * scale, `${what}: max diff ${maxAbsDiff(a, b)} (scale ${scale})`);
};

test('DDIM (η = 0) matches diffusers’ x_t-space update for ε, v and x0 prediction', async () => {
  for (const prediction of ['epsilon', 'v_prediction', 'sample'] as const) {
    for (const steps of [1, 10, 50]) {
      const s = ddimSchedule(cfg, steps);
      relClose(await ours(ddim(), xT, s, prediction), await ddimReference(xT, s, { prediction }), 1e-4, `${prediction}, T = ${steps}`);
    }
  }
});

test('DDIM η > 0 matches diffusers given the same per-step noise', async () => {
  const s = ddimSchedule(cfg, 10);
  const noise = stepNoise(11);
  const ref = await ddimReference(xT, s, { eta: 0.5 }, (i) => noise(i, [1, xT.length]));
  relClose(await ours(ddim({ eta: 0.5 }), xT, s, 'epsilon', 11), ref, 1e-4, 'η = 0.5');
  await assert.rejects(ddim({ eta: 0.5 })(discreteDenoiser(net, 'epsilon'), tensor(xT, [1, 8]), s), /noise/);
});

test('DDIM clips or thresholds x0 but keeps the unclipped ε, as diffusers does', async () => {
  const s = ddimSchedule(cfg, 10);
  relClose(await ours(ddim({ clipSample: 0.5 }), xT, s, 'sample'), await ddimReference(xT, s, { prediction: 'sample', clip: 0.5 }), 1e-4, 'clip');
  const thresholding = { ratio: 0.8, maxValue: 1.5 };
  const big = xT.map((v) => v * 4);
  relClose(await ours(ddim({ thresholding }), big, s, 'sample'), await ddimReference(big, s, { prediction: 'sample', threshold: { ratio: 0.8, max: 1.5 } }), 1e-4, 'threshold');
});

test('DDIM inversion: the model sees the latent where it sits at the timestep it heads to (diffusers ≥ 0.22)', async () => {
  const s = ddimSchedule(cfg, 10);
  const ac = alphasCumprod(cfg);
  const x0 = Float32Array.from(xT);
  // reference: DDIMInverseScheduler's loop, timesteps ascending 1, 101, …, 901, source ᾱ at t − 100 (ᾱ_0 below 0)
  let x = Float64Array.from(x0);
  for (const t of [1, 101, 201, 301, 401, 501, 601, 701, 801, 901]) {
    const aSrc = t - 100 >= 0 ? ac[t - 100] : ac[0];
    const eps = await net(tensor(Float32Array.from(x), [x.length]), t);
    x = x.map((v, j) => Math.sqrt(ac[t]) * ((v - Math.sqrt(1 - aSrc) * eps[j]) / Math.sqrt(aSrc)) + Math.sqrt(1 - ac[t]) * eps[j]);
  }
  const startScale = Math.sqrt(1 + s.final.sigma ** 2);
  const inv = await ddimInvert(discreteDenoiser(net, 'epsilon'), tensor(x0.map((v) => v * startScale), [1, 8]), s);
  relClose(inv.map((v) => v / Math.sqrt(1 + s.points[0].sigma ** 2)), Float32Array.from(x), 1e-4, 'inversion');
  await assert.rejects(ddimInvert(discreteDenoiser(net, 'epsilon'), tensor(x0, [1, 8]), ddimSchedule(parseSchedulerConfig({ set_alpha_to_one: true }), 4)), /set_alpha_to_one/);
});

test('DDIM with linspace spacing keeps x_t across the landing/next-start mismatch, as diffusers', async () => {
  const lin = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, timestep_spacing: 'linspace', set_alpha_to_one: false, clip_sample: false });
  const s = ddimSchedule(lin, 10);
  const ac = alphasCumprod(lin);
  let x = Float64Array.from(xT);
  for (const p of s.points) {
    const t = p.timestep;
    const aPrev = t - 100 >= 0 ? ac[t - 100] : ac[0];
    const eps = await net(tensor(Float32Array.from(x), [x.length]), t);
    x = x.map((v, j) => Math.sqrt(aPrev) * ((v - Math.sqrt(1 - ac[t]) * eps[j]) / Math.sqrt(ac[t])) + Math.sqrt(1 - aPrev) * eps[j]);
  }
  relClose(await ours(ddim(), xT, s), Float32Array.from(x), 1e-4, 'linspace');
});

test('Euler ancestral with zero-variance data lands on the mean; it needs a noise source', async () => {
  const s = karrasSchedule(0.05, 20, 10);
  const x = tensor(start.map((v) => v * 20), [2, 3]);
  const out = await eulerAncestral()(gaussianDenoiser(mu, 1e-4), x, s, { noise: stepNoise(3) });
  assert.ok(maxAbsDiff(out, [...mu, ...mu]) < 1e-3);
  await assert.rejects(eulerAncestral()(gaussianDenoiser(mu, 1), x, s), /noise/);
});

test('Euler ancestral reproduces the variance its own discretisation implies for Gaussian data', async () => {
  const n = 4000;
  const s = karrasSchedule(0.01, 20, 30);
  const x0 = new Float32Array(n);
  const start = stepNoise(99)(0, [n, 1]);
  for (let i = 0; i < n; i++) x0[i] = start[i] * 20;
  const out = await eulerAncestral()(gaussianDenoiser([0], 0.7), tensor(x0, [n, 1]), s, { noise: stepNoise(5) });
  let v = 0;
  for (const o of out) v += o * o;
  const variance = v / n;
  // exact for this step rule: x' = (k + (σ_down/σ)(1 − k))·x + σ_up·z with k = s²/(s² + σ²)
  const levels = [...s.points.map((p) => p.sigma), 0];
  let expected = 400;
  for (let i = 0; i < levels.length - 1; i++) {
    const [a, b] = [levels[i], levels[i + 1]];
    const k = 0.49 / (0.49 + a * a);
    const up = Math.sqrt((b * b * (a * a - b * b)) / (a * a));
    const gain = k + (Math.sqrt(b * b - up * up) / a) * (1 - k);
    expected = gain * gain * expected + up * up;
  }
  const se = expected * Math.sqrt(2 / n);
  assert.ok(Math.abs(variance - expected) < 4 * se, `variance ${variance} vs ${expected} ± ${se}`);
});

test('a non-finite latent is an error, not an image', async () => {
  const s = karrasSchedule(0.05, 20, 3);
  const bad = async () => new Float32Array([Number.NaN, 0, 0]);
  await assert.rejects(euler()(bad, tensor(new Float32Array(3), [1, 3]), s), /non-finite/);
});
