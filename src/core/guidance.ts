import type { Denoiser } from './types.js';
import type { GuidedDenoiser } from './denoiser.js';

/**
 * Classifier-free guidance D_u + w·(D_c − D_u) (Ho & Salimans 2022), identical to diffusers' ε-space CFG
 * because x0 and ε are affine in each other at fixed (x, σ). w = 1 and w = 0 need only one half, and the
 * official W2SD code's scale-1 legs cost a doubled batch for nothing, so they call one half here.
 */
export function cfg(model: GuidedDenoiser, scale: number): Denoiser {
  if (!Number.isFinite(scale)) throw new Error(`guidance scale: expected a finite number, got ${scale}`);
  if (scale === 1) return model.cond;
  if (scale === 0) return model.uncond;
  return async (x, at) => {
    const [c, u] = await model.both(x, at);
    for (let i = 0; i < u.length; i++) u[i] += scale * (c[i] - u[i]);
    return u;
  };
}

/**
 * Autoguidance (Karras et al. 2024): D_w + w·(D_s − D_w). w = 1 is the strong model alone; the W2SD paper's
 * Table 15 "w = 1" (x_good + w·(x_good − x_bad)) is w = 2 here.
 */
export function autoguidance(strong: Denoiser, weak: Denoiser, w: number): Denoiser {
  if (!Number.isFinite(w)) throw new Error(`autoguidance weight: expected a finite number, got ${w}`);
  if (w === 1) return strong;
  return async (x, at) => {
    const [s, wk] = await Promise.all([strong(x, at), weak(x, at)]);
    for (let i = 0; i < wk.length; i++) wk[i] += w * (s[i] - wk[i]);
    return wk;
  };
}
