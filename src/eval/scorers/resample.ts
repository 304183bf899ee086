import type { RgbImage } from './types.js';

/*
 * Image.resize of Pillow on 8-bit RGB (what Hugging Face's CLIPImageProcessor calls): a separable convolution,
 * horizontal pass first into an 8-bit intermediate, then vertical. Coefficients are the filter sampled at
 * pixel centres with its support widened by the downscale factor (antialiasing), normalised to sum 1, then
 * turned into 22-bit fixed point; sums start at one half and are clipped to 0..255. Doing the same integer
 * arithmetic makes the output equal to Pillow's byte for byte.
 */

const PRECISION_BITS = 32 - 8 - 2;

export const RESAMPLE_FILTERS = { 2: 'bilinear', 3: 'bicubic' } as const;
export type ResampleCode = keyof typeof RESAMPLE_FILTERS;

interface Filter {
  readonly support: number;
  readonly f: (x: number) => number;
}

const BICUBIC_A = -0.5;
const FILTERS: Record<ResampleCode, Filter> = {
  2: { support: 1, f: (x) => (x < 0 ? -x : x) < 1 ? 1 - (x < 0 ? -x : x) : 0 },
  3: {
    support: 2,
    f: (x0) => {
      const x = Math.abs(x0);
      if (x < 1) return ((BICUBIC_A + 2) * x - (BICUBIC_A + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * BICUBIC_A;
      return 0;
    },
  },
};

interface Coefficients {
  readonly ksize: number;
  /** Per output pixel: first input index and count. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, ksize per output pixel. */
  readonly k: Int32Array;
}

function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C casts truncate toward zero
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.f((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? w[x] / ww : x < xmax ? w[x] : 0;
      k[xx * ksize + x] = Math.trunc(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, k };
}

function clip8(v: number): number {
  if (v >= 256 * (1 << PRECISION_BITS)) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / (1 << PRECISION_BITS));
}

/** Pillow's Image.resize((width, height), resample) on RGB, without reducing_gap (as transformers calls it). */
export function resizeRgb(img: RgbImage, width: number, height: number, resample: ResampleCode = 3): RgbImage {
  if (!(resample in FILTERS)) throw new Error(`resample ${resample}: supported ${Object.entries(RESAMPLE_FILTERS).map(([c, n]) => `${c} (${n})`).join(', ')}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`resize to ${width}×${height}: expected positive integers`);
  if (width === img.width && height === img.height) return { rgb: img.rgb.slice(), width, height };
  const filter = FILTERS[resample];
  const horiz = coefficients(img.width, width, filter);
  const vert = coefficients(img.height, height, filter);
  const needH = width !== img.width;
  const needV = height !== img.height;
  const half = 1 << (PRECISION_BITS - 1);
  let src = img.rgb;
  let srcW = img.width;
  let rowOffset = 0;
  const vb = vert.bounds;
  if (needH) {
    // only the rows the vertical pass reads
    const first = vb[0];
    const last = vb[(height - 1) * 2] + vb[(height - 1) * 2 + 1];
    const rows = needV ? last - first : img.height;
    const y0 = needV ? first : 0;
    const tmp = new Uint8Array(width * rows * 3);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + y0) * img.width * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmin = horiz.bounds[xx * 2];
        const xmax = horiz.bounds[xx * 2 + 1];
        const kk = xx * horiz.ksize;
        let s0 = half;
        let s1 = half;
        let s2 = half;
        for (let x = 0; x < xmax; x++) {
          const c = horiz.k[kk + x];
          const p = inRow + (x + xmin) * 3;
          s0 += src[p] * c;
          s1 += src[p + 1] * c;
          s2 += src[p + 2] * c;
        }
        const o = (y * width + xx) * 3;
        tmp[o] = clip8(s0);
        tmp[o + 1] = clip8(s1);
        tmp[o + 2] = clip8(s2);
      }
    }
    src = tmp;
    srcW = width;
    rowOffset = needV ? y0 : 0;
  }
  if (!needV) return { rgb: src === img.rgb ? src.slice() : src, width, height };
  const out = new Uint8Array(width * height * 3);
  for (let yy = 0; yy < height; yy++) {
    const ymin = vb[yy * 2] - rowOffset;
    const ymax = vb[yy * 2 + 1];
    const kk = yy * vert.ksize;
    for (let xx = 0; xx < width; xx++) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let y = 0; y < ymax; y++) {
        const c = vert.k[kk + y];
        const p = ((y + ymin) * srcW + xx) * 3;
        s0 += src[p] * c;
        s1 += src[p + 1] * c;
        s2 += src[p + 2] * c;
      }
      const o = (yy * width + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return { rgb: out, width, height };
}
