import { assertFinite } from '../../core/index.js';
import { checkOutputShape } from '../onnx/io.js';
import type { ModelSession } from '../onnx/feeds.js';

export interface DecodedImage {
  /** Interleaved RGB, 8 bits a channel, row-major: what PNG encoders take. */
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * The VAE decoder: latents / scaling_factor → image in [−1, 1] → 8-bit RGB the way diffusers rounds it
 * ((x/2 + 0.5) clamped to [0, 1], × 255, rounded). One image per call keeps peak memory at one image.
 */
export class SdVaeDecoder {
  constructor(
    readonly session: ModelSession,
    readonly scalingFactor: number,
    /** Pixels per latent cell the folder's config promises; checked on the first decode. */
    readonly scaleFactor: number | undefined,
    /** SDXL's VAE overflows in float16, which diffusers avoids by upcasting. */
    readonly forceUpcast: boolean,
    /** Per-channel latent mean and std (VAE config latents_mean / latents_std), when the VAE states them. */
    readonly latentsStats?: { readonly mean: readonly number[]; readonly std: readonly number[] },
  ) {
    session.input('latent_sample');
    session.output('sample');
    if (!(scalingFactor > 0)) throw new Error(`VAE scaling_factor must be positive, got ${scalingFactor}`);
  }

  get isHalf(): boolean {
    return this.session.input('latent_sample').dtype === 'float16';
  }

  async decode(latents: Float32Array, dims: readonly number[]): Promise<DecodedImage[]> {
    const [B, C, h, w] = dims;
    const per = C * h * w;
    const stats = this.latentsStats;
    if (stats && (stats.mean.length !== C || stats.std.length !== C)) {
      throw new Error(`${this.session.path}: the VAE config gives latents_mean/latents_std for ${stats.mean.length} channels, the latent has ${C}`);
    }
    const images: DecodedImage[] = [];
    for (let b = 0; b < B; b++) {
      const z = new Float32Array(per);
      if (stats) {
        for (let i = 0; i < per; i++) {
          const c = Math.floor(i / (h * w));
          z[i] = (latents[b * per + i] * stats.std[c]) / this.scalingFactor + stats.mean[c];
        }
      } else {
        for (let i = 0; i < per; i++) z[i] = latents[b * per + i] / this.scalingFactor;
      }
      const out = (await this.session.run({ latent_sample: { data: z, dims: [1, C, h, w] } }, ['sample'])).sample;
      // without a configured factor, the height's sets the width's: the image must scale both axes alike
      const f = this.scaleFactor ?? (out.dims.length === 4 ? out.dims[2] / h : null);
      checkOutputShape(out, [1, 3, f === null ? null : h * f, f === null ? null : w * f], 'sample', this.session.path);
      const [, , H, W] = out.dims;
      try {
        assertFinite(out.data, `${this.session.path}: VAE output of image ${b}`);
      } catch (err) {
        const hint = this.isHalf && this.forceUpcast ? ' (this fp16 VAE decoder overflows, as SDXL\'s does in float16: use an fp32 VAE decoder export or the fp16-fixed SDXL VAE)' : '';
        throw new Error(`${err instanceof Error ? err.message : String(err)}${hint}`);
      }
      images.push({ rgb: toRgb8(out.data, H, W), width: W, height: H });
    }
    return images;
  }
}

/**
 * Planar [3, H, W] in [−1, 1] → interleaved 8-bit RGB. Each operation is rounded to float32 as in diffusers
 * (torch float32 denormalize, numpy float32 ×255): in float64 some values just below k + ½ round down where
 * diffusers' float32 product is exactly k + ½ and rounds to even.
 */
export function toRgb8(planar: Float32Array, height: number, width: number): Uint8Array {
  const n = height * width;
  const rgb = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const v = Math.min(Math.max(Math.fround(planar[c * n + i] * 0.5 + 0.5), 0), 1);
      rgb[i * 3 + c] = roundHalfEven(Math.fround(v * 255));
    }
  }
  return rgb;
}

/** numpy's round (half to even), which diffusers' image conversion uses. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
