import type { Denoiser, Schedule, StepPoint } from './types.js';
import type { Tensor } from './tensor.js';
import { like } from './tensor.js';
import { startOf, targetOf } from './schedules/walk.js';
import type { X0Processing } from './samplers/ddim.js';
import { inverseX0, processX0 } from './samplers/ddim.js';
import type { StepClock } from './finite.js';
import { checkFinite } from './finite.js';

/*
 * W2SD's reflection (Bai, Sugiyama, Xie 2025, Algorithm 1): at each of the first λ steps, denoise one step
 * with the strong model, invert that step with the weak one, then let the sampler take its ordinary step.
 * To first order the round trip moves x by (σ_{i+1} − σ_i)(d_s − d_w), a step along ∇log p_s − ∇log p_w
 * (Theorem 1), the estimable stand-in for the strong-to-ideal gap.
 */

export type InversionKind = 'ddim' | 'official-lagged' | 'fixed-point';
export const INVERSIONS: readonly InversionKind[] = ['ddim', 'official-lagged', 'fixed-point'];

/** How the fixed-point inversion went at one step: items still above tolerance at the cap, and the residual. */
export interface FixedPointReport {
  readonly step: number;
  /** σ_i, the level the inverted latent is returned at. */
  readonly sigma: number;
  readonly iterations: number;
  readonly items: number;
  readonly unconverged: number;
  /** Largest relative residual |y − F_w(x̃)| / |terms| over the items (converged ones included), as returned. */
  readonly maxRelativeResidual: number;
  readonly tolerance: number;
}

export interface FixedPointOptions {
  /** An item has converged when its residual is below tolerance × the size of the terms that make it up. */
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Told after every inversion, so non-convergence is reported rather than silently capped. */
  readonly report?: (r: FixedPointReport) => void;
  /** Stopping at the cap with items above tolerance is a FixedPointError instead of a report. */
  readonly strict?: boolean;
}

/** The fixed-point inversion stopped at its iteration cap with items above tolerance (strict mode). */
export class FixedPointError extends Error {
  override readonly name = 'FixedPointError';
  constructor(readonly report: FixedPointReport) {
    super(
      `fixed-point inversion did not converge at step ${report.step} (σ ${report.sigma.toPrecision(5)}): ` +
        `${report.unconverged} of ${report.items} items above tolerance ${report.tolerance} after ${report.iterations} iterations, ` +
        `max relative residual ${report.maxRelativeResidual.toExponential(3)} (raise the iteration cap or the tolerance, or run without strict)`,
    );
  }
}

export interface ReflectionOptions {
  /** λ: how many steps, counted from the noisiest, are reflected; 0 ≤ λ < T (paper default T − 1). */
  readonly lambda: number;
  readonly inversion?: InversionKind;
  /** Reflections per step (Z-Sampling's T_max); each costs two evaluations. */
  readonly repeats?: number;
  readonly fixedPoint?: FixedPointOptions;
  /**
   * x0 processing of the strong step and the ddim inversion (diffusers' DDIM and DDIMInverse schedulers
   * clip by their config, as the official code's zig and zag steps do); none by default.
   */
  readonly x0?: X0Processing;
}

/**
 * One DDIM (η = 0) step from `at` to σ_to, which is the Euler step in σ space; with x0 processing (the
 * config's clip_sample / thresholding, as diffusers' DDIM schedulers apply it) x0 is processed and ε is not.
 */
export async function ddimStep(denoise: Denoiser, x: Tensor, at: StepPoint, sigmaTo: number, x0?: X0Processing): Promise<Float32Array> {
  const d = await denoise(x, at);
  const r = sigmaTo / at.sigma;
  const p = x0 ? processX0(d, x.shape, x0) : d;
  for (let j = 0; j < d.length; j++) d[j] = p[j] + r * (x.data[j] - d[j]);
  return d;
}

/**
 * The paper's inversion (Eq. 3): the weak model sees the denoised latent where it sits (σ_{i+1}) but is
 * conditioned on the step's upper level t_i, and the move is mapped from σ_{i+1} back to σ_i. This is
 * diffusers' DDIMInverseScheduler step; the round trip leaves an O(Δσ²) error even when weak = strong.
 */
async function invertDdim(weak: Denoiser, y: Tensor, i: number, s: Schedule, x0?: X0Processing): Promise<Float32Array> {
  const lower = targetOf(s, i);
  const upper = startOf(s, i);
  return ddimStep(weak, y, { sigma: lower.sigma, timestep: upper.timestep }, upper.sigma, x0);
}

/**
 * What the official code computes under diffusers ≥ 0.22 (PAPER-NOTES §3.4): `inv_scheduler.step(out, t_{i+1}, x)`
 * of DDIMInverseScheduler maps ᾱ_src = ᾱ[t_{i+1} − N//T] (the boundary ᾱ below index 0) → ᾱ_dst = ᾱ[t_{i+1}]
 * with the weak model's raw output on x at t_i, and reads ε and x0 off that output with ᾱ_src, not with the
 * latent's own ᾱ[t_{i+1}]: for v- and sample-prediction that differs from the σ-space reading. x0 is clipped by
 * the config's clip_sample (the inverse scheduler has no thresholding); the main step then reads the result
 * as a latent at t_i. DDIMInverseScheduler refuses `linspace` spacing, so that config is refused here too.
 * Kept only to reproduce published numbers.
 */
async function invertOfficialLagged(weak: Denoiser, y: Tensor, i: number, s: Schedule, x0?: X0Processing): Promise<Float32Array> {
  const disc = s.discrete;
  if (!disc) throw new Error("inversion 'official-lagged' needs a discrete (diffusers) schedule; this one has none");
  if (disc.timestepSpacing === 'linspace') {
    throw new Error("inversion 'official-lagged': diffusers' DDIMInverseScheduler refuses timestep_spacing 'linspace' (it supports leading and trailing), so the official code cannot run this config; use 'ddim' or 'fixed-point'");
  }
  const lower = s.points[i + 1] ?? s.final;
  const upper = startOf(s, i);
  const d = await weak(y, { sigma: lower.sigma, timestep: upper.timestep });
  const tau = Math.round(lower.timestep);
  const src = tau - disc.stepRatio;
  const aSrc = src >= 0 ? disc.alphasCumprod[src] : disc.boundaryAlphaCumprod;
  const aDst = disc.alphasCumprod[Math.min(tau, disc.numTrainTimesteps - 1)];
  const sg = lower.sigma;
  const cIn = 1 / Math.sqrt(1 + sg * sg);
  const cOut = Math.sqrt(1 + upper.sigma ** 2);
  const [sqSrc, nSrc, sqDst, nDst] = [Math.sqrt(aSrc), Math.sqrt(1 - aSrc), Math.sqrt(aDst), Math.sqrt(1 - aDst)];
  const clip = inverseX0(x0)?.clipSample;
  const prediction = disc.predictionType ?? 'epsilon';
  for (let j = 0; j < d.length; j++) {
    const xt = y.data[j] * cIn;
    let x0j: number;
    let eps: number;
    // the raw network output, recovered from D (toDenoised read it at the latent's σ), then read as diffusers does
    if (prediction === 'epsilon') {
      eps = (y.data[j] - d[j]) / sg;
      x0j = (xt - nSrc * eps) / sqSrc;
    } else if (prediction === 'v_prediction') {
      const v = (y.data[j] / (1 + sg * sg) - d[j]) / (sg * cIn);
      x0j = sqSrc * xt - nSrc * v;
      eps = sqSrc * v + nSrc * xt;
    } else {
      x0j = d[j];
      eps = (xt - sqSrc * x0j) / nSrc;
    }
    if (clip !== undefined) x0j = Math.min(Math.max(x0j, -clip), clip);
    d[j] = (sqDst * x0j + nDst * eps) * cOut;
  }
  return d;
}

/**
 * The exact inverse of a weak-model DDIM step: solve R(x̃) = y − F_w(x̃) = 0, F_w(x̃) = x̃ + (σ_{i+1} − σ_i)·d_w(x̃; σ_i)
 * (with x0 processing, F_w(x̃) = P(D_w) + (σ_{i+1}/σ_i)(x̃ − D_w), the forward DDIM step as the sampler takes it).
 * For an exact denoiser ∂D/∂x = Cov[x0 | x]/σ² is symmetric PSD, so F_w's Jacobian J is symmetric with
 * eigenvalues in (1 − |Δσ|/σ, ∞): F_w is invertible, and between modes J is large, where the plain iteration
 * x̃ += R oscillates away. Each item therefore steps x̃ += α·R with the Barzilai–Borwein (secant) length
 * α = sᵀs / sᵀ(R_prev − R) ≈ 1/J along the step, which is Newton's step in one dimension, restarting
 * from its best point with a shorter step if the residual runs away. Items (batch rows) are independent
 * problems and converge separately. With weak = strong the solution is the latent the strong step started
 * from, so self-reflection is the identity.
 */
async function invertFixedPoint(weak: Denoiser, y: Tensor, i: number, s: Schedule, o: FixedPointOptions = {}, x0?: X0Processing): Promise<Float32Array> {
  const tol = o.tolerance ?? 1e-6;
  const maxIter = o.maxIterations ?? 50;
  const upper = startOf(s, i);
  const k = (targetOf(s, i).sigma - upper.sigma) / upper.sigma;
  const items = y.shape[0] ?? 1;
  const per = y.data.length / items;
  const n = y.data.length;
  const cur = Float32Array.from(y.data);
  const [xPrev, rPrev, xBest] = [new Float32Array(n), new Float32Array(n), Float32Array.from(y.data)];
  const alpha = new Float64Array(items).fill(1);
  const best = new Float64Array(items).fill(Infinity);
  const hasPrev = new Uint8Array(items);
  const done = new Uint8Array(items);
  // each item's relative residual: at convergence, else at its best point
  const rels = new Float64Array(items).fill(Infinity);
  let open = items;
  let iterations = 0;
  while (open > 0 && iterations < maxIter) {
    iterations++;
    const r = await weak(like(y, cur), upper);
    // the forward step being inverted processes x0 as the DDIM sampler does (clip or threshold), ε stays raw
    const p = x0 ? processX0(r, y.shape, x0) : r;
    for (let b = 0; b < items; b++) {
      if (done[b]) continue;
      const o0 = b * per;
      const o1 = o0 + per;
      let res = 0;
      let norm = 0;
      let ss = 0;
      let sy = 0;
      for (let j = o0; j < o1; j++) {
        const move = k * (cur[j] - r[j]) + (p[j] - r[j]);
        // the residual is judged against the size of the terms it is made of: float32 cannot do better
        norm += (Math.abs(y.data[j]) + Math.abs(cur[j]) + Math.abs(move)) ** 2;
        r[j] = y.data[j] - cur[j] - move;
        res += r[j] * r[j];
        const step = cur[j] - xPrev[j];
        ss += step * step;
        sy += step * (rPrev[j] - r[j]);
      }
      const rel = Math.sqrt(res / Math.max(norm, 1e-24));
      if (rel <= tol) {
        rels[b] = rel;
        for (let j = o0; j < o1; j++) cur[j] += r[j];
        done[b] = 1;
        open--;
        continue;
      }
      if (res < best[b]) {
        best[b] = res;
        rels[b] = rel;
        xBest.set(cur.subarray(o0, o1), o0);
      }
      if (hasPrev[b] && sy > 0 && ss > 0) alpha[b] = ss / sy;
      else if (hasPrev[b]) alpha[b] /= 2;
      if (res > 100 * best[b]) {
        // running away: back to the best point, with a shorter step from there
        cur.set(xBest.subarray(o0, o1), o0);
        alpha[b] /= 4;
        hasPrev[b] = 0;
        continue;
      }
      hasPrev[b] = 1;
      for (let j = o0; j < o1; j++) {
        xPrev[j] = cur[j];
        rPrev[j] = r[j];
        cur[j] += alpha[b] * r[j];
      }
    }
  }
  if (open > 0) {
    // report the best point reached, not the last trial
    for (let b = 0; b < items; b++) if (!done[b]) cur.set(xBest.subarray(b * per, (b + 1) * per), b * per);
  }
  let worst = 0;
  for (let b = 0; b < items; b++) worst = Math.max(worst, rels[b]);
  const report: FixedPointReport = { step: i, sigma: upper.sigma, iterations, items, unconverged: open, maxRelativeResidual: worst, tolerance: tol };
  o.report?.(report);
  if (open > 0 && o.strict) throw new FixedPointError(report);
  return cur;
}

/** Invert step i (σ_i → σ_{i+1}) of the schedule with the weak model, starting from the denoised latent y. */
export function invert(kind: InversionKind, weak: Denoiser, y: Tensor, i: number, s: Schedule, fixedPoint?: FixedPointOptions, x0?: X0Processing): Promise<Float32Array> {
  switch (kind) {
    case 'ddim':
      return invertDdim(weak, y, i, s, inverseX0(x0));
    case 'official-lagged':
      return invertOfficialLagged(weak, y, i, s, x0);
    case 'fixed-point':
      return invertFixedPoint(weak, y, i, s, fixedPoint, x0);
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
export function reflection(pair: ReflectionPair, s: Schedule, opts: ReflectionOptions, clock?: StepClock): (x: Tensor, i: number) => Promise<Float32Array> {
  checkReflection(opts, s.points.length);
  const kind = opts.inversion ?? 'ddim';
  const repeats = opts.repeats ?? 1;
  const during = `${kind} inversion`;
  return async (x, i) => {
    if (clock) clock.step = i;
    if (i >= opts.lambda) return x.data;
    let cur = x;
    for (let r = 0; r < repeats; r++) {
      const denoised = await ddimStep(pair.strong, cur, startOf(s, i), targetOf(s, i).sigma, opts.x0);
      if (clock) clock.during = during;
      const back = await invert(kind, pair.weak, like(x, denoised), i, s, opts.fixedPoint, opts.x0);
      // the inversion's own arithmetic (the fixed-point solver's steps) can overflow where every model call was finite
      if (clock) checkFinite(back, 'weak', clock, startOf(s, i));
      if (clock) clock.during = undefined;
      cur = like(x, back);
    }
    return cur.data;
  };
}
