import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FIXTURES } from './onnx-graphs.js';

/** test/fixtures/scorers: the tiny CLIP-like model, its images and the PyTorch + PIL references. */
export const SCORER_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/scorers', import.meta.url));

export interface ScorerReference {
  readonly kind: 'exact' | 'resized' | 'jpeg';
  readonly mode: string;
  readonly size: [number, number];
  readonly prompt: string;
  readonly input_ids: number[];
  readonly pixel_sum: number;
  readonly pixel_abs_sum: number;
  readonly pixel_first: number[];
  readonly scores: Record<'clipscore' | 'pickscore' | 'hpsv2' | 'aesthetic', number>;
}

export function scorerReferences(): Record<string, ScorerReference> {
  return (JSON.parse(fs.readFileSync(`${SCORER_FIXTURES}/references.json`, 'utf8')) as { images: Record<string, ScorerReference> }).images;
}

/** clip-i and dino of three images against test/fixtures/scorers/references/. */
export function scorerPersonalization(): Record<string, { 'clip-i': number; dino: number }> {
  return (JSON.parse(fs.readFileSync(`${SCORER_FIXTURES}/references.json`, 'utf8')) as { personalization: Record<string, { 'clip-i': number; dino: number }> }).personalization;
}

/**
 * A complete scorer folder in optimum's CLIP layout: the tiny model and its configs, plus the real CLIP
 * vocabulary and merges (linked, as an export would carry copies).
 */
export function writeTestScorerFolder(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(`${SCORER_FIXTURES}/tiny-clip`)) fs.symlinkSync(`${SCORER_FIXTURES}/tiny-clip/${f}`, `${dir}/${f}`);
  for (const f of ['vocab.json', 'merges.txt']) fs.symlinkSync(`${FIXTURES}/clip-tokenizer/${f}`, `${dir}/${f}`);
  return dir;
}
