import type { Denoiser } from '../../src/core/index.js';

/**
 * Exact denoiser of isotropic Gaussian data N(μ, s²I) under noise σ, conditioned at σ_c = at.timestep:
 * D = μ + s²/(s² + σ_c²)(x − μ), read as an ε-predictor and returned at the latent's level at.sigma.
 * Written out here, apart from src/models/gmm, so core tests rest on a closed form of their own.
 */
export function gaussianDenoiser(mu: number[], s: number): Denoiser {
  return async (x, at) => {
    const dim = mu.length;
    const sc = at.timestep;
    const k = (s * s) / (s * s + sc * sc);
    const out = new Float32Array(x.data.length);
    for (let j = 0; j < out.length; j++) {
      const m = mu[j % dim];
      const d = m + k * (x.data[j] - m);
      const eps = (x.data[j] - d) / sc;
      out[j] = x.data[j] - at.sigma * eps;
    }
    return out;
  };
}

/** The PF-ODE's exact flow for that data: x(σ) = μ + (x(σ0) − μ)·√((s² + σ²)/(s² + σ0²)). */
export function gaussianFlow(x: Float32Array, mu: number[], s: number, from: number, to: number): Float64Array {
  const k = Math.sqrt((s * s + to * to) / (s * s + from * from));
  return Float64Array.from(x, (v, j) => mu[j % mu.length] + (v - mu[j % mu.length]) * k);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/**
 * Exact denoiser of a 1-D mixture Σ w_k N(μ_k, s²) (shared s), conditioned at σ_c = at.timestep and
 * returned at at.sigma: non-linear in x, which the fixed-point tests need.
 */
export function mixture1d(weights: number[], means: number[], s: number): Denoiser {
  return async (x, at) => {
    const sc = at.timestep;
    const v = s * s + sc * sc;
    const k = (s * s) / v;
    const out = new Float32Array(x.data.length);
    for (let j = 0; j < out.length; j++) {
      const xj = x.data[j];
      let num = 0;
      let den = 0;
      const logs = means.map((m, c) => Math.log(weights[c]) - ((xj - m) ** 2) / (2 * v));
      const top = Math.max(...logs);
      means.forEach((m, c) => {
        const r = Math.exp(logs[c] - top);
        den += r;
        num += r * (m + k * (xj - m));
      });
      const d = num / den;
      out[j] = xj - (at.sigma * (xj - d)) / sc;
    }
    return out;
  };
}
