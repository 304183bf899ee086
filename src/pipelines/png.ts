import { PNG } from 'pngjs';
import { withTextChunks } from './png-text.js';

export { asciiJson, chunk, crc32 } from './png-text.js';

/** Encodes 8-bit RGB (interleaved) as PNG with text chunks right after IHDR. */
export function encodePng(rgb: Uint8Array, width: number, height: number, text: Readonly<Record<string, string>> = {}): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`PNG: ${rgb.length} bytes do not fill ${width}×${height} RGB`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  const raw = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  const out = withTextChunks(raw, text);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
