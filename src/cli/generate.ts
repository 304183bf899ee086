import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { INVERSIONS, SAMPLERS, type InversionKind, type SamplerName } from '../core/index.js';
import { PROVIDERS, parseProvider } from '../models/onnx/providers.js';
import { METHODS, generate, type GenerateOptions, type GenerateProgress, type GenerateResult, type MethodName } from '../pipelines/txt2img.js';
import { PAIR_PRESETS, type PairPreset } from '../pipelines/presets.js';
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
  lora?: string[];
  loraMainScale?: string;
  loraStrongScale?: string;
  loraWeakScale?: string;
}

function number(value: string | undefined, name: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new Error(`${name}: expected ${integer ? 'an integer' : 'a finite number'}, got ${JSON.stringify(value)}`);
  }
  return v;
}

function oneOf<T extends string>(value: string | undefined, list: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(list as readonly string[]).includes(value)) throw new Error(`${name}: expected one of ${list.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

export function toGenerateOptions(raw: RawOptions): GenerateOptions {
  const threads = number(raw.threads, '--threads', true);
  return {
    model: raw.model,
    prompt: raw.prompt,
    negativePrompt: raw.negative,
    width: number(raw.width, '--width', true),
    height: number(raw.height, '--height', true),
    steps: number(raw.steps, '--steps', true),
    seed: number(raw.seed, '--seed', true),
    batch: number(raw.batch, '--batch', true),
    guidance: number(raw.guidance, '--guidance'),
    sampler: oneOf<SamplerName>(raw.sampler, SAMPLERS, '--sampler'),
    eta: number(raw.eta, '--eta'),
    method: oneOf<MethodName>(raw.method, METHODS, '--method'),
    pair: oneOf<PairPreset>(raw.pair, PAIR_PRESETS, '--pair'),
    strongModel: raw.strongModel,
    weakModel: raw.weakModel,
    weakPrompt: raw.weakPrompt,
    strongGuidance: number(raw.strongGuidance, '--strong-guidance'),
    weakGuidance: number(raw.weakGuidance, '--weak-guidance'),
    lambda: number(raw.lambda, '--lambda', true),
    inversion: oneOf<InversionKind>(raw.inversion, INVERSIONS, '--inversion'),
    equalCompute: raw.equalCompute ?? false,
    autoguidanceWeight: number(raw.agWeight, '--ag-weight'),
    runtime: { provider: parseProvider(raw.provider), ...(threads !== undefined ? { threads } : {}) },
    output: raw.out,
    ...loraOptions(raw),
  };
}

function loraOptions(raw: RawOptions): Pick<GenerateOptions, 'loras' | 'loraScales'> {
  const loras = raw.lora?.map((f) => parseLoraSpec(f));
  const scales = { main: number(raw.loraMainScale, '--lora-main-scale'), strong: number(raw.loraStrongScale, '--lora-strong-scale'), weak: number(raw.loraWeakScale, '--lora-weak-scale') };
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

/** The --json summary: everything but pixel and latent data. */
export function summary(r: GenerateResult): object {
  return {
    files: r.files,
    family: r.family,
    method: r.method,
    pair: r.pair ?? null,
    legs: r.legs,
    width: r.width,
    height: r.height,
    seed: r.seed,
    batch: r.batch,
    sampler: r.sampler,
    steps: r.steps,
    lambda: r.lambda ?? null,
    inversion: r.inversion ?? null,
    evaluations: r.evaluations,
    evaluationsByLeg: r.evaluationsByLeg,
    expectedEvaluations: r.expectedEvaluations,
    unetRuns: r.unetRuns,
    timingsMs: Object.fromEntries(Object.entries(r.timingsMs).map(([k, v]) => [k, Math.round(v)])),
    warnings: r.warnings,
  };
}

/** Where the command writes; tests pass their own. */
export interface GenerateIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: GenerateIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

async function action(raw: RawOptions, io: GenerateIo): Promise<void> {
  const opts = toGenerateOptions(raw);
  const bar = progressBar(raw.progress && !raw.json && process.stderr.isTTY === true);
  let result: GenerateResult;
  try {
    result = await generate({
      ...opts,
      onProgress: (p) => bar.update(p),
      warn: (m) => {
        if (!raw.json) io.err(`warning: ${m}\n`);
      },
    });
  } finally {
    bar.stop();
  }
  if (raw.json) {
    io.out(JSON.stringify(summary(result), null, 2) + '\n');
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
    .action((raw: RawOptions) => action(raw, io));
}
