import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSession, type OnnxSession } from '../../models/onnx/session.js';
import type { RuntimeOptions } from '../../models/onnx/providers.js';
import { loadClipTokenizer } from '../../models/tokenizer/load.js';
import type { ClipTokenizer } from '../../models/tokenizer/clip.js';
import { inputSize, preprocessInto, readClipProcessorConfig, type ClipProcessorConfig } from './clip-processor.js';
import type { RgbImage } from './types.js';

/*
 * A CLIP model folder in Hugging Face optimum's export layout: model.onnx (inputs input_ids, pixel_values,
 * attention_mask; outputs logits_per_image, logits_per_text, text_embeds, image_embeds), preprocessor_config.json,
 * tokenizer files and config.json. Token ids of BOS/EOS come from the tokenizer files (several real exports
 * carry bos_token_id 0 / eos_token_id 2 in config.json); text longer than the context is cut to BOS + 75 + EOS.
 */

export const CLIP_INPUTS = ['input_ids', 'pixel_values', 'attention_mask'] as const;
export const CLIP_OUTPUTS = ['logits_per_image', 'logits_per_text', 'text_embeds', 'image_embeds'] as const;

export interface ClipBatchOutput {
  /** logits_per_image[i][i]: the model's logit_scale.exp()·cos for image i with text i. */
  readonly diagonalLogits: Float32Array;
  /** L2-normalised embeddings, row-major [B, D]. */
  readonly textEmbeds: Float32Array;
  readonly imageEmbeds: Float32Array;
  readonly dim: number;
}

function requireFile(dir: string, name: string, what: string): string {
  const p = join(dir, name);
  if (!existsSync(p)) throw new Error(`${what} ${dir}: missing ${name} (expected optimum's CLIP export: model.onnx, preprocessor_config.json, config.json, tokenizer files)`);
  return p;
}

function normalizeRows(x: Float32Array, rows: number, dim: number, what: string): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[r * dim + j] * x[r * dim + j];
    const n = Math.sqrt(s);
    if (!Number.isFinite(n) || n === 0) throw new Error(`${what}: embedding ${r} has norm ${n}`);
    for (let j = 0; j < dim; j++) out[r * dim + j] = x[r * dim + j] / n;
  }
  return out;
}

export function assertFiniteArray(x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) throw new Error(`${what}: the model returned ${x[i]} at index ${i}`);
}

export class ClipModel {
  private constructor(
    readonly dir: string,
    readonly session: OnnxSession,
    readonly processor: ClipProcessorConfig,
    readonly tokenizer: ClipTokenizer,
  ) {}

  /** Checks the folder completely (files, IO names) and loads the session once. */
  static async open(dir: string, runtime: RuntimeOptions = {}): Promise<ClipModel> {
    if (!existsSync(dir)) throw new Error(`scorer model folder ${dir}: not found`);
    const model = requireFile(dir, 'model.onnx', 'scorer model folder');
    const pre = requireFile(dir, 'preprocessor_config.json', 'scorer model folder');
    const configPath = requireFile(dir, 'config.json', 'scorer model folder');
    if (!existsSync(join(dir, 'tokenizer.json')) && !(existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')))) {
      throw new Error(`scorer model folder ${dir}: missing tokenizer files (tokenizer.json, or vocab.json and merges.txt)`);
    }
    const processor = readClipProcessorConfig(pre);
    if (!inputSize(processor)) throw new Error(`${pre}: without do_center_crop or a fixed {height, width} size the input size varies per image; not supported`);
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${configPath}: not valid JSON (${(err as Error).message})`);
    }
    const textConfig = (config.text_config ?? {}) as Record<string, unknown>;
    const positions = typeof textConfig.max_position_embeddings === 'number' ? textConfig.max_position_embeddings : undefined;
    const base = loadClipTokenizer(dir);
    // the context is the smaller of the tokenizer's length and the text model's positions
    const tokenizer = positions !== undefined && positions < base.config.maxLength ? loadClipTokenizer(dir, { maxLength: positions }) : base;
    const session = await openSession(model, runtime);
    for (const name of CLIP_INPUTS.filter((n) => n !== 'attention_mask')) session.input(name);
    for (const name of CLIP_OUTPUTS) session.output(name);
    return new ClipModel(dir, session, processor, tokenizer);
  }

  /** pixel_values of a batch (all images preprocess to the same crop size). */
  pixelValues(images: readonly RgbImage[]): { data: Float32Array; dims: number[] } {
    const { height: h, width: w } = inputSize(this.processor)!;
    const data = new Float32Array(images.length * 3 * h * w);
    images.forEach((img, b) => preprocessInto(this.processor, img, data, b * 3 * h * w));
    return { data, dims: [images.length, 3, h, w] };
  }

  textInputs(prompts: readonly string[]): { ids: Int32Array; mask: Int32Array; dims: number[] } {
    const L = this.tokenizer.config.maxLength;
    const ids = new Int32Array(prompts.length * L);
    const mask = new Int32Array(prompts.length * L);
    prompts.forEach((p, b) => {
      const e = this.tokenizer.encode(p);
      ids.set(e.ids, b * L);
      mask.fill(1, b * L, b * L + e.tokenCount + 2);
    });
    return { ids, mask, dims: [prompts.length, L] };
  }

  /** Runs image i against text i for a batch. */
  async run(images: readonly RgbImage[], prompts: readonly string[]): Promise<ClipBatchOutput> {
    if (images.length !== prompts.length || images.length === 0) throw new Error(`${this.dir}: ${images.length} images and ${prompts.length} prompts`);
    const B = images.length;
    const pixels = this.pixelValues(images);
    const text = this.textInputs(prompts);
    const feeds: Record<string, { data: Float32Array | Int32Array; dims: number[] }> = {
      input_ids: { data: text.ids, dims: text.dims },
      pixel_values: pixels,
    };
    if (this.session.hasInput('attention_mask')) feeds.attention_mask = { data: text.mask, dims: text.dims };
    const out = await this.session.run(feeds, ['logits_per_image', 'text_embeds', 'image_embeds']);
    const lpi = out.logits_per_image;
    if (lpi.dims[0] !== B || lpi.dims[1] !== B) throw new Error(`${this.session.path}: logits_per_image has shape [${lpi.dims.join(', ')}], expected [${B}, ${B}]`);
    const dim = out.text_embeds.dims[1];
    if (out.image_embeds.dims[1] !== dim || out.text_embeds.dims[0] !== B || out.image_embeds.dims[0] !== B) {
      throw new Error(`${this.session.path}: text_embeds [${out.text_embeds.dims.join(', ')}] and image_embeds [${out.image_embeds.dims.join(', ')}] do not match a batch of ${B}`);
    }
    for (const [k, v] of Object.entries(out)) assertFiniteArray(v.data, `${this.session.path} ${k}`);
    const diagonalLogits = new Float32Array(B);
    for (let i = 0; i < B; i++) diagonalLogits[i] = lpi.data[i * B + i];
    return {
      diagonalLogits,
      textEmbeds: normalizeRows(out.text_embeds.data, B, dim, `${this.session.path} text_embeds`),
      imageEmbeds: normalizeRows(out.image_embeds.data, B, dim, `${this.session.path} image_embeds`),
      dim,
    };
  }
}

/** Row-wise cosine of two L2-normalised [B, D] arrays, accumulated in float64. */
export function rowCosines(a: Float32Array, b: Float32Array, rows: number, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += a[r * dim + j] * b[r * dim + j];
    out.push(s);
  }
  return out;
}
