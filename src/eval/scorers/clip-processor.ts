import { existsSync, readFileSync } from 'node:fs';
import { RESAMPLE_FILTERS, resizeRgb, type ResampleCode } from './resample.js';
import type { RgbImage } from './types.js';

/*
 * Hugging Face's CLIPImageProcessor as configured by preprocessor_config.json: resize (shortest edge, or an
 * exact height/width), center crop, rescale, normalise, channels first. Older configs (CLIPFeatureExtractor)
 * give `size` and `crop_size` as plain numbers.
 */

export interface ClipProcessorConfig {
  readonly doResize: boolean;
  /** Resize the shortest edge to this, or to an exact size. */
  readonly size: { readonly shortestEdge: number } | { readonly height: number; readonly width: number };
  readonly resample: ResampleCode;
  readonly doCenterCrop: boolean;
  readonly cropSize: { readonly height: number; readonly width: number };
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** transformers' IMAGENET_STANDARD_MEAN / _STD, the ViT processors' defaults. */
const HALF = [0.5, 0.5, 0.5] as const;

function positive(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4096) throw new Error(`${what}: expected an integer 1..4096, got ${JSON.stringify(v)}`);
  return v;
}

function triple(v: unknown, what: string, dflt: readonly [number, number, number]): readonly [number, number, number] {
  if (v === undefined) return dflt;
  if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return v as unknown as [number, number, number];
  throw new Error(`${what}: expected three numbers, got ${JSON.stringify(v)}`);
}

function flag(v: unknown, what: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new Error(`${what}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * transformers' get_size_dict: for CLIP a plain-number `size` is the shortest edge; for ViT processors (DINO's
 * ViTFeatureExtractor / ViTImageProcessor) it is a square, and they neither crop nor default to CLIP's statistics.
 */
export function parseClipProcessorConfig(raw: Record<string, unknown>, where: string): ClipProcessorConfig {
  const w = (k: string) => `${where}: ${k}`;
  const type = String(raw.image_processor_type ?? raw.feature_extractor_type ?? 'CLIPImageProcessor');
  const vit = /^ViT/i.test(type);
  const s = raw.size ?? (vit ? { height: 224, width: 224 } : { shortest_edge: 224 });
  let size: ClipProcessorConfig['size'];
  if (typeof s === 'number') size = vit ? { height: positive(s, w('size')), width: s } : { shortestEdge: positive(s, w('size')) };
  else if (s && typeof s === 'object' && 'shortest_edge' in s) size = { shortestEdge: positive((s as Record<string, unknown>).shortest_edge, w('size.shortest_edge')) };
  else if (s && typeof s === 'object' && 'height' in s && 'width' in s) size = { height: positive((s as Record<string, unknown>).height, w('size.height')), width: positive((s as Record<string, unknown>).width, w('size.width')) };
  else throw new Error(`${w('size')}: expected a number, {shortest_edge} or {height, width}, got ${JSON.stringify(s)}`);
  const c = raw.crop_size ?? { height: 224, width: 224 };
  let cropSize: ClipProcessorConfig['cropSize'];
  if (typeof c === 'number') cropSize = { height: positive(c, w('crop_size')), width: c };
  else if (c && typeof c === 'object' && 'height' in c && 'width' in c) cropSize = { height: positive((c as Record<string, unknown>).height, w('crop_size.height')), width: positive((c as Record<string, unknown>).width, w('crop_size.width')) };
  else throw new Error(`${w('crop_size')}: expected a number or {height, width}, got ${JSON.stringify(c)}`);
  const resample = raw.resample ?? (vit ? 2 : 3);
  if (typeof resample !== 'number' || !(resample in RESAMPLE_FILTERS)) {
    throw new Error(`${w('resample')}: supported ${Object.entries(RESAMPLE_FILTERS).map(([k, n]) => `${k} (${n})`).join(', ')}, got ${JSON.stringify(resample)}`);
  }
  const factor = raw.rescale_factor ?? 1 / 255;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) throw new Error(`${w('rescale_factor')}: expected a positive number, got ${JSON.stringify(factor)}`);
  const std = triple(raw.image_std, w('image_std'), vit ? HALF : OPENAI_CLIP_STD);
  if (std.some((x) => x <= 0)) throw new Error(`${w('image_std')}: entries must be positive`);
  if (raw.do_convert_rgb === false) throw new Error(`${w('do_convert_rgb')}: false is not supported (images are converted to RGB)`);
  return {
    doResize: flag(raw.do_resize, w('do_resize'), true),
    size,
    resample: resample as ResampleCode,
    doCenterCrop: flag(raw.do_center_crop, w('do_center_crop'), !vit),
    cropSize,
    doRescale: flag(raw.do_rescale, w('do_rescale'), true),
    rescaleFactor: factor,
    doNormalize: flag(raw.do_normalize, w('do_normalize'), true),
    mean: triple(raw.image_mean, w('image_mean'), vit ? HALF : OPENAI_CLIP_MEAN),
    std,
  };
}

export function readClipProcessorConfig(path: string): ClipProcessorConfig {
  if (!existsSync(path)) throw new Error(`${path}: not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${path}: expected a JSON object`);
  return parseClipProcessorConfig(raw as Record<string, unknown>, path);
}

/** transformers' get_resize_output_image_size(default_to_square=False): short edge → size, long edge int(size·long/short). */
export function resizeOutputSize(width: number, height: number, size: ClipProcessorConfig['size']): { width: number; height: number } {
  if (!('shortestEdge' in size)) return { width: size.width, height: size.height };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((size.shortestEdge * long) / short);
  return width <= height ? { width: size.shortestEdge, height: newLong } : { width: newLong, height: size.shortestEdge };
}

/** center_crop's offsets: floor((h − crop) / 2), floor((w − crop) / 2). */
export function centerCrop(img: RgbImage, height: number, width: number): RgbImage {
  if (img.height < height || img.width < width) throw new Error(`center crop ${width}×${height} is larger than the ${img.width}×${img.height} image (padding is not supported)`);
  const top = Math.floor((img.height - height) / 2);
  const left = Math.floor((img.width - width) / 2);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(img.rgb.subarray(((y + top) * img.width + left) * 3, ((y + top) * img.width + left + width) * 3), y * width * 3);
  return { rgb: out, width, height };
}

/** Writes one image's pixel_values (3 × H × W, float32) at `offset` of `out`; returns the crop size. */
export function preprocessInto(cfg: ClipProcessorConfig, img: RgbImage, out: Float32Array, offset: number): void {
  let x = img;
  if (cfg.doResize) {
    const to = resizeOutputSize(x.width, x.height, cfg.size);
    x = resizeRgb(x, to.width, to.height, cfg.resample);
  }
  if (cfg.doCenterCrop) x = centerCrop(x, cfg.cropSize.height, cfg.cropSize.width);
  const plane = x.width * x.height;
  if (offset + 3 * plane > out.length) throw new Error(`preprocess: ${x.width}×${x.height} does not fit the batch tensor`);
  // transformers: uint8 · factor in float64, cast to float32, then (x − mean) / std in float32
  const f = Math.fround;
  for (let ch = 0; ch < 3; ch++) {
    const mean = f(cfg.mean[ch]);
    const std = f(cfg.std[ch]);
    for (let i = 0; i < plane; i++) {
      let v = x.rgb[i * 3 + ch];
      if (cfg.doRescale) v = f(v * cfg.rescaleFactor);
      if (cfg.doNormalize) v = f(f(v - mean) / std);
      out[offset + ch * plane + i] = v;
    }
  }
}

/** Height and width of the model input this config produces. */
export function inputSize(cfg: ClipProcessorConfig): { height: number; width: number } | undefined {
  if (cfg.doCenterCrop) return cfg.cropSize;
  if (cfg.doResize && !('shortestEdge' in cfg.size)) return cfg.size;
  return undefined;
}
