import {
  CallCounter,
  autoguided,
  batchGaussian,
  ddim,
  ddimSchedule,
  equalCompute,
  eulerSchedule,
  plain,
  s2wd,
  samplerByName,
  selfReflection,
  stepNoise,
  tensor,
  w2sd,
  x0ProcessingOf,
  assertFinite,
  type Denoiser,
  type EqualComputeSplit,
  type Method,
  type Sampler,
  type Schedule,
  type SchedulerConfig,
  type StepClock,
} from '../core/index.js';
import type { ModelSession } from '../models/onnx/feeds.js';
import { encodeLeg, legDenoiser, type BuiltLeg, type EncodedLeg, type LegContext } from './legs.js';
import { legHalves } from './presets.js';
import type { LegRole, Request } from './request.js';

export type Legs<T> = Partial<Record<LegRole, T>>;

/** Encodes each distinct leg once (a guidance pair's main and strong legs are the same leg). */
export async function encodeLegs(req: Request, ctx: Omit<LegContext, 'needVae'>): Promise<Legs<EncodedLeg>> {
  const pending = new Map<string, Promise<EncodedLeg>>();
  const out: Legs<EncodedLeg> = {};
  for (const role of req.used) {
    const spec = req.legs[role];
    const key = JSON.stringify(spec);
    let p = pending.get(key);
    if (!p) {
      p = encodeLeg(spec, { ...ctx, needVae: role === 'main' });
      pending.set(key, p);
    }
    out[role] = await p;
  }
  return out;
}

/**
 * One denoiser per role (roles naming the same leg share its encoded prompts and UNet session), each CFG half
 * checked for NaN and Inf under the role's name at the clock's step.
 */
export function prepareLegs(encoded: Legs<EncodedLeg>, o: { clock: StepClock; guidanceRescale?: number }): Legs<BuiltLeg> {
  const out: Legs<BuiltLeg> = {};
  for (const [role, e] of Object.entries(encoded) as [LegRole, EncodedLeg][]) {
    out[role] = legDenoiser(e, { role, clock: o.clock, guidanceRescale: o.guidanceRescale });
  }
  return out;
}

export interface MethodSettings {
  readonly eta?: number;
  readonly lambda?: number;
  readonly repeats?: number;
  readonly equalCompute?: boolean;
  readonly autoguidanceWeight?: number;
}

/** The method with its sampler and schedule, and what it is expected to cost. */
export interface SamplingPlan {
  readonly method: Method;
  readonly sampler: Sampler;
  readonly schedule: (steps: number) => Schedule;
  readonly counter: CallCounter;
  /** Sampling steps actually taken (⌊T/2⌋ with equal compute). */
  readonly takenSteps: number;
  readonly lambda: number;
  readonly expectedEvaluations: number;
}

/** The core method of `req.method` over the legs' denoisers, each call counted by leg. */
export function planSampling(req: Request, legs: Legs<BuiltLeg>, scheduler: SchedulerConfig, s: MethodSettings, warn: (m: string) => void): SamplingPlan {
  const counter = new CallCounter();
  const den = (role: LegRole): Denoiser => counter.wrap(legs[role]!.denoiser, role);
  const schedule = (t: number): Schedule => (req.sampler === 'ddim' ? ddimSchedule(scheduler, t) : eulerSchedule(scheduler, t));
  // diffusers' DDIM schedulers process x0 by the config (PNDM configs without clip_sample clip by default),
  // the official code's reflection steps included
  const x0 = req.sampler === 'ddim' ? x0ProcessingOf(scheduler) : undefined;
  const sampler = req.sampler === 'ddim' ? ddim({ ...x0, eta: s.eta }) : samplerByName(req.sampler, { eta: s.eta });
  const settings = { inversion: req.inversion, repeats: s.repeats, x0 };
  // equal compute (core equalCompute): the split spends what CFG's T steps cost per item, a CFG batch of 2B
  // counting as two evaluations, so each leg costs the halves its scale runs
  const halves = (role: LegRole) => legHalves(req.legs[role].guidance);
  const eq = (legs: { main: Denoiser; strong: Denoiser; weak: Denoiser }, costs: { strong: number; weak: number }) =>
    equalCompute(req.method, legs, settings, { costs: { main: halves('main'), ...costs } });
  const fixedLambda = s.lambda ?? req.steps - 1;
  const reflectionLegs = () => ({ main: den('main'), strong: den('strong'), weak: den('weak') });
  let method: Method;
  let split: EqualComputeSplit | undefined;
  switch (req.method) {
    case 'cfg':
    case 'plain':
      method = plain(req.method, den('main'));
      break;
    case 'autoguidance':
      method = autoguided(req.method, den('strong'), den('weak'), s.autoguidanceWeight ?? 2);
      break;
    case 'self-reflection': {
      const l = { main: den('main'), strong: den('strong'), weak: den('strong') };
      const m = s.equalCompute ? eq(l, { strong: halves('strong'), weak: halves('strong') }) : undefined;
      split = m?.split(req.steps);
      method = m ?? selfReflection(req.method, l, { ...settings, lambda: fixedLambda });
      break;
    }
    case 's2wd': {
      const l = reflectionLegs();
      const m = s.equalCompute ? eq({ main: l.main, strong: l.weak, weak: l.strong }, { strong: halves('weak'), weak: halves('strong') }) : undefined;
      split = m?.split(req.steps);
      method = m ?? s2wd(req.method, l, { ...settings, lambda: fixedLambda });
      break;
    }
    default: {
      const m = s.equalCompute ? eq(reflectionLegs(), { strong: halves('strong'), weak: halves('weak') }) : undefined;
      split = m?.split(req.steps);
      method = m ?? w2sd(req.method, reflectionLegs(), { ...settings, lambda: fixedLambda });
    }
  }
  if (split && s.lambda !== undefined && s.lambda !== split.lambda) warn(`lambda ${s.lambda} ignored: equal compute sets λ = ${split.lambda} (T′ = ${split.steps})`);
  const lambda = split ? split.lambda : fixedLambda;
  const takenSteps = split ? split.steps : req.steps;
  // Heun evaluates twice per step except the last (to σ = 0, an Euler step); reflection steps are single
  const mainCalls = (t: number) => (req.sampler === 'heun' ? 2 * t - 1 : t);
  const expectedEvaluations = req.method === 'autoguidance' ? 2 * mainCalls(req.steps) : method.nfe(req.steps) + mainCalls(takenSteps) - takenSteps;
  return { method, sampler, schedule, counter, takenSteps, lambda, expectedEvaluations };
}

export interface Sampled {
  /** diffusers' x_t at the last level. */
  readonly latents: Float32Array;
  readonly unetRuns: Record<string, number>;
  readonly unetMs: number;
}

/**
 * Runs the plan from the seed's noise and returns the final latent in diffusers' VP variables, with the
 * UNet runs and time each UNet file took. `onStep` runs after every step (progress and cancellation).
 */
export async function sample(plan: SamplingPlan, legs: Legs<BuiltLeg>, req: Request, latentShape: readonly number[], clock: StepClock, onStep: (i: number) => void): Promise<Sampled> {
  const sessions = new Set<ModelSession>();
  for (const l of Object.values(legs)) sessions.add((await l.model.unet()).session);
  const before = new Map([...sessions].map((s) => [s, { runs: s.stats.runs, ms: s.stats.ms }]));
  const noise = tensor(batchGaussian(req.seed, latentShape), latentShape);
  const latentsSigma = await plan.method.run({
    sampler: plan.sampler,
    schedule: plan.schedule,
    steps: req.steps,
    noise,
    sampleOptions: {
      noise: stepNoise(req.seed),
      onStep: (i) => {
        // the next model call belongs to step i + 1 (reflection calls to the step they precede, as in core)
        clock.step = i + 1;
        onStep(i);
      },
    },
  });
  assertFinite(latentsSigma, 'final latent');
  // σ space → diffusers' x_t at the last level (x_t = x/√(1+σ²); σ_final is 0 or DDIM's ᾱ_0 boundary).
  const finalSigma = plan.schedule(plan.takenSteps).final.sigma;
  const latents = latentsSigma.map((v) => v / Math.sqrt(1 + finalSigma * finalSigma));
  const unetRuns: Record<string, number> = {};
  let unetMs = 0;
  for (const s of sessions) {
    unetRuns[s.path] = s.stats.runs - before.get(s)!.runs;
    unetMs += s.stats.ms - before.get(s)!.ms;
  }
  return { latents, unetRuns, unetMs };
}
