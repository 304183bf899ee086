import { mkdirSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { DecodedImage } from '../models/sd/vae.js';
import { writeFilesAtomically } from './atomic.js';
import { encodePng } from './png.js';

/** The PNG files of a run: `output`, or with batch > 1 `-0`, `-1`, … before `.png`. */
export function outputPaths(output: string, batch: number): string[] {
  if (extname(output).toLowerCase() !== '.png') throw new Error(`output ${output}: expected a .png file name`);
  const full = resolve(output);
  if (batch === 1) return [full];
  const stem = full.slice(0, -4);
  return Array.from({ length: batch }, (_, b) => `${stem}-${b}.png`);
}

/** Encodes every image as a PNG carrying its text chunks (parameters.ts) and writes them all or none. */
export function writeImages(images: readonly DecodedImage[], files: readonly string[], texts: readonly Record<string, string>[], signal?: AbortSignal): void {
  if (files.length === 0) return;
  mkdirSync(dirname(files[0]), { recursive: true });
  const pngs = images.map((img, b) => ({ path: files[b], data: encodePng(img.rgb, img.width, img.height, texts[b]) }));
  writeFilesAtomically(pngs, signal);
}
