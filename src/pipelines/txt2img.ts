import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
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
  INVERSIONS,
  SAMPLERS,
  type Denoiser,
  type InversionKind,
  type Method,
  type SamplerName,
  type Schedule,
} from '../core/index.js';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import type { OnnxSession } from '../models/onnx/session.js';
import { openSdModel, type SdModel } from '../models/sd/model.js';
import type { DecodedImage } from '../models/sd/vae.js';
import { writeFilesAtomically } from './atomic.js';
import { buildLeg, type BuiltLeg, type LegSpec } from './legs.js';
import { asciiJson, encodePng } from './png.js';
import { PAIR_PRESETS, PAPER_MAIN_GUIDANCE, equalComputeSteps, resolvePair, type PairPreset, type PairRequest } from './presets.js';
import type { LoraSpec } from '../models/lora/apply.js';
import { loraModelFolder } from './lora.js';

/** What to sample with: the baselines of the paper's comparisons and W2SD itself. */
export const METHODS = ['cfg', 'plain', 'w2sd', 's2wd', 'self-reflection', 'autoguidance'] as const;
export type MethodName = (typeof METHODS)[number];

export interface GenerateOptions {
  /** The main model folder (also the strong one unless `strongModel` is given). */
  readonly model: string;
  readonly prompt: string;
  /** undefined: none (SDXL: zero embedding); "" is the encoded empty text, as in diffusers. */
  readonly negativePrompt?: string;
  readonly width?: number;
  readonly height?: number;
  /** T, default 50 (paper). */
  readonly steps?: number;
  readonly seed?: number;
  readonly batch?: number;
  /** Default ddim (η = 0), the paper's sampler. */
  readonly sampler?: SamplerName;
  readonly eta?: number;
  /** Default: w2sd when a pair is given, cfg otherwise. */
  readonly method?: MethodName;
  /** Main leg's guidance (paper 5.5). */
  readonly guidance?: number;
  readonly pair?: PairPreset;
  readonly strongModel?: string;
  readonly weakModel?: string;
  readonly weakPrompt?: string;
  readonly strongGuidance?: number;
  readonly weakGuidance?: number;
  /** λ, default T − 1 (paper). Ignored with `equalCompute`. */
  readonly lambda?: number;
  readonly inversion?: InversionKind;
  readonly repeats?: number;
  /** Paper §5.2: T' = ⌊T/2⌋ steps and λ = ⌊T'/2⌋. */
  readonly equalCompute?: boolean;
  /** Autoguidance weight w in D_w + w·(D_s − D_w); 2 is the paper's Table 15 setting ("w = 1" there). */
  readonly autoguidanceWeight?: number;
  /** LoRA files applied to `model`: merged at their scales, or with `pair: 'lora'` one file at the legs' scales. */
  readonly loras?: readonly LoraSpec[];
  /** The lora pair's scales (defaults main 0.8, strong +0.8, weak −1.5: the official code's). */
  readonly loraScales?: PairRequest['loraScales'];
  readonly runtime?: RuntimeOptions;
  /** PNG path; with batch > 1, `-0`, `-1`, … are added before `.png`. Absent: nothing is written. */
  readonly output?: string;
  readonly onProgress?: (p: GenerateProgress) => void;
  readonly signal?: AbortSignal;
  readonly warn?: (msg: string) => void;
}

export interface GenerateProgress {
  readonly step: number;
  readonly steps: number;
  readonly evaluations: number;
  readonly expectedEvaluations: number;
  readonly elapsedMs: number;
}

export interface GenerateResult {
  readonly family: string;
  readonly method: MethodName;
  readonly pair?: PairPreset;
  readonly legs: Readonly<Record<string, LegSpec>>;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly batch: number;
  readonly sampler: SamplerName;
  /** Sampling steps actually taken (⌊T/2⌋ with equal compute). */
  readonly steps: number;
  readonly lambda?: number;
  readonly inversion?: InversionKind;
  /** Model evaluations counted at the denoiser (a CFG batch of 2B is one), by leg. */
  readonly evaluations: number;
  readonly evaluationsByLeg: Readonly<Record<string, number>>;
  readonly expectedEvaluations: number;
  /** ONNX Runtime calls per UNet file during sampling (legs sharing a file share its count). */
  readonly unetRuns: Readonly<Record<string, number>>;
  readonly latents: Float32Array;
  readonly latentShape: readonly number[];
  readonly images: readonly DecodedImage[];
  readonly files: readonly string[];
  readonly timingsMs: { readonly prepare: number; readonly sample: number; readonly unet: number; readonly decode: number; readonly total: number };
  readonly warnings: readonly string[];
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: expected a positive integer, got ${v}`);
  return v;
}

/** The legs a method evaluates: main for ordinary sampling, all three for reflection. */
function legsUsed(method: MethodName): ('main' | 'strong' | 'weak')[] {
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

interface LatentSpace {
  readonly channels: number;
  readonly factor?: number;
  readonly scaling: number;
  /** latents_mean / latents_std of the VAE config, as text ('none' when absent). */
  readonly stats: string;
}

async function latentSpaceOf(m: SdModel, probe: boolean): Promise<LatentSpace> {
  const factor = m.folder.vaeScaleFactor ?? (probe ? await m.vaeScaleFactor() : undefined);
  const { vaeLatentsMean: mean, vaeLatentsStd: std } = m.folder;
  return { channels: await m.latentChannels(), factor, scaling: m.folder.vaeScalingFactor, stats: mean && std ? JSON.stringify({ mean, std }) : 'none' };
}

/** A pair must share one latent space: same channels, same VAE (factor, scaling, latent statistics). Text encoders may differ. */
async function checkLatentSpaces(main: SdModel, others: { role: string; model: SdModel }[], warn: (m: string) => void): Promise<LatentSpace> {
  const ref = await latentSpaceOf(main, true);
  for (const { role, model } of others) {
    if (model === main) continue;
    const ls = await latentSpaceOf(model, existsSync(model.folder.components.vaeDecoder));
    const problems: string[] = [];
    if (ls.channels !== ref.channels) problems.push(`${ls.channels} latent channels vs ${ref.channels}`);
    if (ls.factor !== undefined && ls.factor !== ref.factor) problems.push(`VAE factor ${ls.factor} vs ${ref.factor}`);
    if (ls.scaling !== ref.scaling) problems.push(`VAE scaling_factor ${ls.scaling} vs ${ref.scaling}`);
    if (ls.stats !== ref.stats) problems.push(`VAE latents_mean/latents_std ${ls.stats} vs ${ref.stats}`);
    if (problems.length > 0) {
      throw new Error(`the ${role} model ${model.folder.dir} (${model.family}) does not share the main model's latent space (${main.folder.dir}, ${main.family}): ${problems.join(', ')}`);
    }
    if (ls.factor === undefined) warn(`the ${role} model ${model.folder.dir} states no VAE factor and has no VAE decoder to measure it: assumed equal to the main model's`);
  }
  return ref;
}

function outputPaths(output: string, batch: number): string[] {
  if (extname(output).toLowerCase() !== '.png') throw new Error(`output ${output}: expected a .png file name`);
  const full = resolve(output);
  if (batch === 1) return [full];
  const stem = full.slice(0, -4);
  return Array.from({ length: batch }, (_, b) => `${stem}-${b}.png`);
}

function describeLeg(l: LegSpec): string {
  return `${basename(l.model)} @ CFG ${l.guidance} "${l.prompt}"`;
}

/**
 * Text to image with Stable Diffusion (ONNX) and any of the methods above. Everything is checked before
 * the first model evaluation; the PNGs appear only once all of them are complete.
 */
export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    o.warn?.(m);
  };
  const steps = positiveInt(o.steps ?? 50, 'steps');
  const batch = positiveInt(o.batch ?? 1, 'batch');
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed: expected a non-negative integer, got ${seed}`);
  const samplerName = o.sampler ?? 'ddim';
  if (!SAMPLERS.includes(samplerName)) throw new Error(`sampler: expected one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(samplerName)}`);
  const hasPair = o.pair !== undefined || o.weakModel !== undefined || o.weakPrompt !== undefined || o.weakGuidance !== undefined;
  const method: MethodName = o.method ?? (hasPair ? 'w2sd' : 'cfg');
  if (!METHODS.includes(method)) throw new Error(`method: expected one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  const inversion = o.inversion ?? 'ddim';
  if (!INVERSIONS.includes(inversion)) throw new Error(`inversion: expected one of ${INVERSIONS.join(', ')}, got ${JSON.stringify(inversion)}`);
  if (o.pair === 'lora' && (o.weakModel !== undefined || o.strongModel !== undefined)) throw new Error('the lora pair runs every leg on --model; --weak-model and --strong-model do not apply');
  const request: PairRequest = {
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
    loraScales: o.loraScales,
  };
  resolvePair(request); // every pair option checked before any LoRA is applied
  const model = loraModelFolder(o.model, o.loras, o.pair, warn);
  const pairLegs = resolvePair({ ...request, model });
  const used = legsUsed(method);
  if (used.includes('weak') && !hasPair) {
    throw new Error(`method ${method} needs a pair: give --pair (${PAIR_PRESETS.join(', ')}) or a weak leg (--weak-model, --weak-guidance, --weak-prompt)`);
  }
  if (o.equalCompute && !['w2sd', 's2wd', 'self-reflection'].includes(method)) {
    throw new Error(`equal compute applies to reflection methods (w2sd, s2wd, self-reflection), not ${method}`);
  }
  const runtime = o.runtime ?? {};

  // Open the folders (configs and files only) and fix the geometry before loading any network.
  const mainModel = openSdModel(model, runtime, { vaeDecoder: true });
  // only the main folder decodes: a strong or weak folder may come without a VAE decoder
  const legModels = used.map((role) => ({ role, model: openSdModel(pairLegs[role].model, runtime, { vaeDecoder: false }) }));
  const space = await checkLatentSpaces(mainModel, legModels, warn);
  const factor = space.factor!;
  const width = o.width ?? mainModel.folder.defaultSize.width;
  const height = o.height ?? mainModel.folder.defaultSize.height;
  const multiple = 8 * factor;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < multiple || v % multiple !== 0) {
      throw new Error(`${name} ${v}: expected a positive multiple of ${multiple} (8 × the VAE factor ${factor})`);
    }
  }
  const files = o.output !== undefined ? outputPaths(o.output, batch) : [];
  const latentShape = [batch, space.channels, height / factor, width / factor];

  // Each distinct leg is built once (a guidance pair's main and strong legs are the same leg).
  const built = new Map<string, Promise<BuiltLeg>>();
  const leg = (role: 'main' | 'strong' | 'weak'): Promise<BuiltLeg> => {
    const spec = pairLegs[role];
    const key = JSON.stringify(spec);
    let b = built.get(key);
    if (!b) {
      b = buildLeg(spec, { runtime, batch, width, height, warn, needVae: role === 'main' });
      built.set(key, b);
    }
    return b;
  };
  const legs: Partial<Record<'main' | 'strong' | 'weak', BuiltLeg>> = {};
  for (const role of used) legs[role] = await leg(role);
  o.signal?.throwIfAborted();

  const counter = new CallCounter();
  const den = (role: 'main' | 'strong' | 'weak'): Denoiser => counter.wrap(legs[role]!.denoiser, role);
  const schedulerConfig = mainModel.folder.scheduler;
  const schedule = (t: number): Schedule => (samplerName === 'ddim' ? ddimSchedule(schedulerConfig, t) : eulerSchedule(schedulerConfig, t));
  // diffusers' DDIM schedulers process x0 by the config (PNDM configs without clip_sample clip by default),
  // the official code's reflection steps included
  const x0 = samplerName === 'ddim' ? x0ProcessingOf(schedulerConfig) : undefined;
  const sampler = samplerName === 'ddim' ? ddim({ ...x0, eta: o.eta }) : samplerByName(samplerName, { eta: o.eta });
  const settings = { inversion, repeats: o.repeats, x0 };
  const ec = o.equalCompute ? equalComputeSteps(steps) : undefined;
  if (ec && o.lambda !== undefined && o.lambda !== ec.lambda) warn(`lambda ${o.lambda} ignored: equal compute sets λ = ⌊T′/2⌋ = ${ec.lambda}`);
  const lambda = ec ? ec.lambda : o.lambda ?? steps - 1;
  const reflectionLegs = () => ({ main: den('main'), strong: den('strong'), weak: den('weak') });
  let m: Method;
  switch (method) {
    case 'cfg':
    case 'plain':
      m = plain(method, den('main'));
      break;
    case 'autoguidance':
      m = autoguided(method, den('strong'), den('weak'), o.autoguidanceWeight ?? 2);
      break;
    case 'self-reflection': {
      const l = { main: den('main'), strong: den('strong'), weak: den('strong') };
      m = ec ? equalCompute(method, l, settings) : selfReflection(method, l, { ...settings, lambda });
      break;
    }
    case 's2wd': {
      const l = reflectionLegs();
      m = ec ? equalCompute(method, { main: l.main, strong: l.weak, weak: l.strong }, settings) : s2wd(method, l, { ...settings, lambda });
      break;
    }
    default:
      m = ec ? equalCompute(method, reflectionLegs(), settings) : w2sd(method, reflectionLegs(), { ...settings, lambda });
  }
  const takenSteps = ec ? ec.steps : steps;
  // Heun evaluates twice per step except the last (to σ = 0, an Euler step); reflection steps are single
  const mainCalls = (t: number) => (samplerName === 'heun' ? 2 * t - 1 : t);
  const expectedEvaluations = method === 'autoguidance' ? 2 * mainCalls(steps) : m.nfe(steps) + mainCalls(takenSteps) - takenSteps;

  const unetSessions = new Set<OnnxSession>();
  for (const l of Object.values(legs)) unetSessions.add((await l!.model.unet()).session);
  const before = new Map([...unetSessions].map((s) => [s, { runs: s.stats.runs, ms: s.stats.ms }]));
  const tPrepared = performance.now();
  const noise = tensor(batchGaussian(seed, latentShape), latentShape);
  const latentsSigma = await m.run({
    sampler,
    schedule,
    steps,
    noise,
    sampleOptions: {
      noise: stepNoise(seed),
      onStep: (i) => {
        o.signal?.throwIfAborted();
        o.onProgress?.({ step: i + 1, steps: takenSteps, evaluations: counter.total, expectedEvaluations, elapsedMs: performance.now() - t0 });
      },
    },
  });
  const tSampled = performance.now();
  assertFinite(latentsSigma, 'final latent');
  // σ space → diffusers' x_t at the last level (x_t = x/√(1+σ²); σ_final is 0 or DDIM's ᾱ_0 boundary).
  const finalSigma = schedule(takenSteps).final.sigma;
  const latents = latentsSigma.map((v) => v / Math.sqrt(1 + finalSigma * finalSigma));
  const unetRuns: Record<string, number> = {};
  let unetMs = 0;
  for (const s of unetSessions) {
    unetRuns[s.path] = s.stats.runs - before.get(s)!.runs;
    unetMs += s.stats.ms - before.get(s)!.ms;
  }

  o.signal?.throwIfAborted();
  const vae = await mainModel.vae();
  const images = await vae.decode(latents, latentShape);
  const tDecoded = performance.now();
  const legSpecs = Object.fromEntries(used.map((r) => [r, pairLegs[r]]));
  if (files.length > 0) {
    mkdirSync(dirname(files[0]), { recursive: true });
    const summary = {
      model: mainModel.folder.dir,
      family: mainModel.family,
      method,
      pair: o.pair,
      legs: legSpecs,
      negativePrompt: o.negativePrompt,
      sampler: samplerName,
      steps: takenSteps,
      lambda: ['w2sd', 's2wd', 'self-reflection'].includes(method) ? lambda : undefined,
      inversion: ['w2sd', 's2wd', 'self-reflection'].includes(method) ? inversion : undefined,
      equalCompute: o.equalCompute ?? false,
      seed,
      width,
      height,
      evaluations: counter.total,
    };
    const pngs = images.map((img, b) => {
      const params = [
        pairLegs.main.prompt,
        ...(o.negativePrompt !== undefined ? [`Negative prompt: ${o.negativePrompt}`] : []),
        [
          `Steps: ${takenSteps}`,
          `Sampler: ${samplerName}`,
          `CFG scale: ${pairLegs.main.guidance}`,
          `Seed: ${seed}`,
          `Batch item: ${b}`,
          `Size: ${width}x${height}`,
          `Model: ${basename(mainModel.folder.dir)}`,
          `Method: ${method}`,
          ...(o.pair ? [`Pair: ${o.pair}`] : []),
          ...(used.includes('strong') ? [`Strong: ${describeLeg(pairLegs.strong)}`] : []),
          ...(used.includes('weak') ? [`Weak: ${describeLeg(pairLegs.weak)}`] : []),
          ...(summary.lambda !== undefined ? [`Lambda: ${lambda}`, `Inversion: ${inversion}`] : []),
        ].join(', '),
      ].join('\n');
      return { path: files[b], data: encodePng(img.rgb, img.width, img.height, { parameters: params, w2sd: asciiJson({ ...summary, batchItem: b }) }) };
    });
    writeFilesAtomically(pngs, o.signal);
  }
  const tEnd = performance.now();
  return {
    family: mainModel.family,
    method,
    pair: o.pair,
    legs: legSpecs,
    width,
    height,
    seed,
    batch,
    sampler: samplerName,
    steps: takenSteps,
    lambda: ['w2sd', 's2wd', 'self-reflection'].includes(method) ? lambda : undefined,
    inversion: ['w2sd', 's2wd', 'self-reflection'].includes(method) ? inversion : undefined,
    evaluations: counter.total,
    evaluationsByLeg: counter.byLabel(),
    expectedEvaluations,
    unetRuns,
    latents,
    latentShape,
    images,
    files,
    timingsMs: { prepare: tPrepared - t0, sample: tSampled - tPrepared, unet: unetMs, decode: tDecoded - tSampled, total: tEnd - t0 },
    warnings,
  };
}
