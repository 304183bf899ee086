import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { RgbImage } from './types.js';

/*
 * Image files to 8-bit RGB as PIL's Image.open(...).convert("RGB") gives them (what Hugging Face's processors
 * start from): alpha is dropped, not composited; palette and grayscale expand to RGB; 16-bit samples keep
 * their high byte (PIL's unpackers for 16-bit RGB, RGBA and LA; for 16-bit grayscale PIL clips to 255
 * instead, which whitens almost every image, so here it is scaled like the others).
 */

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;
/** Larger images are refused before decoding (memory bound). */
export const MAX_PIXELS = 64 * 1024 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(buf: Uint8Array): boolean {
  return buf.length >= 8 && Buffer.from(buf.subarray(0, 8)).equals(PNG_SIGNATURE);
}

export function isJpeg(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
}

interface PngChunk {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly data: Buffer;
}

/** The chunk list, checking that every chunk is complete and the file ends with IEND. */
export function pngChunks(buf: Buffer, what: string): PngChunk[] {
  const chunks: PngChunk[] = [];
  let p = 8;
  while (p < buf.length) {
    if (p + 12 > buf.length) throw new Error(`${what}: truncated PNG (incomplete chunk at byte ${p})`);
    const len = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    const end = p + 12 + len;
    if (end > buf.length) throw new Error(`${what}: truncated PNG (chunk ${type} at byte ${p} needs ${len} bytes)`);
    chunks.push({ type, start: p, end, data: buf.subarray(p + 8, p + 8 + len) });
    p = end;
    if (type === 'IEND') break;
  }
  if (chunks.length === 0 || chunks[0].type !== 'IHDR') throw new Error(`${what}: not a PNG (no IHDR)`);
  if (chunks[chunks.length - 1].type !== 'IEND') throw new Error(`${what}: truncated PNG (no IEND chunk)`);
  return chunks;
}

function checkSize(width: number, height: number, what: string): void {
  if (width < 1 || height < 1) throw new Error(`${what}: empty image (${width}×${height})`);
  if (width * height > MAX_PIXELS) throw new Error(`${what}: ${width}×${height} is more than ${MAX_PIXELS} pixels`);
}

function decodePng(buf: Buffer, what: string): RgbImage {
  const chunks = pngChunks(buf, what);
  const ihdr = chunks[0].data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const depth = ihdr[8];
  const colorType = ihdr[9];
  checkSize(width, height, what);
  // pngjs blanks pixels of a tRNS key colour to transparent black; PIL's convert("RGB") keeps their colour,
  // so the key is dropped before decoding (palettes keep theirs: there it only sets alpha)
  const kept = colorType === 3 ? chunks : chunks.filter((c) => c.type !== 'tRNS');
  const clean = Buffer.concat([PNG_SIGNATURE, ...kept.map((c) => buf.subarray(c.start, c.end))]);
  let png: PNG;
  try {
    png = PNG.sync.read(clean, { skipRescale: true });
  } catch (err) {
    throw new Error(`${what}: unreadable PNG (${(err as Error).message})`);
  }
  const src = png.data as unknown as ArrayLike<number>;
  const rgb = new Uint8Array(width * height * 3);
  const shift = depth === 16 ? 8 : 0;
  const n = width * height;
  if (depth < 8 && colorType !== 3) {
    // 1, 2, 4-bit grayscale: PIL expands to 0..255 by multiplying by 255 / (2^depth − 1)
    const scale = 255 / ((1 << depth) - 1);
    for (let i = 0; i < n; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = Math.round(src[i * 4] * scale);
    return { rgb, width, height };
  }
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = src[i * 4] >> shift;
    rgb[i * 3 + 1] = src[i * 4 + 1] >> shift;
    rgb[i * 3 + 2] = src[i * 4 + 2] >> shift;
  }
  return { rgb, width, height };
}

function decodeJpeg(buf: Buffer, what: string): RgbImage {
  // a complete JPEG ends with EOI (FF D9); jpeg-js would decode a cut file into grey blocks without a word
  let end = buf.length;
  while (end > 2 && buf[end - 1] !== 0xd9) end--;
  if (end <= 2 || buf[end - 2] !== 0xff) throw new Error(`${what}: truncated JPEG (no end-of-image marker)`);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
  } catch (err) {
    throw new Error(`${what}: unreadable JPEG (${(err as Error).message ?? String(err)})`);
  }
  checkSize(img.width, img.height, what);
  if (img.data.length !== img.width * img.height * 3) throw new Error(`${what}: JPEG decoded to ${img.data.length} bytes, expected ${img.width * img.height * 3}`);
  return { rgb: img.data, width: img.width, height: img.height };
}

export function decodeImage(buf: Buffer, what: string): RgbImage {
  if (isPng(buf)) return decodePng(buf, what);
  if (isJpeg(buf)) return decodeJpeg(buf, what);
  throw new Error(`${what}: not a PNG or JPEG file`);
}

export function readImage(path: string): RgbImage {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeImage(buf, path);
}

/** tEXt and iTXt (uncompressed) chunks of a PNG: the generation parameters written by w2sd and A1111-style tools. */
export function pngText(buf: Buffer, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of pngChunks(buf, what)) {
    if (c.type === 'tEXt') {
      const z = c.data.indexOf(0);
      if (z > 0) out[c.data.toString('latin1', 0, z)] = c.data.toString('latin1', z + 1);
    } else if (c.type === 'iTXt') {
      const z = c.data.indexOf(0);
      if (z <= 0 || c.data[z + 1] !== 0) continue; // compressed iTXt: not written by w2sd
      const lang = c.data.indexOf(0, z + 3);
      const trans = lang < 0 ? -1 : c.data.indexOf(0, lang + 1);
      if (trans < 0) continue;
      out[c.data.toString('latin1', 0, z)] = c.data.toString('utf8', trans + 1);
    }
  }
  return out;
}

/** The prompt of an A1111-style `parameters` text: everything before the `Negative prompt:` or `Steps:` line. */
export function promptFromParameters(text: string): string | undefined {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const stop = lines.findIndex((l) => l.startsWith('Negative prompt:') || l.startsWith('Steps:'));
  const prompt = (stop < 0 ? lines : lines.slice(0, stop)).join('\n').trim();
  return prompt === '' ? undefined : prompt;
}
