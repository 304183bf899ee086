import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { openSession, type OnnxSession } from '../../models/onnx/session.js';
import type { RuntimeOptions } from '../../models/onnx/providers.js';
import { ClipModel, assertFiniteArray } from './clip.js';
import { inputSize, preprocessInto, readClipProcessorConfig, type ClipProcessorConfig } from './clip-processor.js';
import { IMAGE_EXTENSIONS, readImage } from './image.js';
import type { RgbImage } from './types.js';

/*
 * Subject fidelity of personalised generations (paper Table 2, as in DreamBooth's evaluation): the mean cosine
 * between an image's embedding and those of the subject's reference images.
 *   clip-i: CLIP image embeddings (image_embeds of the CLIP folder; the text input gets the empty prompt)
 *   dino:   the CLS token of a DINO ViT (last_hidden_state[:, 0]; optimum's feature-extraction export)
 */

/** The reference images of a folder (PNG/JPEG, sorted); none is an error naming the folder. */
export function referenceImages(dir: string): RgbImage[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`reference image folder ${dir}: not found or not a folder`);
  const files = readdirSync(dir)
    .filter((f) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()) && !f.startsWith('.'))
    .sort();
  if (files.length === 0) throw new Error(`reference image folder ${dir}: no .png, .jpg or .jpeg files`);
  return files.map((f) => readImage(join(dir, f)));
}

function normalized(x: Float32Array, rows: number, dim: number, stride: number, what: string): Float64Array[] {
  const out: Float64Array[] = [];
  for (let r = 0; r < rows; r++) {
    const v = Float64Array.from(x.subarray(r * stride, r * stride + dim));
    const n = Math.sqrt(v.reduce((a, b) => a + b * b, 0));
    if (!Number.isFinite(n) || n === 0) throw new Error(`${what}: embedding ${r} has norm ${n}`);
    out.push(v.map((e) => e / n));
  }
  return out;
}

/** Mean cosine of each embedding with every reference embedding. */
export function meanCosines(embeds: readonly Float64Array[], refs: readonly Float64Array[]): number[] {
  return embeds.map((e) => refs.reduce((acc, r) => acc + r.reduce((a, x, j) => a + x * e[j], 0), 0) / refs.length);
}

export interface ImageEmbedder {
  embed(images: readonly RgbImage[]): Promise<Float64Array[]>;
}

export function clipImageEmbedder(model: ClipModel): ImageEmbedder {
  return {
    async embed(images) {
      const out = await model.run(images, images.map(() => ''));
      return normalized(out.imageEmbeds, images.length, out.dim, out.dim, `${model.dir} image_embeds`);
    },
  };
}

/** A DINO folder: model.onnx (pixel_values → last_hidden_state) and preprocessor_config.json. */
export class DinoModel implements ImageEmbedder {
  private constructor(
    readonly dir: string,
    readonly session: OnnxSession,
    readonly processor: ClipProcessorConfig,
  ) {}

  static async open(dir: string, runtime: RuntimeOptions = {}): Promise<DinoModel> {
    if (!existsSync(dir)) throw new Error(`DINO model folder ${dir}: not found`);
    for (const f of ['model.onnx', 'preprocessor_config.json']) {
      if (!existsSync(join(dir, f))) throw new Error(`DINO model folder ${dir}: missing ${f} (expected optimum's feature-extraction export)`);
    }
    const processor = readClipProcessorConfig(join(dir, 'preprocessor_config.json'));
    if (!inputSize(processor)) throw new Error(`${dir}/preprocessor_config.json: the input size must be fixed (a crop or a height/width size)`);
    const session = await openSession(join(dir, 'model.onnx'), runtime);
    session.input('pixel_values');
    session.output('last_hidden_state');
    return new DinoModel(dir, session, processor);
  }

  async embed(images: readonly RgbImage[]): Promise<Float64Array[]> {
    const { height: h, width: w } = inputSize(this.processor)!;
    const data = new Float32Array(images.length * 3 * h * w);
    images.forEach((img, b) => preprocessInto(this.processor, img, data, b * 3 * h * w));
    const out = (await this.session.run({ pixel_values: { data, dims: [images.length, 3, h, w] } }, ['last_hidden_state'])).last_hidden_state;
    if (out.dims.length !== 3 || out.dims[0] !== images.length) throw new Error(`${this.session.path}: last_hidden_state has shape [${out.dims.join(', ')}], expected [${images.length}, tokens, dim]`);
    assertFiniteArray(out.data, `${this.session.path} last_hidden_state`);
    const [, tokens, dim] = out.dims;
    return normalized(out.data, images.length, dim, tokens * dim, `${this.session.path} CLS token`);
  }
}
