import { existsSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { INVERSIONS, SAMPLERS, type InversionKind, type SamplerName } from '../core/index.js';
import { PROVIDERS, parseProvider } from '../models/onnx/providers.js';
import { METHODS, generate, type GenerateOptions, type GenerateProgress, type GenerateResult, type MethodName } from '../pipelines/txt2img.js';
import { PAIR_PRESETS, type PairPreset } from '../pipelines/presets.js';
import { GENERATE_RANGES } from '../pipelines/ranges.js';
import { resultSummary } from '../pipelines/summary.js';

import { withOutputSet } from '../pipelines/atomic.js';
import { GENERATE_RULES, checkApplicability, givenOptions } from './applicability.js';
import { checkBudget, defaultMaxMemoryMiB, maxMemoryOption, type Need } from './budget.js';
import { runSignal } from './cancel.js';
import { checkOutputFile, readTextFile } from './paths.js';
import { defaultedScheduleFields, parseSchedulerConfig } from '../core/schedules/config.js';
import { OptionError, parseEnum, parseInteger, parseNumber } from './validate.js';
import { parseLoraSpec } from '../models/lora/apply.js';

interface RawOptions {
  model: string;
  prompt: string;
  negative?: string;
  width?: string;
  height?: string;
  steps: string;
  seed: string;
  batch: string;
  guidance?: string;
  sampler: string;
  eta?: string;
  method?: string;
  pair?: string;
  strongModel?: string;
  weakModel?: string;
  weakPrompt?: string;
  strongGuidance?: string;
  weakGuidance?: string;
  lambda?: string;
  inversion: string;
  equalCompute?: boolean;
  agWeight?: string;
  provider: string;
  threads?: string;
  out: string;
  json?: boolean;
  progress: boolean;
  guidanceRescale?: string;
  clipSkip?: string;
  maxMemory?: string;
  lora?: string[];
  loraMainScale?: string;
  loraStrongScale?: string;
  loraWeakScale?: string;
}

export { GENERATE_RANGES };

const opt = <T>(v: string | undefined, parse: (s: string) => T): T | undefined => (v === undefined ? undefined : parse(v));

/**
 * Memory of a generate run, roughly: per image and CFG half, the UNet's widest activations (320 channels at
 * the latent's full resolution, float32, a dozen alive at once) and the decoded image.
 */
export function generateNeed(o: { batch: number; width: number; height: number }): Need {
  const latentPixels = (o.width / 8) * (o.height / 8);
  const memoryBytes = o.batch * 2 * latentPixels * 320 * 4 * 12 + o.batch * o.width * o.height * 3 * 4 * 4;
  return { memoryBytes, drivers: `--batch ${o.batch} at ${o.width} × ${o.height}` };
}

/**
 * A scheduler config that leaves out schedule-deciding fields runs on diffusers' defaults: said before the run,
 * by field and value, never applied silently. (Malformed values are refused when the folder is opened.)
 */
export function schedulerDefaultsWarning(modelDir: string): string | undefined {
  const path = join(modelDir, 'scheduler', 'scheduler_config.json');
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readTextFile(path, '--model', 'a JSON scheduler config'));
  } catch {
    return undefined; // the folder reader names the problem
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const absent = defaultedScheduleFields(json as Record<string, unknown>, parseSchedulerConfig(json, path));
  if (absent.length === 0) return undefined;
  return `${path} does not set ${absent.map((a) => a.field).join(', ')}; using the defaults ${absent.map((a) => `${a.field} = ${JSON.stringify(a.value)}`).join(', ')}`;
}

export function toGenerateOptions(raw: RawOptions): GenerateOptions {
  return generatePlan(raw, new Set()).options;
}

/** Everything the command line says, checked before a model folder is opened; warnings for lenient rules. */
export function generatePlan(raw: RawOptions, given: ReadonlySet<string>): { options: GenerateOptions; warnings: string[] } {
  const R = GENERATE_RANGES;
  const steps = parseInteger(raw.steps, '--steps', R.steps);
  const batch = parseInteger(raw.batch, '--batch', R.batch);
  const sampler = parseEnum<SamplerName>(raw.sampler, '--sampler', SAMPLERS);
  const pair = opt(raw.pair, (v) => parseEnum<PairPreset>(v, '--pair', PAIR_PRESETS));
  const hasPair = pair !== undefined || raw.weakModel !== undefined || raw.weakPrompt !== undefined || raw.weakGuidance !== undefined;
  const method = opt(raw.method, (v) => parseEnum<MethodName>(v, '--method', METHODS));
  const resolved = method ?? (hasPair ? 'w2sd' : 'cfg');
  const warnings = checkApplicability(GENERATE_RULES, { method: resolved, sampler }, given, `--method ${resolved} with --sampler ${sampler}`);
  const threads = opt(raw.threads, (v) => parseInteger(v, '--threads', R.threads));
  const width = opt(raw.width, (v) => parseInteger(v, '--width', R.size));
  const height = opt(raw.height, (v) => parseInteger(v, '--height', R.size));
  if (width !== undefined || height !== undefined) {
    checkBudget(generateNeed({ batch, width: width ?? height!, height: height ?? width! }), { maxMemoryBytes: maxMemoryOption(raw.maxMemory) });
  }
  if (raw.out !== undefined) {
    if (extname(raw.out).toLowerCase() !== '.png') throw new OptionError(`--out ${raw.out}: expected a .png file name`);
    const stem = raw.out.slice(0, -4);
    for (const f of batch === 1 ? [raw.out] : Array.from({ length: batch }, (_, b) => `${stem}-${b}.png`)) checkOutputFile(f, '--out');
  }
  const options: GenerateOptions = {
    model: raw.model,
    prompt: raw.prompt,
    negativePrompt: raw.negative,
    width,
    height,
    steps,
    seed: parseInteger(raw.seed, '--seed', R.seed),
    batch,
    guidance: opt(raw.guidance, (v) => parseNumber(v, '--guidance', R.guidance)),
    sampler,
    eta: opt(raw.eta, (v) => parseNumber(v, '--eta', R.eta)),
    method,
    pair,
    strongModel: raw.strongModel,
    weakModel: raw.weakModel,
    weakPrompt: raw.weakPrompt,
    strongGuidance: opt(raw.strongGuidance, (v) => parseNumber(v, '--strong-guidance', R.guidance)),
    weakGuidance: opt(raw.weakGuidance, (v) => parseNumber(v, '--weak-guidance', R.guidance)),
    lambda: opt(raw.lambda, (v) => parseInteger(v, '--lambda', { min: 0, max: steps - 1 })),
    inversion: parseEnum<InversionKind>(raw.inversion, '--inversion', INVERSIONS),
    equalCompute: raw.equalCompute ?? false,
    autoguidanceWeight: opt(raw.agWeight, (v) => parseNumber(v, '--ag-weight', R.guidance)),
    runtime: { provider: parseProvider(raw.provider), ...(threads !== undefined ? { threads } : {}) },
    output: raw.out,
    guidanceRescale: opt(raw.guidanceRescale, (v) => parseNumber(v, '--guidance-rescale', R.guidanceRescale)),
    clipSkip: opt(raw.clipSkip, (v) => parseInteger(v, '--clip-skip', R.clipSkip)),
    ...loraOptions(raw),
  };
  return { options, warnings };
}

function loraOptions(raw: RawOptions): Pick<GenerateOptions, 'loras' | 'loraScales'> {
  const loras = raw.lora?.map((f) => parseLoraSpec(f));
  const R = GENERATE_RANGES.loraScale;
  const scales = {
    main: opt(raw.loraMainScale, (v) => parseNumber(v, '--lora-main-scale', R)),
    strong: opt(raw.loraStrongScale, (v) => parseNumber(v, '--lora-strong-scale', R)),
    weak: opt(raw.loraWeakScale, (v) => parseNumber(v, '--lora-weak-scale', R)),
  };
  const anyScale = Object.values(scales).some((v) => v !== undefined);
  return { ...(loras ? { loras } : {}), ...(anyScale ? { loraScales: scales } : {}) };
}

/** Step, model evaluations and ETA on stderr (stdout stays clean for --json). */
function progressBar(enabled: boolean): { update(p: GenerateProgress): void; stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(p) {
      if (!enabled) return;
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: 'generate [{bar}] step {value}/{total} | evaluations {evals}/{expected} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, etaBuffer: 5 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.steps, 0, { evals: 0, expected: p.expectedEvaluations });
      }
      bar.update(p.step, { evals: p.evaluations, expected: p.expectedEvaluations });
    },
    stop: () => bar?.stop(),
  };
}

/** Where the command writes; tests pass their own. */
export interface GenerateIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: GenerateIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

async function action(raw: RawOptions, io: GenerateIo, cmd: Command): Promise<void> {
  const { options: opts, warnings } = generatePlan(raw, givenOptions(cmd));
  const warn = (m: string) => {
    if (!raw.json) io.err(`warning: ${m}\n`);
  };
  for (const w of warnings) warn(w);
  const defaults = schedulerDefaultsWarning(opts.model);
  if (defaults) warn(defaults);
  const bar = progressBar(raw.progress && !raw.json && process.stderr.isTTY === true);
  let result: GenerateResult;
  try {
    const claims = opts.output !== undefined ? [dirname(resolve(opts.output))] : [];
    result = await withOutputSet(() => generate({ ...opts, onProgress: (p) => bar.update(p), signal: runSignal, warn }), runSignal, claims);
  } finally {
    bar.stop();
  }
  if (raw.json) {
    io.out(JSON.stringify(resultSummary(result), null, 2) + '\n');
    return;
  }
  const t = result.timingsMs;
  io.out(
    `${result.method}${result.pair ? ` (${result.pair} pair)` : ''} on ${result.family}: ${result.steps} steps, ` +
      `${result.evaluations} model evaluations, ${(t.total / 1000).toFixed(1)} s (UNet ${(t.unet / 1000).toFixed(1)} s)\n` +
      `wrote ${result.files.join(', ')}\n`,
  );
}

/** `w2sd generate`: text to image on a Stable Diffusion ONNX folder with W2SD or a baseline. */
export function registerGenerate(program: Command, io: GenerateIo = STDIO): Command {
  return program
    .command('generate')
    .description('Text to image with Stable Diffusion 1.x/2.x/SDXL ONNX folders (optimum layout): W2SD pairs and baselines')
    .requiredOption('--model <dir>', 'main model folder (also the strong model unless --strong-model)')
    .requiredOption('--prompt <text>', 'prompt (the refined prompt of a prompt pair)')
    .option('--negative <text>', 'negative prompt (absent: SDXL uses zeros, SD 1.x/2.x the empty text)')
    .option('--out <file.png>', 'output PNG; with --batch > 1, -0, -1, … are added', 'out/image.png')
    .option('--width <px>', 'image width (default: the model’s size)')
    .option('--height <px>', 'image height (default: the model’s size)')
    .option('--steps <T>', 'sampling steps T', '50')
    .option('--seed <n>', 'seed of the initial noise', '0')
    .option('--batch <n>', 'images per run', '1')
    .option('--guidance <w>', 'main leg’s CFG scale (paper 5.5)')
    .option('--sampler <name>', `sampler: ${SAMPLERS.join(', ')}`, 'ddim')
    .option('--eta <η>', 'DDIM η (0: deterministic)')
    .option('--method <name>', `${METHODS.join(', ')} (default: w2sd with a pair, cfg without)`)
    .option('--pair <preset>', `W2SD pair: ${PAIR_PRESETS.join(', ')}`)
    .option('--strong-model <dir>', 'strong leg’s model folder (default --model)')
    .option('--weak-model <dir>', 'weak leg’s model folder (weights and cumulative pairs)')
    .option('--weak-prompt <text>', 'weak leg’s prompt (the raw prompt of a prompt pair)')
    .option('--strong-guidance <w>', 'strong leg’s CFG scale (preset default)')
    .option('--weak-guidance <w>', 'weak leg’s CFG scale (preset default)')
    .option('--lambda <λ>', 'reflected steps, 0 ≤ λ < T (default T − 1)')
    .option('--inversion <kind>', `inversion: ${INVERSIONS.join(', ')}`, 'ddim')
    .option('--equal-compute', 'paper §5.2: ⌊T/2⌋ steps with λ = ⌊T′/2⌋ (≈ T evaluations)')
    .option('--ag-weight <w>', 'autoguidance weight w in D_w + w(D_s − D_w)', '2')
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, 'cpu')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--lora <file[:scale]>', 'LoRA .safetensors (kohya or diffusers/PEFT), merged at the scale (default 1); repeatable; with --pair lora the pair’s LoRA', (v: string, prev: string[] = []) => [...prev, v])
    .option('--lora-main-scale <s>', 'lora pair: main leg’s LoRA scale (default 0.8)')
    .option('--lora-strong-scale <s>', 'lora pair: strong leg’s LoRA scale (default 0.8)')
    .option('--lora-weak-scale <s>', 'lora pair: weak leg’s LoRA scale (default -1.5)')
    .option('--json', 'print a JSON summary on stdout instead of text')
    .option('--no-progress', 'no progress bar')
    .option('--guidance-rescale <φ>', 'diffusers’ guidance_rescale in [0, 1] on every leg that runs both CFG halves (default 0: off)')
    .option('--clip-skip <n>', 'diffusers’ clip_skip: condition on the hidden state n layers before the text encoder’s last (needs hidden_states outputs)')
    .option('--max-memory <MiB>', `refuse runs whose estimated memory exceeds this (default ¾ of this machine: ${defaultMaxMemoryMiB()} MiB)`)
    .action((raw: RawOptions, cmd: Command) => action(raw, io, cmd));
}
