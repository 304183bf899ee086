import type { ModelFiles } from '../host.js';
import { parseSchedulerConfig, type PredictionType, type SchedulerConfig } from '../../core/index.js';

/**
 * A Stable Diffusion model folder: Hugging Face optimum's ONNX layout (model_index.json with one
 * sub-folder per component), or the flat layout of some exporters (diffusers.json beside unet.onnx, ...).
 * Everything here comes from the configs; nothing is loaded.
 */
export type SdFamily = 'sd1' | 'sd2' | 'sdxl';

export interface SdComponents {
  readonly unet: string;
  readonly textEncoder: string;
  readonly textEncoder2?: string;
  /** A tokenizer folder, or a tokenizer.json file in the flat layout. */
  readonly tokenizer: string;
  readonly tokenizer2?: string;
  readonly vaeDecoder: string;
  readonly vaeEncoder?: string;
}

export interface SdFolder {
  readonly dir: string;
  readonly layout: 'optimum' | 'flat';
  readonly family: SdFamily;
  /** Which config decided the family, for messages and --json output. */
  readonly familyReason: string;
  readonly pipelineClass: string;
  readonly components: SdComponents;
  readonly scheduler: SchedulerConfig;
  readonly schedulerSource: string;
  readonly prediction: PredictionType;
  /** Latent = scaling_factor × VAE mean (0.18215 SD 1.x/2.x, 0.13025 SDXL). */
  readonly vaeScalingFactor: number;
  /** Pixels per latent cell, 2^(len(block_out_channels) − 1); undefined when no VAE config says it. */
  readonly vaeScaleFactor?: number;
  readonly latentChannels?: number;
  /** Default image size: UNet sample_size × VAE factor, else the family's. */
  readonly defaultSize: { readonly width: number; readonly height: number };
  /** SDXL: an absent negative prompt is a zero embedding, not the encoding of "". */
  readonly forceZerosForEmptyPrompt: boolean;
  /** SDXL's VAE overflows in float16; diffusers upcasts it. */
  readonly vaeForceUpcast: boolean;
  /** Per-channel latent statistics some SDXL-type VAEs state; diffusers then decodes latents·std/scaling + mean. */
  readonly vaeLatentsMean?: readonly number[];
  readonly vaeLatentsStd?: readonly number[];
  /** Flat layouts: tokenizer ids given by the exporter's description. */
  readonly tokenizerIds?: { readonly bos: number; readonly eos: number; readonly maxLength: number };
}

type Json = Record<string, unknown>;

function readJson(files: ModelFiles, path: string): Json {
  let text: string;
  try {
    text = files.readText(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Json;
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function optionalJson(files: ModelFiles, path: string): Json | undefined {
  return files.exists(path) ? readJson(files, path) : undefined;
}

/** diffusers' defaults for SD 1.x/2.x when a flat export carries no scheduler config. */
const SD_DEFAULT_SCHEDULER = {
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  steps_offset: 1,
  clip_sample: false,
};

const KNOWN_PIPELINES = /^(ORT|Onnx)?StableDiffusion(XL)?Pipeline$/;

function num(j: Json | undefined, key: string): number | undefined {
  const v = j?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function numbers(j: Json | undefined, key: string, source: string): number[] | undefined {
  const v = j?.[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${source}: "${key}" must be a list of finite numbers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

function vaeFacts(configs: { path: string; json: Json | undefined }[]) {
  const found = configs.find((c) => c.json !== undefined);
  const vae = found?.json;
  const blocks = vae?.block_out_channels;
  const mean = numbers(vae, 'latents_mean', found?.path ?? '');
  const std = numbers(vae, 'latents_std', found?.path ?? '');
  // diffusers applies the statistics only when both are given
  const stats = mean && std ? { mean, std } : undefined;
  if (stats && (mean!.length !== std!.length || std!.some((x) => !(x > 0)))) {
    throw new Error(`${found!.path}: latents_mean and latents_std must have one value per latent channel, std positive`);
  }
  return {
    scalingFactor: num(vae, 'scaling_factor') ?? 0.18215,
    scaleFactor: Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : undefined,
    latentChannels: num(vae, 'latent_channels'),
    forceUpcast: vae?.force_upcast === true,
    latentsMean: stats?.mean,
    latentsStd: stats?.std,
  };
}

/**
 * Reads a model folder's configs: family, schedule config, VAE factors, sizes. Works on config-only
 * folders (so it can be tested on real configs without weights); `checkSdFiles` then checks the ONNX files.
 */
export function readSdFolderIn(files: ModelFiles, dir: string): SdFolder {
  const root = files.resolve(dir);
  if (!files.isDirectory(root)) throw new Error(`model folder not found: ${dir}`);
  if (files.exists(files.join(root, 'model_index.json'))) return readOptimum(files, root);
  if (files.exists(files.join(root, 'diffusers.json'))) return readFlat(files, root);
  throw new Error(`${dir} is not a Stable Diffusion model folder: expected model_index.json (optimum's ONNX layout) or diffusers.json (flat export)`);
}

function readOptimum(files: ModelFiles, root: string): SdFolder {
  const { join } = files;
  const exists = (p: string) => files.exists(p);
  const index = readJson(files, join(root, 'model_index.json'));
  const pipelineClass = typeof index._class_name === 'string' ? index._class_name : '';
  if (!KNOWN_PIPELINES.test(pipelineClass)) {
    throw new Error(
      `${join(root, 'model_index.json')}: pipeline "${pipelineClass || '(none)'}" is not supported; expected a Stable Diffusion 1.x/2.x or SDXL text-to-image pipeline`,
    );
  }
  const sub = (name: string, file: string) => join(root, name, file);
  const schedulerPath = sub('scheduler', 'scheduler_config.json');
  if (!exists(schedulerPath)) throw new Error(`model folder ${root}: missing scheduler/scheduler_config.json`);
  const schedulerJson = readJson(files, schedulerPath);
  const schedulerClass = typeof schedulerJson._class_name === 'string' ? schedulerJson._class_name : '';
  if (/^(EDM|FlowMatch)/.test(schedulerClass)) {
    // these define σ directly, not by betas: reading them as a VP schedule would silently use default betas
    throw new Error(`${schedulerPath}: scheduler ${schedulerClass} is not supported; expected a discrete-time (betas) scheduler such as DDIM, PNDM or Euler`);
  }
  const scheduler = parseSchedulerConfig(schedulerJson, schedulerPath);
  const unetConfig = optionalJson(files, sub('unet', 'config.json'));
  const textConfig = optionalJson(files, sub('text_encoder', 'config.json'));
  const tokenizerConfig = optionalJson(files, sub('tokenizer', 'tokenizer_config.json'));
  const vae = vaeFacts(['vae_decoder', 'vae'].map((d) => ({ path: sub(d, 'config.json'), json: optionalJson(files, sub(d, 'config.json')) })));

  let family: SdFamily;
  let familyReason: string;
  const hasSecondEncoder = 'text_encoder_2' in index || exists(join(root, 'text_encoder_2'));
  if (pipelineClass.includes('XL') || hasSecondEncoder) {
    if (!('text_encoder' in index) && !exists(join(root, 'text_encoder'))) {
      throw new Error(`model folder ${root}: an SDXL folder with text_encoder_2 only (the refiner) is not supported`);
    }
    family = 'sdxl';
    familyReason = pipelineClass.includes('XL') ? `model_index.json: ${pipelineClass}` : 'text_encoder_2 present';
  } else if (scheduler.predictionType === 'v_prediction') {
    family = 'sd2';
    familyReason = 'scheduler prediction_type v_prediction';
  } else if (num(textConfig, 'hidden_size') === 1024 || num(unetConfig, 'cross_attention_dim') === 1024) {
    family = 'sd2';
    familyReason = 'OpenCLIP ViT-H text encoder (1024-dim)';
  } else if (tokenizerPad(tokenizerConfig) === '!') {
    family = 'sd2';
    familyReason = 'tokenizer pads with "!" (OpenCLIP)';
  } else {
    family = 'sd1';
    familyReason = 'CLIP ViT-L text encoder, ε-prediction';
  }
  const vaeScaleFactor = vae.scaleFactor;
  const sampleSize = num(unetConfig, 'sample_size');
  const side = sampleSize !== undefined ? sampleSize * (vaeScaleFactor ?? 8) : familyDefaultSide(family, scheduler.predictionType);
  return {
    dir: root,
    layout: 'optimum',
    family,
    familyReason,
    pipelineClass,
    components: {
      unet: sub('unet', 'model.onnx'),
      textEncoder: sub('text_encoder', 'model.onnx'),
      textEncoder2: family === 'sdxl' ? sub('text_encoder_2', 'model.onnx') : undefined,
      tokenizer: join(root, 'tokenizer'),
      tokenizer2: family === 'sdxl' ? join(root, 'tokenizer_2') : undefined,
      vaeDecoder: sub('vae_decoder', 'model.onnx'),
      vaeEncoder: exists(sub('vae_encoder', 'model.onnx')) ? sub('vae_encoder', 'model.onnx') : undefined,
    },
    scheduler,
    schedulerSource: schedulerPath,
    prediction: scheduler.predictionType,
    vaeScalingFactor: vae.scalingFactor,
    vaeScaleFactor,
    latentChannels: vae.latentChannels ?? num(unetConfig, 'in_channels'),
    defaultSize: { width: side, height: side },
    forceZerosForEmptyPrompt: family === 'sdxl' && index.force_zeros_for_empty_prompt !== false,
    vaeForceUpcast: vae.forceUpcast,
    vaeLatentsMean: vae.latentsMean,
    vaeLatentsStd: vae.latentsStd,
  };
}

function tokenizerPad(config: Json | undefined): string | undefined {
  const pad = config?.pad_token;
  if (typeof pad === 'string') return pad;
  if (pad && typeof pad === 'object' && typeof (pad as Json).content === 'string') return (pad as Json).content as string;
  return undefined;
}

function familyDefaultSide(family: SdFamily, prediction: PredictionType): number {
  if (family === 'sdxl') return 1024;
  if (family === 'sd2' && prediction === 'v_prediction') return 768;
  return 512;
}

/** The flat export layout (diffusers.json naming unet.onnx, text_encoder.onnx, vae decoder and tokenizer). */
function readFlat(files: ModelFiles, root: string): SdFolder {
  const { join } = files;
  const desc = readJson(files, join(root, 'diffusers.json'));
  const where = join(root, 'diffusers.json');
  if (desc.pipeline !== 'stable-diffusion' || desc.framework !== 'onnx') {
    throw new Error(`${where}: expected pipeline "stable-diffusion" with framework "onnx", got ${JSON.stringify(desc.pipeline)} / ${JSON.stringify(desc.framework)}`);
  }
  const path = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || v.length === 0) throw new Error(`${where}: missing ${what}`);
    return join(root, v);
  };
  const tok = (desc.tokenizer ?? {}) as Json;
  const vae = (desc.vae ?? {}) as Json;
  const schedulerPath = join(root, 'scheduler_config.json');
  const schedulerJson = optionalJson(files, schedulerPath);
  const scheduler = parseSchedulerConfig(schedulerJson ?? SD_DEFAULT_SCHEDULER, schedulerJson ? schedulerPath : 'SD 1.x default scheduler');
  const scaling = num(desc, 'scale-factor') ?? num(desc, 'scaling-factor') ?? 0.18215;
  return {
    dir: root,
    layout: 'flat',
    family: 'sd1',
    familyReason: 'flat stable-diffusion export (diffusers.json)',
    pipelineClass: 'stable-diffusion',
    components: {
      unet: path((desc.unet as Json | undefined)?.path, 'unet.path'),
      textEncoder: path((desc['text-encoder'] as Json | undefined)?.path, 'text-encoder.path'),
      tokenizer: path(tok.path, 'tokenizer.path'),
      vaeDecoder: path(vae.decoder, 'vae.decoder'),
      vaeEncoder: typeof vae.encoder === 'string' ? join(root, vae.encoder) : undefined,
    },
    scheduler,
    schedulerSource: schedulerJson ? schedulerPath : 'SD 1.x default scheduler (no scheduler_config.json)',
    prediction: scheduler.predictionType,
    vaeScalingFactor: scaling,
    defaultSize: { width: 512, height: 512 },
    forceZerosForEmptyPrompt: false,
    vaeForceUpcast: false,
    tokenizerIds: {
      bos: num(tok, 'bos-token') ?? 49406,
      eos: num(tok, 'eos-token') ?? 49407,
      maxLength: num(tok, 'model-max-length') ?? 77,
    },
  };
}

/** Which ONNX and tokenizer files generation needs; all missing ones are named in one message. */
export function checkSdFilesIn(files: ModelFiles, folder: SdFolder, need: { vaeDecoder?: boolean } = {}): void {
  const { join } = files;
  const exists = (p: string) => files.exists(p);
  const c = folder.components;
  const wanted: [string, string | undefined, 'file' | 'tokenizer'][] = [
    ['unet', c.unet, 'file'],
    ['text encoder', c.textEncoder, 'file'],
    ['second text encoder', c.textEncoder2, 'file'],
    ['tokenizer', c.tokenizer, 'tokenizer'],
    ['second tokenizer', c.tokenizer2, 'tokenizer'],
  ];
  if (need.vaeDecoder ?? true) wanted.push(['VAE decoder', c.vaeDecoder, 'file']);
  const missing: string[] = [];
  for (const [what, path, kind] of wanted) {
    if (path === undefined) continue;
    if (kind === 'file' && !exists(path)) missing.push(`${what} (${path})`);
    if (kind === 'tokenizer') {
      const ok = path.endsWith('.json')
        ? exists(path)
        : exists(join(path, 'tokenizer.json')) || (exists(join(path, 'vocab.json')) && exists(join(path, 'merges.txt')));
      if (!ok) missing.push(`${what} (${path}: tokenizer.json or vocab.json + merges.txt)`);
    }
  }
  if (missing.length > 0) {
    const torch = exists(join(folder.dir, 'unet', 'diffusion_pytorch_model.safetensors')) || exists(join(folder.dir, 'unet', 'diffusion_pytorch_model.bin')) || exists(join(folder.dir, 'vae', 'config.json'));
    const hint = torch && !exists(c.unet) ? '; this looks like a diffusers (PyTorch) folder: export it to ONNX first, e.g. `optimum-cli export onnx --model <id> <out>`' : '';
    throw new Error(`model folder ${folder.dir} (${folder.family}) is missing: ${missing.join(', ')}${hint}`);
  }
}
