import type { Denoiser, Sampler, SampleOptions, Schedule } from './types.js';
import type { Tensor } from './tensor.js';
import { tensor } from './tensor.js';
import type { GuidedDenoiser } from './denoiser.js';
import { autoguidance, cfg } from './guidance.js';
import type { FixedPointReport, ReflectionOptions } from './reflection.js';
import { checkReflection, reflection } from './reflection.js';
import type { StepClock } from './finite.js';
import { guardDenoiser, stepClock } from './finite.js';

/** The three legs of W2SD: the ordinary step's model and the reflection's strong and weak models. */
export interface Legs {
  readonly main: Denoiser;
  readonly strong: Denoiser;
  readonly weak: Denoiser;
}

/**
 * Sample with W2SD: any sampler, with the reflection hooked in before each of the first λ steps. With a
 * clock, each step's index is set on it before the step's first model call (see guardDenoiser).
 */
export function w2sdSample(sampler: Sampler, legs: Legs, x: Tensor, s: Schedule, opts: ReflectionOptions, sampleOpts: SampleOptions = {}, clock?: StepClock): Promise<Float32Array> {
  const reflect = reflection(legs, s, opts, clock);
  const before = sampleOpts.beforeStep;
  const beforeStep = before
    ? async (y: Tensor, i: number) => {
        if (clock) clock.step = i;
        return reflect(tensor(await before(y, i), y.shape), i);
      }
    : reflect;
  return sampler(legs.main, x, s, { ...sampleOpts, beforeStep });
}

/** The legs with their outputs checked: NaN or Inf from any of them is a NonFiniteError naming it and the step. */
function guardedLegs(legs: Legs, clock: StepClock): Legs {
  return { main: guardDenoiser(legs.main, 'main', clock), strong: guardDenoiser(legs.strong, 'strong', clock), weak: guardDenoiser(legs.weak, 'weak', clock) };
}

/** Sample options that advance the clock before each step (and still run the caller's hook). */
function clocked(clock: StepClock, opts: SampleOptions = {}): SampleOptions {
  const before = opts.beforeStep;
  return {
    ...opts,
    beforeStep: async (x, i) => {
      clock.step = i;
      clock.during = undefined;
      return before ? before(x, i) : x.data;
    },
  };
}

/**
 * Everything a method needs to run one comparison row. `noise` holds unit normals, so every method starts
 * from the same draw (common random numbers) scaled to its own schedule's initial σ.
 */
export interface RunContext {
  readonly sampler: Sampler;
  readonly schedule: (steps: number) => Schedule;
  readonly steps: number;
  readonly noise: Tensor;
  readonly sampleOptions?: SampleOptions;
  /** Told after every fixed-point inversion, so a lab can report residuals of a run (see FixedPointReport). */
  readonly onFixedPoint?: (r: FixedPointReport) => void;
}

export interface Method {
  readonly name: string;
  /**
   * Model calls planned for T steps of a one-evaluation-per-step sampler (T + 2λ·repeats for W2SD). A plan,
   * not a measurement: the fixed-point inversion adds its solver iterations, Heun its second evaluations.
   * Report the counted calls (CallCounter), never this.
   */
  readonly nfe: (steps: number) => number;
  run(ctx: RunContext): Promise<Float32Array>;
}

function startLatent(noise: Tensor, s: Schedule): Tensor {
  const x = new Float32Array(noise.data.length);
  for (let i = 0; i < x.length; i++) x[i] = noise.data[i] * s.initSigma;
  return tensor(x, noise.shape);
}

/** Ordinary sampling with a denoiser built per run from checked legs (the clock names the step of a failure). */
function plainWith(name: string, build: (clock: StepClock) => Denoiser): Method {
  return {
    name,
    nfe: (steps) => steps,
    run(ctx) {
      const s = ctx.schedule(ctx.steps);
      const clock = stepClock();
      return ctx.sampler(build(clock), startLatent(ctx.noise, s), s, clocked(clock, ctx.sampleOptions));
    },
  };
}

/** Ordinary sampling with one denoiser (strong alone, CFG, ...), checked as the leg 'main'. */
export function plain(name: string, denoise: Denoiser): Method {
  return plainWith(name, (clock) => guardDenoiser(denoise, 'main', clock));
}

/** Reflection settings with λ given as a function of T, so one method can run at any step count. */
export interface W2sdSettings extends Omit<ReflectionOptions, 'lambda'> {
  /** λ; a function of T, or a number; default T − 1 (the paper's). */
  readonly lambda?: number | ((steps: number) => number);
}

function lambdaFor(settings: W2sdSettings, steps: number): number {
  const l = settings.lambda;
  return l === undefined ? steps - 1 : typeof l === 'function' ? l(steps) : l;
}

/** Settings whose fixed-point reports also go to the run's listener. */
function withReport(opts: ReflectionOptions, listener?: (r: FixedPointReport) => void): ReflectionOptions {
  const own = opts.fixedPoint?.report;
  if (!listener) return opts;
  return {
    ...opts,
    fixedPoint: {
      ...opts.fixedPoint,
      report: (r) => {
        own?.(r);
        listener(r);
      },
    },
  };
}

export function w2sd(name: string, legs: Legs, settings: W2sdSettings = {}): Method {
  return {
    name,
    nfe: (steps) => steps + 2 * lambdaFor(settings, steps) * (settings.repeats ?? 1),
    run(ctx) {
      const s = ctx.schedule(ctx.steps);
      const opts = withReport({ ...settings, lambda: lambdaFor(settings, ctx.steps) }, ctx.onFixedPoint);
      checkReflection(opts, ctx.steps);
      const clock = stepClock();
      return w2sdSample(ctx.sampler, guardedLegs(legs, clock), startLatent(ctx.noise, s), s, opts, clocked(clock, ctx.sampleOptions), clock);
    },
  };
}

/** Control: weak := strong. With the fixed-point inversion it must equal plain sampling. */
export function selfReflection(name: string, legs: Pick<Legs, 'main' | 'strong'>, settings: W2sdSettings = {}): Method {
  return w2sd(name, { main: legs.main, strong: legs.strong, weak: legs.strong }, settings);
}

/** Negative control (paper §3.2): the roles swapped, so the latent moves along the strong-to-weak direction. */
export function s2wd(name: string, legs: Legs, settings: W2sdSettings = {}): Method {
  return w2sd(name, { main: legs.main, strong: legs.weak, weak: legs.strong }, settings);
}

/** Evaluations per item that one call of a leg costs: 2 for a CFG leg (one batch of 2B), 1 otherwise. */
export interface LegCosts {
  readonly main?: number;
  readonly strong?: number;
  readonly weak?: number;
}

/** How an equal-compute run spends its budget: T' steps, λ reflections, and what that costs per item. */
export interface EqualComputeSplit {
  readonly steps: number;
  readonly lambda: number;
  /** Evaluations per item: T'·c_main + λ·repeats·(c_strong + c_weak) (CFG batches count twice). */
  readonly evaluations: number;
  /** The compared method's evaluations per item. */
  readonly budget: number;
}

/**
 * T' and λ with T'·c_main + λ·repeats·(c_strong + c_weak) = budget, λ as close to T'/2 as that allows (the
 * paper's §5.2 split is T' = T/2, λ = T'/2); when no split hits the budget exactly, the closest one under it.
 * For T = 50 at unit costs that is T' = 26, λ = 12 (50 evaluations), where ⌊T/2⌋, ⌊T/4⌋ gives 49.
 */
export function equalComputeSplit(budget: number, costs: LegCosts = {}, repeats = 1): EqualComputeSplit {
  const cm = costs.main ?? 1;
  const cr = repeats * ((costs.strong ?? 1) + (costs.weak ?? 1));
  for (const [v, what] of [[budget, 'budget'], [cm, 'main cost'], [cr, 'reflection cost']] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`equal compute: ${what} must be a positive integer, got ${v}`);
  }
  let best: EqualComputeSplit | undefined;
  const rank = (x: EqualComputeSplit) => [budget - x.evaluations, Math.abs(x.lambda - x.steps / 2), -x.steps];
  const better = (a: EqualComputeSplit, b: EqualComputeSplit) => {
    const [ra, rb] = [rank(a), rank(b)];
    for (let k = 0; k < ra.length; k++) if (ra[k] !== rb[k]) return ra[k] < rb[k];
    return false;
  };
  for (let lambda = 0; lambda * cr < budget; lambda++) {
    const steps = Math.floor((budget - lambda * cr) / cm);
    if (steps < 1 || lambda >= steps) continue;
    const c = { steps, lambda, evaluations: steps * cm + lambda * cr, budget };
    if (!best || better(c, best)) best = c;
  }
  if (!best) throw new Error(`equal compute: a budget of ${budget} evaluations per item cannot pay for one step at main cost ${cm}`);
  return best;
}

export interface EqualComputeOptions {
  /** The compared method's evaluations per item for T steps; default T·c_main (the main leg alone, T steps). */
  readonly budget?: (steps: number) => number;
  readonly costs?: LegCosts;
}

/** An equal-compute method: W2SD run with the split that spends exactly the compared method's budget. */
export interface EqualComputeMethod extends Method {
  readonly split: (steps: number) => EqualComputeSplit;
}

/**
 * Paper §5.2 at equal compute: W2SD with T' steps and λ reflections chosen by equalComputeSplit, so its
 * evaluations per item (CFG batches counted twice, repeats included) equal the compared method's. Assumes a
 * one-evaluation-per-step sampler (Heun's second evaluations are not in the budget).
 */
export function equalCompute(name: string, legs: Legs, settings: Omit<W2sdSettings, 'lambda'> = {}, o: EqualComputeOptions = {}): EqualComputeMethod {
  const split = (steps: number) => equalComputeSplit(o.budget ? o.budget(steps) : steps * (o.costs?.main ?? 1), o.costs, settings.repeats ?? 1);
  return {
    name,
    split,
    nfe: (steps) => {
      const sp = split(steps);
      return sp.steps + 2 * sp.lambda * (settings.repeats ?? 1);
    },
    run: (ctx) => {
      const sp = split(ctx.steps);
      return w2sd(name, legs, { ...settings, lambda: sp.lambda }).run({ ...ctx, steps: sp.steps });
    },
  };
}

/** Autoguidance with both models checked as the legs 'strong' and 'weak'. */
export function autoguided(name: string, strong: Denoiser, weak: Denoiser, w: number): Method {
  return plainWith(name, (clock) => autoguidance(guardDenoiser(strong, 'strong', clock), guardDenoiser(weak, 'weak', clock), w));
}

/**
 * Z-Sampling (Bai et al. 2025) as W2SD's guidance pair: strong = CFG at a high scale, weak = CFG at a low
 * one (paper: 5.5 vs 0), main step at the high scale.
 */
export function zSampling(name: string, model: GuidedDenoiser, scales: { readonly strong: number; readonly weak: number; readonly main?: number }, settings: W2sdSettings = {}): Method {
  return w2sd(name, { main: cfg(model, scales.main ?? scales.strong), strong: cfg(model, scales.strong), weak: cfg(model, scales.weak) }, settings);
}
