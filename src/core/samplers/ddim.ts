import type { Denoiser, Sampler, SampleOptions, Schedule } from '../types.js';
import type { Tensor } from '../tensor.js';
import { assertFinite, tensor } from '../tensor.js';
import { alphaCumprodOfSigma } from '../schedules/betas.js';
import { targetOf } from '../schedules/walk.js';
import type { SchedulerConfig } from '../schedules/config.js';
import { requireNoise, runSteps } from './loop.js';

/** What DDIM does to its x0 estimate before stepping (diffusers' `clip_sample` / `thresholding`). */
export interface X0Processing {
  /** clamp x0 to [−range, range] */
  readonly clipSample?: number;
  /** dynamic thresholding (Saharia et al. 2022): per item, s = clamp(quantile(|x0|, ratio), 1, maxValue) */
  readonly thresholding?: { readonly ratio: number; readonly maxValue: number };
  /**
   * What diffusers' DDIMInverseScheduler does to x0 for the same config: it has `clip_sample` but no
   * thresholding, so an inversion clips by this range (when set) whatever the forward step does.
   */
  readonly inverseClipSample?: number;
}

/** The x0 processing of an inversion step (DDIMInverseScheduler): clipping only, never thresholding. */
export function inverseX0(p?: X0Processing): X0Processing | undefined {
  const r = p?.inverseClipSample ?? (p?.thresholding ? undefined : p?.clipSample);
  return r === undefined ? undefined : { clipSample: r };
}

export interface DdimOptions extends X0Processing {
  /** η of Song et al. 2021, Eq. 16: 0 is deterministic DDIM, 1 is DDPM-like. */
  readonly eta?: number;
}

/** DDIMScheduler's x0 processing from a scheduler config (DDIM clips by default in diffusers). */
export function x0ProcessingOf(cfg: SchedulerConfig): X0Processing {
  const clip = cfg.clipSample ?? true ? { inverseClipSample: cfg.clipSampleRange } : {};
  if (cfg.thresholding) return { thresholding: { ratio: cfg.dynamicThresholdingRatio, maxValue: cfg.sampleMaxValue }, ...clip };
  return cfg.clipSample ?? true ? { clipSample: cfg.clipSampleRange, ...clip } : {};
}

function quantileLinear(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Returns x0 itself when nothing applies, else a processed copy (ε is still read off the raw x0). */
export function processX0(x0: Float32Array, shape: readonly number[], p: X0Processing): Float32Array {
  if (p.thresholding) {
    const out = new Float32Array(x0.length);
    const per = x0.length / (shape[0] ?? 1);
    for (let b = 0; b * per < x0.length; b++) {
      const item = x0.subarray(b * per, (b + 1) * per);
      const sorted = Float32Array.from(item, Math.abs).sort();
      const s = Math.min(Math.max(quantileLinear(sorted, p.thresholding.ratio), 1), p.thresholding.maxValue);
      for (let j = 0; j < per; j++) out[b * per + j] = Math.min(Math.max(item[j], -s), s) / s;
    }
    return out;
  }
  if (p.clipSample !== undefined) {
    const r = p.clipSample;
    return x0.map((v) => Math.min(Math.max(v, -r), r));
  }
  return x0;
}

/**
 * DDIM (Song et al. 2021) as diffusers' DDIMScheduler computes it, in σ space: with x = x_t/√ᾱ_t,
 * x_prev = x̂0 + √((1 − ᾱ_prev − s²)/ᾱ_prev)·ε + (s/√ᾱ_prev)·z, s = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_prev)).
 * With η = 0 and no x0 processing this is exactly the Euler step. η > 0 assumes a VP model.
 */
export function ddim(opts: DdimOptions = {}): Sampler {
  const eta = opts.eta ?? 0;
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new Error(`ddim: eta must be a finite number ≥ 0, got ${eta}`);
  return async (denoise, x, s, sampleOpts = {}) => {
    const noise = eta > 0 ? requireNoise(sampleOpts, 'ddim (eta > 0)') : undefined;
    return runSteps(denoise, x, s, sampleOpts, async ({ x, shape, i, at, to, denoise }) => {
      const d = await denoise(tensor(x, shape), at);
      const x0 = processX0(d, shape, opts);
      const aT = alphaCumprodOfSigma(at.sigma);
      const aPrev = alphaCumprodOfSigma(to.sigma);
      const std = eta > 0 ? eta * Math.sqrt(((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev)) : 0;
      const k = Math.sqrt(Math.max(0, 1 - aPrev - std * std) / aPrev) / at.sigma;
      for (let j = 0; j < x.length; j++) x[j] = x0[j] + k * (x[j] - d[j]);
      if (std > 0) {
        const z = noise!(i, shape);
        const k = std / Math.sqrt(aPrev);
        for (let j = 0; j < x.length; j++) x[j] += k * z[j];
      }
    });
  };
}

/**
 * DDIM inversion (diffusers' DDIMInverseScheduler, ≥ 0.22): walk a DDIM schedule backwards from its final
 * level, each step evaluating the model on the latent where it sits but at the timestep it is heading to.
 */
export async function ddimInvert(denoise: Denoiser, x: Tensor, s: Schedule, opts: X0Processing & Pick<SampleOptions, 'onStep'> = {}): Promise<Float32Array> {
  const y = Float32Array.from(x.data);
  for (let j = s.points.length - 1; j >= 0; j--) {
    const from = targetOf(s, j);
    const next = s.points[j + 1] ?? s.final;
    if (next.sigma !== from.sigma) {
      // undo the forward hand-off: keep x_t, move the σ-space reading to the landing level
      const k = Math.sqrt((1 + from.sigma ** 2) / (1 + next.sigma ** 2));
      for (let q = 0; q < y.length; q++) y[q] *= k;
    }
    const to = s.points[j];
    if (from.sigma === 0) {
      // at ᾱ = 1 a σ-space denoiser's output no longer carries ε; diffusers reads ε off the raw network
      throw new Error('ddim inversion: the schedule starts at ᾱ = 1 (set_alpha_to_one: true); use set_alpha_to_one: false');
    }
    const d = await denoise(tensor(y, x.shape), { sigma: from.sigma, timestep: to.timestep });
    const p = inverseX0(opts);
    const x0 = p ? processX0(d, x.shape, p) : d;
    for (let q = 0; q < y.length; q++) y[q] = x0[q] + to.sigma * ((y[q] - d[q]) / from.sigma);
    assertFinite(y, `latent after inversion step ${j}`);
    opts.onStep?.(j, tensor(y, x.shape));
  }
  return y;
}
