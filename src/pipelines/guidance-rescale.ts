import type { Denoiser, GuidedDenoiser, PredictionType } from '../core/index.js';

/**
 * What the network's raw output r (ε, v or x0) is in σ-space: r = (α·x − D)/β for a latent x at σ with
 * denoised D. Only α matters here, since the rescale compares standard deviations and β cancels:
 * ε: α = 1 (D = x − σε); v: α = 1/(1+σ²) (D = x/(1+σ²) − σ/√(1+σ²)·v); x0: α = 0 (β = −1).
 */
function outputOffset(prediction: PredictionType, sigma: number): number {
  return prediction === 'epsilon' ? 1 : prediction === 'v_prediction' ? 1 / (1 + sigma * sigma) : 0;
}

/** Sample standard deviation of α·x − d over one batch item (unbiased, as torch's std; the ratio does not care). */
function stdOf(x: Float32Array, d: Float32Array, alpha: number, from: number, to: number): number {
  let mean = 0;
  for (let i = from; i < to; i++) mean += alpha * x[i] - d[i];
  mean /= to - from;
  let ss = 0;
  for (let i = from; i < to; i++) {
    const v = alpha * x[i] - d[i] - mean;
    ss += v * v;
  }
  return Math.sqrt(ss / (to - from - 1));
}

/**
 * Classifier-free guidance with diffusers' `guidance_rescale` φ (rescale_noise_cfg; Lin et al. 2023,
 * "Common Diffusion Noise Schedules and Sample Steps are Flawed", eq. 15–16): the guided output r_cfg is
 * scaled per batch item to the standard deviation of the conditional output r_c, then mixed,
 * r = φ·r_cfg·std(r_c)/std(r_cfg) + (1 − φ)·r_cfg, with std over all dimensions but the batch. It acts on the
 * network's own output (ε or v), which is affine in D at fixed (x, σ): r scaled by k is D − α·x scaled by k, so it is computed here on the denoised halves without leaving σ-space.
 */
export function rescaledCfg(model: GuidedDenoiser, scale: number, phi: number, prediction: PredictionType): Denoiser {
  return async (x, at) => {
    const [c, u] = await model.both(x, at);
    const alpha = outputOffset(prediction, at.sigma);
    const xs = x.data;
    for (let i = 0; i < u.length; i++) u[i] += scale * (c[i] - u[i]);
    const per = xs.length / x.shape[0];
    for (let from = 0; from < xs.length; from += per) {
      const to = from + per;
      const sg = stdOf(xs, u, alpha, from, to);
      // a constant guided output has no spread to rescale (diffusers would divide by zero)
      const k = sg > 0 ? (phi * stdOf(xs, c, alpha, from, to)) / sg + 1 - phi : 1;
      for (let i = from; i < to; i++) u[i] = alpha * xs[i] - k * (alpha * xs[i] - u[i]);
    }
    return u;
  };
}
