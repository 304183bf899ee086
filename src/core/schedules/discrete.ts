import type { DiscreteSchedule, Schedule, StepPoint } from '../types.js';
import type { SchedulerConfig, TimestepSpacing } from './config.js';
import { alphasCumprod, sigmaOfAlphaCumprod } from './betas.js';
import { karrasSigmas } from './karras.js';

function checkSteps(steps: number, cfg: SchedulerConfig): void {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps: expected a positive integer, got ${steps}`);
  if (steps > cfg.numTrainTimesteps) {
    throw new Error(`steps: ${steps} exceeds the model's num_train_timesteps (${cfg.numTrainTimesteps})`);
  }
}

/** steps_offset can push leading timesteps past the table (diffusers then fails on an index). */
function checkTimesteps(ts: readonly number[], cfg: SchedulerConfig, steps: number): void {
  const top = Math.max(...ts);
  if (top > cfg.numTrainTimesteps - 1) {
    throw new Error(`steps: ${steps} steps with steps_offset ${cfg.stepsOffset} reach timestep ${top}, past the model's last (${cfg.numTrainTimesteps - 1}); use fewer steps`);
  }
}

/**
 * σ → model timestep by linear interpolation in log σ over the training table, as diffusers' `_sigma_to_t`
 * (and k-diffusion's `sigma_to_t`); σ outside the table clamps to its ends.
 */
export function timestepOfSigma(trainSigmas: Float64Array): (sigma: number) => number {
  const logs = trainSigmas.map((s) => Math.log(s));
  const n = logs.length;
  return (sigma: number) => {
    const ls = Math.log(Math.max(sigma, 1e-10));
    // last index whose log σ is ≤ ls (logs ascend with t), kept inside [0, n − 2]
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (logs[mid] <= ls) lo = mid;
      else hi = mid - 1;
    }
    const low = Math.min(lo, n - 2);
    const w = Math.min(1, Math.max(0, (logs[low] - ls) / (logs[low] - logs[low + 1])));
    return (1 - w) * low + w * (low + 1);
  };
}

/** Linear interpolation of the σ table at a fractional timestep (numpy `interp` over 0..N−1). */
function sigmaAtTimestep(trainSigmas: Float64Array, t: number): number {
  if (t <= 0) return trainSigmas[0];
  const n = trainSigmas.length;
  if (t >= n - 1) return trainSigmas[n - 1];
  const i = Math.floor(t);
  const w = t - i;
  return trainSigmas[i] * (1 - w) + trainSigmas[i + 1] * w;
}

function trainingTable(cfg: SchedulerConfig) {
  const ac = alphasCumprod(cfg);
  const sigmas = Float64Array.from(ac, sigmaOfAlphaCumprod);
  return { ac, sigmas };
}

/** DDIMScheduler.set_timesteps (diffusers ≥ 0.22) for each spacing; descending integer timesteps. */
export function ddimTimesteps(cfg: SchedulerConfig, steps: number, spacing: TimestepSpacing): number[] {
  const n = cfg.numTrainTimesteps;
  const ratio = Math.floor(n / steps);
  const idx = Array.from({ length: steps }, (_, i) => i);
  switch (spacing) {
    case 'linspace': {
      // np.linspace(0, N − 1, T).round(): start + i·step, halves to even
      const step = steps === 1 ? 0 : (n - 1) / (steps - 1);
      return idx.map((i) => roundHalfEven(i * step)).reverse();
    }
    case 'leading':
      return idx.map((i) => i * ratio + cfg.stepsOffset).reverse();
    case 'trailing':
      // np.round(np.arange(N, 0, -N/T)) - 1: round half to even, as numpy does
      return idx.map((i) => roundHalfEven(n - (i * n) / steps) - 1);
  }
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function discreteInfo(cfg: SchedulerConfig, ac: Float64Array, steps: number, boundary: number): DiscreteSchedule {
  return {
    alphasCumprod: ac,
    boundaryAlphaCumprod: boundary,
    numTrainTimesteps: cfg.numTrainTimesteps,
    stepRatio: Math.floor(cfg.numTrainTimesteps / steps),
    predictionType: cfg.predictionType,
    timestepSpacing: cfg.timestepSpacing ?? 'leading',
  };
}

/**
 * diffusers' DDIMScheduler: start levels at the spaced timesteps, each step landing at t − N//T (ᾱ of the
 * boundary, 1 or ᾱ_0 by `set_alpha_to_one`, below 0). The starting noise is unit variance in x_t, i.e.
 * √(1 + σ_0²) in σ space.
 */
export function ddimSchedule(cfg: SchedulerConfig, steps: number): Schedule {
  checkSteps(steps, cfg);
  const { ac, sigmas } = trainingTable(cfg);
  const boundary = cfg.setAlphaToOne ?? true ? 1 : ac[0];
  const ts = ddimTimesteps(cfg, steps, cfg.timestepSpacing ?? 'leading');
  checkTimesteps(ts, cfg, steps);
  const ratio = Math.floor(cfg.numTrainTimesteps / steps);
  const at = (t: number): StepPoint => ({ sigma: t >= 0 ? sigmas[t] : sigmaOfAlphaCumprod(boundary), timestep: t });
  const points = ts.map(at);
  const landing = ts.map((t) => at(t - ratio));
  const final = landing[landing.length - 1];
  const consistent = landing.every((p, i) => p.sigma === (points[i + 1] ?? final).sigma);
  return {
    points,
    final,
    initSigma: Math.sqrt(1 + points[0].sigma ** 2),
    timestepOf: timestepOfSigma(sigmas),
    discrete: discreteInfo(cfg, ac, steps, boundary),
    ...(consistent ? {} : { targets: landing }),
  };
}

/** EulerDiscreteScheduler.set_timesteps: fractional timesteps for linspace, σ interpolated on the table. */
function eulerTimesteps(cfg: SchedulerConfig, steps: number, spacing: TimestepSpacing): number[] {
  const n = cfg.numTrainTimesteps;
  const idx = Array.from({ length: steps }, (_, i) => i);
  switch (spacing) {
    case 'linspace': {
      const step = steps === 1 ? 0 : (n - 1) / (steps - 1);
      return idx.map((i) => Math.fround(i * step)).reverse();
    }
    case 'leading': {
      const ratio = Math.floor(n / steps);
      return idx.map((i) => i * ratio + cfg.stepsOffset).reverse();
    }
    case 'trailing':
      return idx.map((i) => roundHalfEven(n - (i * n) / steps) - 1);
  }
}

export interface EulerScheduleOptions {
  /** Karras σ spacing between the table's ends (diffusers' `use_karras_sigmas`); defaults to the config. */
  readonly karras?: boolean;
}

/**
 * diffusers' EulerDiscreteScheduler levels (also what its Heun, Euler-ancestral and DPM-Solver schedulers
 * are driven by here): σ at the spaced timesteps, a final σ of 0, and its `init_noise_sigma` (σ_max for
 * linspace/trailing spacing, √(σ_max² + 1) for leading).
 */
export function eulerSchedule(cfg: SchedulerConfig, steps: number, opts: EulerScheduleOptions = {}): Schedule {
  checkSteps(steps, cfg);
  const { ac, sigmas } = trainingTable(cfg);
  const spacing = cfg.timestepSpacing ?? 'linspace';
  const timestepOf = timestepOfSigma(sigmas);
  let ts = eulerTimesteps(cfg, steps, spacing);
  checkTimesteps(ts, cfg, steps);
  let sig = ts.map((t) => sigmaAtTimestep(sigmas, t));
  if (opts.karras ?? cfg.useKarrasSigmas) {
    sig = karrasSigmas(cfg.sigmaMin ?? sig[sig.length - 1], cfg.sigmaMax ?? sig[0], steps);
    ts = sig.map(timestepOf);
  }
  const points = sig.map((sigma, i) => ({ sigma, timestep: ts[i] }));
  const max = Math.max(...sig);
  return {
    points,
    final: { sigma: 0, timestep: 0 },
    initSigma: spacing === 'leading' ? Math.sqrt(max * max + 1) : max,
    timestepOf,
    discrete: discreteInfo(cfg, ac, steps, cfg.setAlphaToOne ?? true ? 1 : ac[0]),
  };
}

/**
 * Any descending σ list on a VP model's table (e.g. recorded from another tool): timesteps by log-σ
 * interpolation unless given.
 */
export function vpScheduleFromSigmas(cfg: SchedulerConfig, sigmas: readonly number[], finalSigma = 0, timesteps?: readonly number[]): Schedule {
  const { ac, sigmas: table } = trainingTable(cfg);
  const timestepOf = timestepOfSigma(table);
  const points = sigmas.map((sigma, i) => ({ sigma, timestep: timesteps?.[i] ?? timestepOf(sigma) }));
  return {
    points,
    final: { sigma: finalSigma, timestep: finalSigma > 0 ? timestepOf(finalSigma) : 0 },
    initSigma: Math.sqrt(1 + sigmas[0] ** 2),
    timestepOf,
    discrete: discreteInfo(cfg, ac, sigmas.length, cfg.setAlphaToOne ?? true ? 1 : ac[0]),
  };
}

/** Variance-exploding levels (analytic models, EDM-style nets): the model's timestep is σ itself. */
export function veSchedule(sigmas: readonly number[]): Schedule {
  for (let i = 0; i < sigmas.length; i++) {
    if (!(sigmas[i] > 0) || !Number.isFinite(sigmas[i]) || (i > 0 && sigmas[i] >= sigmas[i - 1])) {
      throw new Error(`ve schedule: sigmas must be finite, positive and strictly descending (index ${i}: ${sigmas[i]})`);
    }
  }
  return {
    points: sigmas.map((sigma) => ({ sigma, timestep: sigma })),
    final: { sigma: 0, timestep: 0 },
    initSigma: sigmas[0],
    timestepOf: (s) => s,
  };
}

export function karrasSchedule(sigmaMin: number, sigmaMax: number, steps: number, rho = 7): Schedule {
  return veSchedule(karrasSigmas(sigmaMin, sigmaMax, steps, rho));
}
