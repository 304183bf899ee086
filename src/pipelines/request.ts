import { INVERSIONS, SAMPLERS, type InversionKind, type SamplerName } from '../core/index.js';
import { PAIR_PRESETS, PAPER_MAIN_GUIDANCE, resolvePair, type PairLegs } from './presets.js';
import { METHODS, type GenerateOptions, type MethodName } from './options.js';

/** What to sample with: the baselines of the paper's comparisons and W2SD itself. */
export { METHODS };

export type LegRole = 'main' | 'strong' | 'weak';

/** Methods that reflect (and so have λ and an inversion). */
export const REFLECTING: readonly MethodName[] = ['w2sd', 's2wd', 'self-reflection'];

/** A request with every default filled in and every enumerated value checked; nothing is opened yet. */
export interface Request {
  readonly steps: number;
  readonly batch: number;
  readonly seed: number;
  readonly sampler: SamplerName;
  readonly method: MethodName;
  readonly inversion: InversionKind;
  readonly legs: PairLegs;
  /** The legs the method evaluates. */
  readonly used: readonly LegRole[];
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: expected a positive integer, got ${v}`);
  return v;
}

/** The legs a method evaluates: main for ordinary sampling, all three for reflection. */
export function legsUsed(method: MethodName): LegRole[] {
  switch (method) {
    case 'cfg':
    case 'plain':
      return ['main'];
    case 'self-reflection':
      return ['main', 'strong'];
    case 'autoguidance':
      return ['strong', 'weak'];
    default:
      return ['main', 'strong', 'weak'];
  }
}

/** Checks the options that need no file and resolves the pair to its legs. */
export function resolveRequest(o: GenerateOptions): Request {
  const steps = positiveInt(o.steps ?? 50, 'steps');
  const batch = positiveInt(o.batch ?? 1, 'batch');
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed: expected a non-negative integer, got ${seed}`);
  const sampler = o.sampler ?? 'ddim';
  if (!SAMPLERS.includes(sampler)) throw new Error(`sampler: expected one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(sampler)}`);
  const hasPair = o.pair !== undefined || o.weakModel !== undefined || o.weakPrompt !== undefined || o.weakGuidance !== undefined;
  const method: MethodName = o.method ?? (hasPair ? 'w2sd' : 'cfg');
  if (!METHODS.includes(method)) throw new Error(`method: expected one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  const inversion = o.inversion ?? 'ddim';
  if (!INVERSIONS.includes(inversion)) throw new Error(`inversion: expected one of ${INVERSIONS.join(', ')}, got ${JSON.stringify(inversion)}`);
  if (o.pair === 'lora' && (o.weakModel !== undefined || o.strongModel !== undefined)) throw new Error('the lora pair runs every leg on --model; --weak-model and --strong-model do not apply');
  const legs = resolvePair({
    preset: o.pair,
    model: o.model,
    strongModel: o.strongModel,
    weakModel: o.weakModel,
    prompt: o.prompt,
    weakPrompt: o.weakPrompt,
    negativePrompt: o.negativePrompt,
    mainGuidance: method === 'plain' ? 1 : o.guidance ?? PAPER_MAIN_GUIDANCE,
    strongGuidance: o.strongGuidance,
    weakGuidance: o.weakGuidance,
    autoguidance: method === 'autoguidance',
    loraScales: o.loraScales,
  });
  const used = legsUsed(method);
  if (used.includes('weak') && !hasPair) {
    throw new Error(`method ${method} needs a pair: give --pair (${PAIR_PRESETS.join(', ')}) or a weak leg (--weak-model, --weak-guidance, --weak-prompt)`);
  }
  if (o.equalCompute && !REFLECTING.includes(method)) {
    throw new Error(`equal compute applies to reflection methods (w2sd, s2wd, self-reflection), not ${method}`);
  }
  const rescale = o.guidanceRescale;
  if (rescale !== undefined && !(rescale >= 0 && rescale <= 1)) throw new Error(`guidance rescale: expected a number in [0, 1], got ${rescale}`);
  if (o.clipSkip !== undefined && !(Number.isInteger(o.clipSkip) && o.clipSkip >= 0)) {
    throw new Error(`clip skip: expected a non-negative integer (layers before the text encoder's last), got ${o.clipSkip}`);
  }
  return { steps, batch, seed, sampler, method, inversion, legs, used };
}
