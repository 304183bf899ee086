import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import type { GreyImage } from './grid-image.js';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph } from '../plot/font.js';

export { imageGrid, toByte, type GreyImage, type GridOptions } from './grid-image.js';

/** Places grids side by side (e.g. plain | W2SD), top-aligned, separated by `gap` pixels of `gapValue`. */
export function sideBySide(panels: readonly GreyImage[], gap = 6, gapValue = 255): GreyImage {
  if (panels.length === 0) throw new Error('side by side: no panels');
  const height = Math.max(...panels.map((p) => p.height));
  const width = panels.reduce((w, p) => w + p.width, 0) + gap * (panels.length - 1);
  const pixels = new Uint8Array(width * height).fill(gapValue);
  let left = 0;
  for (const p of panels) {
    for (let y = 0; y < p.height; y++) pixels.set(p.pixels.subarray(y * p.width, (y + 1) * p.width), y * width + left);
    left += p.width + gap;
  }
  return { width, height, pixels };
}

/**
 * Panels side by side, each under its title in the project's 5×7 bitmap font (scaled ×2 when the panel is
 * wide enough), so a comparison picture says which method is which without a caption.
 */
export function labelledPanels(panels: readonly { title: string; image: GreyImage }[], gap = 8): GreyImage {
  const strip = 2 * GLYPH_HEIGHT + 8;
  return sideBySide(
    panels.map(({ title, image }) => {
      const width = Math.max(image.width, 16);
      const pixels = new Uint8Array(width * (image.height + strip)).fill(255);
      const scale = title.length * GLYPH_ADVANCE * 2 <= width ? 2 : 1;
      const text = title.slice(0, Math.floor(width / (GLYPH_ADVANCE * scale)));
      for (let k = 0; k < text.length; k++) {
        const g = glyph(text[k]);
        for (let row = 0; row < GLYPH_HEIGHT; row++) {
          for (let col = 0; col < GLYPH_WIDTH; col++) {
            if (!((g[row] >> (GLYPH_WIDTH - 1 - col)) & 1)) continue;
            for (let dy = 0; dy < scale; dy++) {
              for (let dx = 0; dx < scale; dx++) {
                const x = 2 + (k * GLYPH_ADVANCE + col) * scale + dx;
                const y = 3 + row * scale + dy;
                if (x < width) pixels[y * width + x] = 0;
              }
            }
          }
        }
      }
      for (let y = 0; y < image.height; y++) pixels.set(image.pixels.subarray(y * image.width, (y + 1) * image.width), (y + strip) * width);
      return { width, height: image.height + strip, pixels };
    }),
    gap,
  );
}

/** Writes an 8-bit greyscale PNG through a temporary file and a rename, so no reader sees half a file. */
export function writePng(path: string, image: GreyImage): void {
  const png = new PNG({ width: image.width, height: image.height, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = Buffer.from(image.pixels.buffer, image.pixels.byteOffset, image.pixels.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  writeAtomic(path, bytes);
}

export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${path}: ${(err as Error).message}`);
  }
}
