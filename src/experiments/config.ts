import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { INVERSIONS, SAMPLERS } from '../core/index.js';
import { METHODS, PAIR_PRESETS, REFLECTING as REFLECTING_METHODS, PAPER_MAIN_GUIDANCE, equalComputeFor, readSdFolder, resolvePair, type PairPreset } from '../pipelines/index.js';

// method names in a config are plain strings until checked
const REFLECTING: readonly string[] = REFLECTING_METHODS;
import { matchedGuidance, scheduleFor } from './matching.js';
import { loadPromptSet, type Prompt } from './prompts.js';
import { LABEL, PROMPT_SETS, SCORER_KINDS, type ExperimentConfig, type MethodSettings, type MethodSpec, type ScorerSpec } from './types.js';

/** Settings as stored in a row: everything `generate` needs besides prompt and seed. */
export type ResolvedSettings = MethodSettings & { readonly model: string; readonly steps: number; readonly width: number; readonly height: number; readonly sampler: string; readonly negativePrompt?: string };

export interface ResolvedExperiment {
  readonly config: ExperimentConfig;
  readonly configDir: string;
  readonly outDir: string;
  readonly prompts: readonly Prompt[];
  /** Seeds of one prompt. */
  readonly seedsOf: (p: Prompt) => readonly number[];
  readonly methods: ReadonlyMap<string, ResolvedSettings>;
  /** Labels of the baseline rows, in config order. */
  readonly baselines: readonly string[];
  readonly scorers: readonly ScorerSpec[];
  /** First-order matched scales with their ρ, by method label (documentation in reports). */
  readonly matched: ReadonlyMap<string, { to: string; guidance: number; rho: number }>;
}

const CONFIG_KEYS = ['experiment', 'model', 'weakModel', 'prompts', 'seeds', 'steps', 'width', 'height', 'sampler', 'negativePrompt', 'methods', 'scorers', 'out', 'threads', '$comment'];
const METHOD_KEYS = ['name', 'method', 'pair', 'guidance', 'strongGuidance', 'weakGuidance', 'strongModel', 'weakModel', 'lambda', 'inversion', 'repeats', 'equalCompute', 'autoguidanceWeight', 'steps', 'sampler', 'matchedTo', 'baseline'];

class ConfigError extends Error {}

function fail(where: string, msg: string): never {
  throw new ConfigError(`${where}: ${msg}`);
}

function obj(v: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, `expected an object, got ${JSON.stringify(v)}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(where, `unknown key ${JSON.stringify(k)} (allowed: ${keys.join(', ')})`);
  return o;
}

function num(v: unknown, where: string, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) fail(where, `expected ${opts.int ? 'an integer' : 'a finite number'}, got ${JSON.stringify(v)}`);
  if (opts.min !== undefined && v < opts.min) fail(where, `expected ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) fail(where, `expected ≤ ${opts.max}, got ${v}`);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') fail(where, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, list: readonly T[], where: string): T {
  if (typeof v !== 'string' || !(list as readonly string[]).includes(v)) fail(where, `expected one of ${list.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function label(v: unknown, where: string): string {
  if (typeof v !== 'string' || !LABEL.test(v)) fail(where, `expected a label matching [A-Za-z0-9._-]{1,64}, got ${JSON.stringify(v)}`);
  return v;
}

const opt = <T>(v: unknown, f: (v: unknown) => T): T | undefined => (v === undefined ? undefined : f(v));

function folder(v: unknown, where: string, base: string): string {
  const p = str(v, where);
  const full = isAbsolute(p) ? p : resolve(base, p);
  if (!existsSync(full)) fail(where, `folder ${full} not found`);
  try {
    readSdFolder(full);
  } catch (err) {
    fail(where, (err as Error).message);
  }
  return full;
}

function methodSpec(v: unknown, i: number): MethodSpec {
  const w = `methods[${i}]`;
  const o = obj(v, w, METHOD_KEYS);
  return {
    name: label(o.name, `${w}.name`),
    method: oneOf(o.method, METHODS, `${w}.method`),
    pair: opt(o.pair, (x) => oneOf(x, PAIR_PRESETS, `${w}.pair`)),
    guidance: opt(o.guidance, (x) => (x === 'matched' ? 'matched' : num(x, `${w}.guidance (a number or "matched")`))),
    strongGuidance: opt(o.strongGuidance, (x) => num(x, `${w}.strongGuidance`)),
    weakGuidance: opt(o.weakGuidance, (x) => num(x, `${w}.weakGuidance`)),
    strongModel: opt(o.strongModel, (x) => str(x, `${w}.strongModel`)),
    weakModel: opt(o.weakModel, (x) => str(x, `${w}.weakModel`)),
    lambda: opt(o.lambda, (x) => num(x, `${w}.lambda`, { int: true, min: 0 })),
    inversion: opt(o.inversion, (x) => oneOf(x, INVERSIONS, `${w}.inversion`)),
    repeats: opt(o.repeats, (x) => num(x, `${w}.repeats`, { int: true, min: 1, max: 16 })),
    equalCompute: opt(o.equalCompute, (x) => (typeof x === 'boolean' ? x : fail(`${w}.equalCompute`, `expected true or false, got ${JSON.stringify(x)}`))),
    autoguidanceWeight: opt(o.autoguidanceWeight, (x) => num(x, `${w}.autoguidanceWeight`)),
    steps: opt(o.steps, (x) => num(x, `${w}.steps`, { int: true, min: 1, max: 1000 })),
    sampler: opt(o.sampler, (x) => oneOf(x, SAMPLERS, `${w}.sampler`)),
    matchedTo: opt(o.matchedTo, (x) => label(x, `${w}.matchedTo`)),
    baseline: opt(o.baseline, (x) => (typeof x === 'boolean' ? x : fail(`${w}.baseline`, `expected true or false, got ${JSON.stringify(x)}`))),
  };
}

function scorerSpec(v: unknown, i: number, base: string): ScorerSpec {
  const w = `scorers[${i}]`;
  const o = obj(v, w, ['name', 'kind', 'path', 'head', 'references']);
  const path = str(o.path, `${w}.path`);
  const head = opt(o.head, (x) => str(x, `${w}.head`));
  const refs = opt(o.references, (x) => str(x, `${w}.references`));
  const kind = oneOf(o.kind, SCORER_KINDS, `${w}.kind`);
  if ((kind === 'clip-i' || kind === 'dino') && !refs) fail(w, `${kind} needs "references": a folder of the subject's reference images`);
  return { name: label(o.name, `${w}.name`), kind, path: resolve(base, path), head: head && resolve(base, head), references: refs && resolve(base, refs) };
}

/** Parses and checks a config object; every problem is reported before any model is loaded. */
export function resolveExperiment(raw: unknown, configPath: string): ResolvedExperiment {
  const base = dirname(resolve(configPath));
  const o = obj(raw, 'config', CONFIG_KEYS);
  const experiment = label(o.experiment, 'experiment');
  const model = folder(o.model, 'model', base);
  const weakModel = opt(o.weakModel, (x) => folder(x, 'weakModel', base));
  const po = obj(o.prompts, 'prompts', ['set', 'file', 'list', 'limit']);
  const set = oneOf(po.set, PROMPT_SETS, 'prompts.set');
  const list = opt(po.list, (x) => (Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : fail('prompts.list', 'expected an array of strings')));
  const prompts = loadPromptSet({ set, list, file: opt(po.file, (x) => resolve(base, str(x, 'prompts.file'))), limit: opt(po.limit, (x) => num(x, 'prompts.limit', { int: true, min: 1 })) });
  let seedsOf: (p: Prompt) => readonly number[];
  if (o.seeds === 'index') seedsOf = (p) => [p.index];
  else if (Array.isArray(o.seeds) && o.seeds.length > 0) {
    const seeds = o.seeds.map((s, i) => num(s, `seeds[${i}]`, { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }));
    if (new Set(seeds).size !== seeds.length) fail('seeds', 'a seed appears twice');
    seedsOf = () => seeds;
  } else fail('seeds', `expected "index" or a non-empty array of non-negative integers, got ${JSON.stringify(o.seeds)}`);
  const steps = num(o.steps, 'steps', { int: true, min: 1, max: 1000 });
  const folderInfo = readSdFolder(model);
  const width = opt(o.width, (x) => num(x, 'width', { int: true, min: 8, max: 4096 })) ?? folderInfo.defaultSize.width;
  const height = opt(o.height, (x) => num(x, 'height', { int: true, min: 8, max: 4096 })) ?? folderInfo.defaultSize.height;
  const sampler = opt(o.sampler, (x) => oneOf(x, SAMPLERS, 'sampler')) ?? 'ddim';
  const negativePrompt = opt(o.negativePrompt, (x) => (typeof x === 'string' ? x : fail('negativePrompt', 'expected a string')));
  if (o.threads !== undefined) num(o.threads, 'threads', { int: true, min: 1, max: 256 });
  if (!Array.isArray(o.methods) || o.methods.length === 0) fail('methods', 'expected a non-empty array');
  const specs = o.methods.map(methodSpec);
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) fail('methods', `the name ${s.name} appears twice`);
    names.add(s.name);
  }
  if (!Array.isArray(o.scorers)) fail('scorers', 'expected an array (may be empty)');
  const scorers = o.scorers.map((s, i) => scorerSpec(s, i, base));
  const scorerNames = new Set(scorers.map((s) => s.name));
  if (scorerNames.size !== scorers.length) fail('scorers', 'a name appears twice');

  const methods = new Map<string, ResolvedSettings>();
  // the legs' scales only (models and prompts do not change what a leg costs)
  const legsOf = (pair: string | undefined, mainGuidance: number, strongGuidance?: number, weakGuidance?: number) =>
    resolvePair({ preset: pair as PairPreset | undefined, model, weakModel: model, prompt: 'x', weakPrompt: 'x', mainGuidance, strongGuidance, weakGuidance });
  const resolveSpec = (s: MethodSpec, guidance: number): ResolvedSettings => {
    const w = `methods[${specs.indexOf(s)}] (${s.name})`;
    const mSteps = s.steps ?? steps;
    const reflecting = REFLECTING.includes(s.method);
    if (s.equalCompute && !reflecting) fail(w, `equalCompute applies to ${REFLECTING.join(', ')}, not ${s.method}`);
    const ec = s.equalCompute ? equalComputeFor(legsOf(s.pair, guidance, s.strongGuidance, s.weakGuidance), mSteps, s.repeats ?? 1, s.method === 'self-reflection') : undefined;
    const lambda = reflecting ? (ec ? ec.lambda : s.lambda ?? mSteps - 1) : undefined;
    if (lambda !== undefined && lambda >= (ec ? ec.steps : mSteps)) fail(w, `lambda ${lambda}: expected 0 ≤ λ < T = ${mSteps}`);
    const weak = s.weakModel !== undefined ? folder(s.weakModel, `${w}.weakModel`, base) : weakModel;
    const strong = s.strongModel !== undefined ? folder(s.strongModel, `${w}.strongModel`, base) : undefined;
    if ((s.pair === 'weights' || s.pair === 'cumulative' || s.method === 'autoguidance') && !weak) fail(w, `needs a weak model folder (weakModel here or in the config)`);
    if (s.pair === 'prompt') fail(w, 'the prompt pair needs a raw prompt per item, which prompt sets do not carry; not supported in experiments');
    if (['w2sd', 's2wd'].includes(s.method) && !s.pair && !weak && s.weakGuidance === undefined) fail(w, `${s.method} needs a pair (pair, weakModel or weakGuidance)`);
    return {
      method: s.method,
      model,
      ...(s.pair ? { pair: s.pair } : {}),
      guidance: s.method === 'plain' ? 1 : guidance,
      ...(s.strongGuidance !== undefined ? { strongGuidance: s.strongGuidance } : {}),
      ...(s.weakGuidance !== undefined ? { weakGuidance: s.weakGuidance } : {}),
      ...(strong ? { strongModel: strong } : {}),
      ...(weak && (s.pair || s.method === 'autoguidance' || ['w2sd', 's2wd'].includes(s.method)) ? { weakModel: weak } : {}),
      ...(lambda !== undefined ? { lambda, inversion: s.inversion ?? 'ddim', repeats: s.repeats ?? 1 } : {}),
      ...(ec ? { equalCompute: true } : {}),
      ...(s.method === 'autoguidance' ? { autoguidanceWeight: s.autoguidanceWeight ?? 2 } : {}),
      steps: mSteps,
      sampler: s.sampler ?? sampler,
      width,
      height,
      ...(negativePrompt !== undefined ? { negativePrompt } : {}),
    };
  };
  const matched = new Map<string, { to: string; guidance: number; rho: number }>();
  for (const s of specs) {
    if (s.guidance === 'matched') continue;
    if (s.matchedTo !== undefined) fail(`methods (${s.name})`, 'matchedTo goes with guidance "matched"');
    methods.set(s.name, resolveSpec(s, s.guidance ?? PAPER_MAIN_GUIDANCE));
  }
  for (const s of specs) {
    if (s.guidance !== 'matched') continue;
    const w = `methods (${s.name})`;
    if (s.method !== 'cfg') fail(w, `guidance "matched" is for cfg rows, not ${s.method}`);
    const target = s.matchedTo === undefined ? fail(w, 'guidance "matched" needs matchedTo: the label of a reflection method') : methods.get(s.matchedTo);
    if (!target || !REFLECTING.includes(target.method)) fail(w, `matchedTo ${JSON.stringify(s.matchedTo)}: expected the label of a w2sd, s2wd or self-reflection row with a numeric guidance`);
    const legs = resolvePair({ preset: target.pair as PairPreset | undefined, model, weakModel: target.weakModel, prompt: 'x', weakPrompt: 'x', mainGuidance: target.guidance, strongGuidance: target.strongGuidance, weakGuidance: target.weakGuidance });
    const selfRefl = target.method === 'self-reflection';
    const ec = target.equalCompute ? equalComputeFor(legs, target.steps, target.repeats ?? 1, selfRefl) : undefined;
    const tSteps = ec ? ec.steps : target.steps;
    const m = matchedGuidance(
      { mainGuidance: target.guidance!, strongGuidance: legs.strong.guidance, weakGuidance: selfRefl ? legs.strong.guidance : legs.weak.guidance, steps: tSteps, lambda: target.lambda!, repeats: target.repeats },
      scheduleFor(folderInfo.scheduler, target.sampler, tSteps),
    );
    // s2wd swaps the legs: its term has the opposite sign
    const g = target.method === 's2wd' ? 2 * target.guidance! - m.guidance : m.guidance;
    matched.set(s.name, { to: s.matchedTo!, guidance: g, rho: m.rho });
    methods.set(s.name, resolveSpec(s, g));
  }
  const order = specs.map((s) => s.name);
  const ordered = new Map(order.map((n) => [n, methods.get(n)!]));
  const out = opt(o.out, (x) => resolve(base, str(x, 'out'))) ?? resolve(base, 'runs', experiment);
  return {
    config: o as unknown as ExperimentConfig,
    configDir: base,
    outDir: out,
    prompts,
    seedsOf,
    methods: ordered,
    baselines: specs.filter((s) => s.baseline).map((s) => s.name),
    scorers,
    matched,
  };
}

export function readExperimentConfig(path: string): ResolvedExperiment {
  const full = resolve(path);
  if (!existsSync(full)) throw new Error(`config ${full}: not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (err) {
    throw new Error(`config ${full}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return resolveExperiment(raw, full);
  } catch (err) {
    throw new Error(`config ${full}: ${(err as Error).message}`);
  }
}
