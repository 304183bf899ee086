import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from './font.js';

export type Rgb = readonly [number, number, number];

/** An RGBA raster with alpha-blended drawing primitives: just what the toy figures need. Pure, so the web lab draws the same figures (PNG encoding is in canvas-png.ts). */
export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      this.data[4 * i] = background[0];
      this.data[4 * i + 1] = background[1];
      this.data[4 * i + 2] = background[2];
      this.data[4 * i + 3] = 255;
    }
  }

  /** Blends colour c with opacity a ∈ [0, 1] into pixel (x, y); out-of-range pixels are ignored. */
  blend(x: number, y: number, c: Rgb, a = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || a <= 0) return;
    const o = 4 * (y * this.width + x);
    const t = Math.min(1, a);
    for (let i = 0; i < 3; i++) this.data[o + i] = Math.round(this.data[o + i] * (1 - t) + c[i] * t);
  }

  fillRect(x0: number, y0: number, w: number, h: number, c: Rgb, a = 1): void {
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(this.height, Math.ceil(y0 + h)); y++) {
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(this.width, Math.ceil(x0 + w)); x++) this.blend(x, y, c, a);
    }
  }

  strokeRect(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    this.line(x0, y0, x0 + w - 1, y0, c);
    this.line(x0, y0 + h - 1, x0 + w - 1, y0 + h - 1, c);
    this.line(x0, y0, x0, y0 + h - 1, c);
    this.line(x0 + w - 1, y0, x0 + w - 1, y0 + h - 1, c);
  }

  /** A line by uniform sub-pixel stepping (cheap and good enough for thin plot strokes). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, a = 1): void {
    const n = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))) + 1;
    if (!Number.isFinite(n) || n > 100000) return;
    for (let i = 0; i <= n; i++) {
      const t = i / n;
      this.blend(x0 + t * (x1 - x0), y0 + t * (y1 - y0), c, a);
    }
  }

  disc(cx: number, cy: number, r: number, c: Rgb, a = 1): void {
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) this.blend(x, y, c, a);
      }
    }
  }

  text(x: number, y: number, s: string, c: Rgb = [0, 0, 0], scale = 1): void {
    for (let k = 0; k < s.length; k++) {
      const g = glyph(s[k]);
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if ((g[row] >> (GLYPH_WIDTH - 1 - col)) & 1) this.fillRect(x + (k * GLYPH_ADVANCE + col) * scale, y + row * scale, scale, scale, c);
        }
      }
    }
  }
}

/** A perceptually ordered light-to-dark blue ramp for density shading, t ∈ [0, 1]. */
export function densityColour(t: number): Rgb {
  const u = Math.max(0, Math.min(1, t));
  return [Math.round(247 - 200 * u), Math.round(251 - 150 * u), Math.round(255 - 80 * u)];
}

/** Distinct stroke colours for series. */
export const PALETTE: readonly Rgb[] = [
  [214, 39, 40],
  [255, 127, 14],
  [44, 160, 44],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [23, 190, 207],
  [188, 189, 34],
];
