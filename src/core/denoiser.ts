import type { Denoiser, StepPoint } from './types.js';
import type { Tensor } from './tensor.js';
import { tensor } from './tensor.js';
import type { PredictionType } from './schedules/config.js';

/** A network in diffusers' VP form: called on x_t = √ᾱ·x0 + √(1−ᾱ)·ε at its (discrete) timestep. */
export type DiscreteModel = (xt: Tensor, timestep: number) => Promise<Float32Array>;

/** Input scaling σ-space → VP: x_t = x/√(1+σ²). */
export function vpInputScale(sigma: number): number {
  return 1 / Math.sqrt(1 + sigma * sigma);
}

/**
 * Turn a VP network's output into D(x; σ) in place. σ is the level the latent sits at, which is what
 * diffusers uses to read ε, v or x0 off the output (also inside DDIM inversion).
 */
export function toDenoised(out: Float32Array, x: Float32Array, sigma: number, prediction: PredictionType): Float32Array {
  if (out.length !== x.length) throw new Error(`model output has ${out.length} values, expected ${x.length}`);
  switch (prediction) {
    case 'epsilon':
      for (let i = 0; i < out.length; i++) out[i] = x[i] - sigma * out[i];
      return out;
    case 'v_prediction': {
      // x0 = √ᾱ·x_t − √(1−ᾱ)·v with x_t = x·√ᾱ, ᾱ = 1/(1+σ²)
      const c = 1 / (1 + sigma * sigma);
      const cv = sigma / Math.sqrt(1 + sigma * sigma);
      for (let i = 0; i < out.length; i++) out[i] = x[i] * c - cv * out[i];
      return out;
    }
    case 'sample':
      return out;
  }
}

function scaledInput(x: Tensor, at: StepPoint): Tensor {
  const c = vpInputScale(at.sigma);
  const xt = new Float32Array(x.data.length);
  for (let i = 0; i < xt.length; i++) xt[i] = x.data[i] * c;
  return tensor(xt, x.shape);
}

/** Wrap a VP network once into a σ-space denoiser (k-diffusion's `DiscreteEpsDDPMDenoiser` idea). */
export function discreteDenoiser(model: DiscreteModel, prediction: PredictionType): Denoiser {
  return async (x, at) => toDenoised(await model(scaledInput(x, at), at.timestep), x.data, at.sigma, prediction);
}

/** A VP network that can run its conditional and unconditional halves as one batch of 2B. */
export interface DiscreteGuidedModel {
  both(xt: Tensor, timestep: number): Promise<[Float32Array, Float32Array]>;
  cond: DiscreteModel;
  uncond: DiscreteModel;
}

/** A conditional denoiser whose two halves can be evaluated in one batched call (CFG's need). */
export interface GuidedDenoiser {
  both(x: Tensor, at: StepPoint): Promise<[Float32Array, Float32Array]>;
  cond: Denoiser;
  uncond: Denoiser;
}

export function discreteGuided(model: DiscreteGuidedModel, prediction: PredictionType): GuidedDenoiser {
  return {
    async both(x, at) {
      const [c, u] = await model.both(scaledInput(x, at), at.timestep);
      return [toDenoised(c, x.data, at.sigma, prediction), toDenoised(u, x.data, at.sigma, prediction)];
    },
    cond: discreteDenoiser(model.cond, prediction),
    uncond: discreteDenoiser(model.uncond, prediction),
  };
}
