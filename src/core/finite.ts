import type { Denoiser, StepPoint } from './types.js';

/**
 * A model handed back NaN or ±Inf. Typed so callers (CLIs, servers, pipelines) can tell a diverged model from
 * a bug: it names the leg that produced it ('main', 'strong', 'weak', ...), the sampling step it belongs to,
 * and where the model was evaluated (σ the latent sat at, the timestep it was conditioned on).
 */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(
    readonly leg: string,
    /** Sampling step index i (0 = noisiest); reflection and inversion calls belong to the step they precede. */
    readonly step: number,
    readonly sigma: number,
    readonly timestep: number,
    /** Flat index of the first non-finite value and the value itself. */
    readonly index: number,
    readonly value: number,
    /** What was running, when more than the leg says (e.g. 'fixed-point inversion'). */
    readonly during?: string,
  ) {
    super(
      `non-finite model output (${value}) from leg '${leg}' at step ${step} (σ ${sigma.toPrecision(5)}, timestep ${timestep})` +
        `${during ? ` during ${during}` : ''}, value index ${index}`,
    );
  }
}

/**
 * Index of the first non-finite value, or −1. One pass, no allocation: x·0 is 0 for every finite x and NaN
 * for NaN and ±Inf, and NaN survives the sum, so the common all-finite case costs one multiply-add per value.
 */
export function firstNonFinite(data: Float32Array): number {
  let acc = 0;
  for (let i = 0; i < data.length; i++) acc += data[i] * 0;
  if (acc === 0) return -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/** Where a run is: the sampling step the next model call belongs to. Methods advance it before each step. */
export interface StepClock {
  step: number;
  /** Set while a sub-procedure runs (the inversions), cleared after. */
  during?: string;
}

export function stepClock(): StepClock {
  return { step: 0 };
}

/** Throws NonFiniteError when `data` holds NaN or ±Inf; `at` is where the values were produced. */
export function checkFinite(data: Float32Array, leg: string, clock: StepClock, at: StepPoint): void {
  const bad = firstNonFinite(data);
  if (bad >= 0) throw new NonFiniteError(leg, clock.step, at.sigma, at.timestep, bad, data[bad], clock.during);
}

/**
 * The denoiser with its output checked: NaN or Inf becomes a NonFiniteError naming `leg` and the clock's step.
 * Wrap each leg once per run; the check is a single pass over the output, with no allocation.
 */
export function guardDenoiser(denoise: Denoiser, leg: string, clock: StepClock): Denoiser {
  return async (x, at) => {
    const out = await denoise(x, at);
    checkFinite(out, leg, clock, at);
    return out;
  };
}
