import type { Sampler } from '../types.js';
import { tensor } from '../tensor.js';
import { eulerMove, requireNoise, runSteps } from './loop.js';

/** Euler on the probability-flow ODE dx/dσ = (x − D)/σ (Karras et al. 2022, Alg. 1; diffusers' EulerDiscrete, s_churn = 0). */
export function euler(): Sampler {
  return (denoise, x, s, opts = {}) =>
    runSteps(denoise, x, s, opts, async ({ x, shape, at, to, denoise }) => {
      eulerMove(x, await denoise(tensor(x, shape), at), at.sigma, to.sigma);
    });
}

/**
 * Heun's 2nd-order method (Karras et al. 2022, Alg. 1; diffusers' HeunDiscrete): 2 evaluations per step,
 * 1 for the last step to σ = 0, where it falls back to Euler.
 */
export function heun(): Sampler {
  return (denoise, x, s, opts = {}) => {
    // the predictor's latent is the model's input: one buffer per run, not per step
    let x2: Float32Array | undefined;
    return runSteps(denoise, x, s, opts, async ({ x, shape, at, to, denoise }) => {
      const d1 = await denoise(tensor(x, shape), at);
      if (to.sigma === 0) {
        x.set(d1);
        return;
      }
      const h = to.sigma - at.sigma;
      const k1 = h / at.sigma;
      x2 ??= new Float32Array(x.length);
      for (let j = 0; j < x.length; j++) x2[j] = x[j] + k1 * (x[j] - d1[j]);
      const d2 = await denoise(tensor(x2, shape), to);
      const k2 = h / to.sigma;
      for (let j = 0; j < x.length; j++) x[j] += (k1 * (x[j] - d1[j]) + k2 * (x2[j] - d2[j])) / 2;
    });
  };
}

/** Euler ancestral (η = 1): step down to σ_down, add fresh noise of σ_up (diffusers' EulerAncestralDiscrete). */
export function eulerAncestral(): Sampler {
  return async (denoise, x, s, opts = {}) => {
    const noise = requireNoise(opts, 'euler-ancestral');
    return runSteps(denoise, x, s, opts, async ({ x, shape, i, at, to, denoise }) => {
      const d = await denoise(tensor(x, shape), at);
      const s0 = at.sigma;
      const s1 = to.sigma;
      const up = Math.sqrt((s1 * s1 * (s0 * s0 - s1 * s1)) / (s0 * s0));
      const down = Math.sqrt(s1 * s1 - up * up);
      eulerMove(x, d, s0, down);
      if (up > 0) {
        const z = noise(i, shape);
        for (let j = 0; j < x.length; j++) x[j] += up * z[j];
      }
    });
  };
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022, Alg. 2; k-diffusion's sample_dpmpp_2m, diffusers' DPMSolverMultistep with
 * algorithm_type "dpmsolver++", solver_order 2, midpoint): first order on the first step and on the step to σ = 0
 * (and on the last step with `firstOrderFinal`, diffusers' `euler_at_final`).
 */
export function dpmpp2m(opts: { readonly firstOrderFinal?: boolean } = {}): Sampler {
  return (denoise, x, s, sampleOpts = {}) => {
    let previous: Float32Array | undefined;
    let hPrevious = 0;
    const last = s.points.length - 1;
    return runSteps(denoise, x, s, sampleOpts, async ({ x, shape, i, at, to, denoise }) => {
      const d = await denoise(tensor(x, shape), at);
      if (to.sigma === 0) {
        x.set(d);
      } else {
        const h = Math.log(at.sigma) - Math.log(to.sigma);
        const ratio = to.sigma / at.sigma;
        const k = -Math.expm1(-h);
        // diffusers' euler_at_final: a first-order last step when the schedule ends above σ = 0
        if (!previous || (opts.firstOrderFinal && i === last)) {
          for (let j = 0; j < x.length; j++) x[j] = ratio * x[j] + k * d[j];
        } else {
          const b = h / (2 * hPrevious);
          const a = 1 + b;
          for (let j = 0; j < x.length; j++) x[j] = ratio * x[j] + k * (a * d[j] - b * previous[j]);
        }
        hPrevious = h;
      }
      previous = d;
    });
  };
}
