import type { Denoiser, SampleOptions, Schedule, StepPoint } from '../types.js';
import type { Tensor } from '../tensor.js';
import { assertFinite, tensor } from '../tensor.js';
import { handOff, startOf, targetOf } from '../schedules/walk.js';

/** What one step of a sampler sees: the latent (updated in place), where it starts and where it lands. */
export interface StepContext {
  readonly x: Float32Array;
  readonly shape: readonly number[];
  readonly i: number;
  readonly at: StepPoint;
  readonly to: StepPoint;
  readonly denoise: Denoiser;
  readonly opts: SampleOptions;
}

/**
 * The loop every sampler shares: the `beforeStep` hook (where W2SD reflects), the step itself, the hand-off
 * between a landing level and the next start, a finiteness check and progress. A sampler is then only its
 * update rule, as in k-diffusion's sampling.py.
 */
export async function runSteps(
  denoise: Denoiser,
  x0: Tensor,
  s: Schedule,
  opts: SampleOptions,
  step: (ctx: StepContext) => Promise<void>,
): Promise<Float32Array> {
  if (s.points.length < 1) throw new Error('schedule: no steps');
  const x = Float32Array.from(x0.data);
  for (let i = 0; i < s.points.length; i++) {
    if (opts.beforeStep) {
      const moved = await opts.beforeStep(tensor(x, x0.shape), i);
      if (moved !== x) x.set(moved);
    }
    await step({ x, shape: x0.shape, i, at: startOf(s, i), to: targetOf(s, i), denoise, opts });
    handOff(s, i, x);
    assertFinite(x, `latent after step ${i} (σ ${startOf(s, i).sigma.toPrecision(5)})`);
    opts.onStep?.(i, tensor(x, x0.shape));
  }
  return x;
}

/** x ← D + (σ_to/σ)·(x − D): the Euler / DDIM(η = 0) move in σ space, exact at σ_to = 0. */
export function eulerMove(x: Float32Array, denoised: Float32Array, sigma: number, sigmaTo: number): void {
  const r = sigmaTo / sigma;
  for (let j = 0; j < x.length; j++) x[j] = denoised[j] + r * (x[j] - denoised[j]);
}

export function requireNoise(opts: SampleOptions, sampler: string) {
  if (!opts.noise) throw new Error(`${sampler}: a stochastic sampler needs SampleOptions.noise (e.g. stepNoise(seed))`);
  return opts.noise;
}
