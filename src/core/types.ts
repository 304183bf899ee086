import type { Tensor } from './tensor.js';

/**
 * Where a model is evaluated. `sigma` is the noise level the latent actually sits at (it sets the input
 * scaling and turns the model's output into x0); `timestep` is what the model is conditioned on. They
 * describe the same level except inside an inversion, where diffusers' DDIM inversion feeds a latent at
 * σ_{i+1} to the network at the timestep of σ_i (paper Eq. 3). For variance-exploding models such as the
 * analytic mixtures, the timestep is the conditioning σ itself.
 */
export interface StepPoint {
  readonly sigma: number;
  readonly timestep: number;
}

/**
 * Denoiser D(x; σ) ≈ E[x0 | x] on a batch in sigma space (x = x0 + σ·n, k-diffusion's convention).
 * Returns a fresh buffer of x's length. Async because ONNX Runtime is; an analytic model pays nothing.
 */
export type Denoiser = (x: Tensor, at: StepPoint) => Promise<Float32Array>;

/** The discrete training schedule behind a schedule, when there is one (SD-style models). */
export interface DiscreteSchedule {
  readonly alphasCumprod: Float64Array;
  /** ᾱ used where an index falls below 0 (diffusers' `final_alpha_cumprod` / `initial_alpha_cumprod`). */
  readonly boundaryAlphaCumprod: number;
  readonly numTrainTimesteps: number;
  /** num_train_timesteps // num_inference_steps: diffusers' step between neighbouring timesteps. */
  readonly stepRatio: number;
  /** The config's prediction type and spacing (what diffusers' inverse scheduler reads off the raw output). */
  readonly predictionType?: 'epsilon' | 'v_prediction' | 'sample';
  readonly timestepSpacing?: 'leading' | 'trailing' | 'linspace';
}

/**
 * A descending list of levels. Step i goes from points[i] to points[i+1] (or `final` after the last).
 * `initSigma` is the standard deviation of the starting noise in sigma space.
 */
export interface Schedule {
  readonly points: readonly StepPoint[];
  readonly final: StepPoint;
  readonly initSigma: number;
  /** The model's timestep for any σ (Heun's second evaluation, Karras schedules). */
  readonly timestepOf: (sigma: number) => number;
  readonly discrete?: DiscreteSchedule;
  /**
   * Where step i lands, when that is not where step i+1 starts. diffusers' DDIM steps from t to t − N//T
   * whatever the spacing, so with `linspace` spacing the landing and the next start differ; the latent then
   * keeps its VP value (x_t) and is read at the next level. Absent for every consistent schedule.
   */
  readonly targets?: readonly StepPoint[];
}

/**
 * Fresh standard Gaussian noise for step i of a stochastic sampler (η > 0, ancestral), reproducible per step
 * and per batch item, so that a sample's noise does not depend on what else is in its batch.
 */
export type StepNoise = (i: number, shape: readonly number[]) => Float32Array;

export interface SampleOptions {
  /**
   * Runs before step i and returns the latent the step starts from: the place where W2SD's reflection
   * (and any other latent-moving control) hooks into an otherwise ordinary sampler.
   */
  readonly beforeStep?: (x: Tensor, i: number) => Promise<Float32Array>;
  /** Stochastic samplers draw from here; required by them, ignored by deterministic ones. */
  readonly noise?: StepNoise;
  /** Progress: called after step i has finished. */
  readonly onStep?: (i: number, x: Tensor) => void;
}

/** A sampler integrates from points[0] down to `final` and returns the latent at `final.sigma`. */
export type Sampler = (denoise: Denoiser, x: Tensor, schedule: Schedule, opts?: SampleOptions) => Promise<Float32Array>;
