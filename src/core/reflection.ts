import type { Denoiser, Schedule, StepPoint } from './types.js';
import type { Tensor } from './tensor.js';
import { like } from './tensor.js';
import { startOf, targetOf } from './schedules/walk.js';

/*
 * W2SD's reflection (Bai, Sugiyama, Xie 2025, Algorithm 1): at each of the first λ steps, denoise one step
 * with the strong model, invert that step with the weak one, then let the sampler take its ordinary step.
 * To first order the round trip moves x by (σ_{i+1} − σ_i)(d_s − d_w), a step along ∇log p_s − ∇log p_w
 * (Theorem 1), the estimable stand-in for the strong-to-ideal gap.
 */

export type InversionKind = 'ddim' | 'official-lagged' | 'fixed-point';
export const INVERSIONS: readonly InversionKind[] = ['ddim', 'official-lagged', 'fixed-point'];

export interface FixedPointOptions {
  /** Stop when the RMS change of an iteration falls below tolerance × RMS of the latent. */
  readonly tolerance?: number;
  readonly maxIterations?: number;
}

export interface ReflectionOptions {
  /** λ: how many steps, counted from the noisiest, are reflected; 0 ≤ λ < T (paper default T − 1). */
  readonly lambda: number;
  readonly inversion?: InversionKind;
  /** Reflections per step (Z-Sampling's T_max); each costs two evaluations. */
  readonly repeats?: number;
  readonly fixedPoint?: FixedPointOptions;
}

/** One DDIM (η = 0) step from `at` to σ_to, which is the Euler step in σ space. */
export async function ddimStep(denoise: Denoiser, x: Tensor, at: StepPoint, sigmaTo: number): Promise<Float32Array> {
  const d = await denoise(x, at);
  const r = sigmaTo / at.sigma;
  for (let j = 0; j < d.length; j++) d[j] += r * (x.data[j] - d[j]);
  return d;
}

/**
 * The paper's inversion (Eq. 3): the weak model sees the denoised latent where it sits (σ_{i+1}) but is
 * conditioned on the step's upper level t_i, and the move is mapped from σ_{i+1} back to σ_i. This is
 * diffusers' DDIMInverseScheduler step; the round trip leaves an O(Δσ²) error even when weak = strong.
 */
async function invertDdim(weak: Denoiser, y: Tensor, i: number, s: Schedule): Promise<Float32Array> {
  const lower = targetOf(s, i);
  const upper = startOf(s, i);
  return ddimStep(weak, y, { sigma: lower.sigma, timestep: upper.timestep }, upper.sigma);
}

/**
 * What the official code computes under diffusers ≥ 0.22 (PAPER-NOTES §3.4): `inv_scheduler.step(ε, t_{i+1}, x)`
 * maps ᾱ[t_{i+1} − N//T] → ᾱ[t_{i+1}] (the boundary ᾱ below index 0) with ε from the weak model on x at t_i;
 * the main step then reads the result as a latent at t_i. Kept only to reproduce published numbers.
 */
async function invertOfficialLagged(weak: Denoiser, y: Tensor, i: number, s: Schedule): Promise<Float32Array> {
  const disc = s.discrete;
  if (!disc) throw new Error("inversion 'official-lagged' needs a discrete (diffusers) schedule; this one has none");
  const lower = s.points[i + 1] ?? s.final;
  const upper = startOf(s, i);
  const d = await weak(y, { sigma: lower.sigma, timestep: upper.timestep });
  const tau = Math.round(lower.timestep);
  const src = tau - disc.stepRatio;
  const aSrc = src >= 0 ? disc.alphasCumprod[src] : disc.boundaryAlphaCumprod;
  const aDst = disc.alphasCumprod[Math.min(tau, disc.numTrainTimesteps - 1)];
  const cIn = 1 / Math.sqrt(1 + lower.sigma ** 2);
  const cOut = Math.sqrt(1 + upper.sigma ** 2);
  const sqSrc = Math.sqrt(aSrc);
  const sqDst = Math.sqrt(aDst);
  const nSrc = Math.sqrt(1 - aSrc);
  const nDst = Math.sqrt(1 - aDst);
  for (let j = 0; j < d.length; j++) {
    const eps = (y.data[j] - d[j]) / lower.sigma;
    const xt = y.data[j] * cIn;
    const x0 = (xt - nSrc * eps) / sqSrc;
    d[j] = (sqDst * x0 + nDst * eps) * cOut;
  }
  return d;
}

function rms(a: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * a[j];
  return Math.sqrt(s / Math.max(1, a.length));
}

/**
 * The exact inverse of a weak-model DDIM step: solve x̃ + (σ_{i+1} − σ_i)·d_w(x̃; σ_i) = y by fixed-point
 * iteration from y. It contracts when |Δσ|·Lip(d_w) < 1, true for small steps; with weak = strong the
 * solution is the latent the strong step started from, so self-reflection is the identity.
 */
async function invertFixedPoint(weak: Denoiser, y: Tensor, i: number, s: Schedule, o: FixedPointOptions = {}): Promise<Float32Array> {
  const tol = o.tolerance ?? 1e-6;
  const maxIter = o.maxIterations ?? 50;
  const upper = startOf(s, i);
  const h = targetOf(s, i).sigma - upper.sigma;
  let cur: Float32Array = Float32Array.from(y.data);
  for (let k = 0; k < maxIter; k++) {
    const d = await weak(like(y, cur), upper);
    let change = 0;
    for (let j = 0; j < d.length; j++) {
      const next = y.data[j] - (h * (cur[j] - d[j])) / upper.sigma;
      change += (next - cur[j]) ** 2;
      d[j] = next;
    }
    cur = d;
    if (Math.sqrt(change / Math.max(1, d.length)) <= tol * Math.max(rms(cur), 1e-12)) break;
  }
  return cur;
}

/** Invert step i (σ_i → σ_{i+1}) of the schedule with the weak model, starting from the denoised latent y. */
export function invert(kind: InversionKind, weak: Denoiser, y: Tensor, i: number, s: Schedule, fixedPoint?: FixedPointOptions): Promise<Float32Array> {
  switch (kind) {
    case 'ddim':
      return invertDdim(weak, y, i, s);
    case 'official-lagged':
      return invertOfficialLagged(weak, y, i, s);
    case 'fixed-point':
      return invertFixedPoint(weak, y, i, s, fixedPoint);
    default:
      throw new Error(`inversion: expected one of ${INVERSIONS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
}

export function checkReflection(opts: ReflectionOptions, steps: number): void {
  const { lambda, repeats = 1, inversion = 'ddim' } = opts;
  if (!Number.isInteger(lambda) || lambda < 0 || lambda >= steps) {
    throw new Error(`lambda: expected an integer with 0 ≤ λ < T = ${steps} (the last step cannot be reflected), got ${lambda}`);
  }
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`repeats: expected a positive integer, got ${repeats}`);
  if (!INVERSIONS.includes(inversion)) throw new Error(`inversion: expected one of ${INVERSIONS.join(', ')}, got ${JSON.stringify(inversion)}`);
}

/** Reflection pair: the strong model denoises, the weak one inverts. */
export interface ReflectionPair {
  readonly strong: Denoiser;
  readonly weak: Denoiser;
}

/**
 * Algorithm 1's inner line as a sampler hook: for i < λ, x̃ = M_w⁻¹(M_s(x, i), i), `repeats` times; the
 * sampler then takes its ordinary step from x̃.
 */
export function reflection(pair: ReflectionPair, s: Schedule, opts: ReflectionOptions): (x: Tensor, i: number) => Promise<Float32Array> {
  checkReflection(opts, s.points.length);
  const kind = opts.inversion ?? 'ddim';
  const repeats = opts.repeats ?? 1;
  return async (x, i) => {
    if (i >= opts.lambda) return x.data;
    let cur = x;
    for (let r = 0; r < repeats; r++) {
      const denoised = await ddimStep(pair.strong, cur, startOf(s, i), targetOf(s, i).sigma);
      cur = like(x, await invert(kind, pair.weak, like(x, denoised), i, s, opts.fixedPoint));
    }
    return cur.data;
  };
}
