import type { SchedulerConfig } from './config.js';

/*
 * diffusers builds betas and ᾱ in float32 torch tensors; Math.fround after each operation keeps ours within
 * an ulp or so of theirs, which is what lets a schedule reproduce their timesteps' σ to float precision.
 */
const f = Math.fround;

function linspace32(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = f((end - start) / (n - 1));
  // torch fills the first half forwards from start and the second half backwards from end
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) out[i] = i < half ? f(start + step * i) : f(end - step * (n - 1 - i));
  return out;
}

/** Glide's cosine schedule (Nichol & Dhariwal 2021), as diffusers' `betas_for_alpha_bar` with max β 0.999. */
function cosineBetas(n: number): Float64Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999));
  return out;
}

export function betas(cfg: SchedulerConfig): Float64Array {
  const n = cfg.numTrainTimesteps;
  if (cfg.trainedBetas) return Float64Array.from(cfg.trainedBetas, f);
  switch (cfg.betaSchedule) {
    case 'linear':
      return linspace32(cfg.betaStart, cfg.betaEnd, n);
    case 'scaled_linear':
      return linspace32(f(Math.sqrt(cfg.betaStart)), f(Math.sqrt(cfg.betaEnd)), n).map((b) => f(b * b));
    case 'squaredcos_cap_v2':
      return cosineBetas(n);
  }
}

/**
 * Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1: shift and
 * scale √ᾱ so the last step has zero SNR while the first keeps its value.
 */
function rescaleZeroTerminalSnr(alphasCumprod: Float64Array): Float64Array {
  const sq = alphasCumprod.map(Math.sqrt);
  const first = sq[0];
  const last = sq[sq.length - 1];
  return sq.map((s) => {
    const r = ((s - last) * first) / (first - last);
    return r * r;
  });
}

/** ᾱ_t for t = 0..N−1. */
export function alphasCumprod(cfg: SchedulerConfig): Float64Array {
  const b = betas(cfg);
  const out = new Float64Array(b.length);
  // torch's CPU cumprod keeps a float64 running product and rounds each prefix to float32
  let acc = 1;
  for (let i = 0; i < b.length; i++) {
    acc *= f(1 - b[i]);
    out[i] = f(acc);
  }
  return cfg.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(out) : out;
}

/**
 * The smallest ᾱ we let a σ-space sampler see. With a zero-SNR schedule ᾱ_{N−1} = 0 and σ = ∞; diffusers'
 * Euler scheduler substitutes 2^-24 for the same reason.
 */
export const MIN_ALPHA_CUMPROD = 2 ** -24;

export function sigmaOfAlphaCumprod(a: number): number {
  const safe = Math.max(a, MIN_ALPHA_CUMPROD);
  return Math.sqrt((1 - safe) / safe);
}

export function alphaCumprodOfSigma(sigma: number): number {
  return 1 / (1 + sigma * sigma);
}
