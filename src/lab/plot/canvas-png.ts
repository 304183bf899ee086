import { PNG } from 'pngjs';
import type { Canvas } from './canvas.js';

/** The canvas as PNG bytes (Node only; the browser puts the same RGBA into an ImageData). */
export function canvasToPng(c: Canvas): Buffer {
  const png = new PNG({ width: c.width, height: c.height });
  png.data = Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength);
  return PNG.sync.write(png);
}
