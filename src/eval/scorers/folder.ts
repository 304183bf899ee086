import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { IMAGE_EXTENSIONS, isPng, pngText, promptFromParameters } from './image.js';

/*
 * The images of a folder to score and their prompts: from DIR/prompts.csv (header `file,prompt`, real CSV),
 * else from each PNG's `parameters` text (the text before its `Negative prompt:` or `Steps:` line).
 */

export interface ImageEntry {
  readonly file: string;
  readonly path: string;
  readonly prompt: string;
}

export const MAX_IMAGES = 100_000;

function csvPrompts(path: string): Map<string, string> {
  let rows: Record<string, string>[];
  try {
    rows = parse(readFileSync(path), { columns: true, bom: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (err) {
    throw new Error(`${path}: not valid CSV (${(err as Error).message})`);
  }
  if (rows.length > 0 && (!('file' in rows[0]) || !('prompt' in rows[0]))) throw new Error(`${path}: expected the header file,prompt, found ${Object.keys(rows[0]).join(',')}`);
  const out = new Map<string, string>();
  rows.forEach((r, i) => {
    if (out.has(r.file)) throw new Error(`${path}: ${r.file} appears twice (row ${i + 2})`);
    out.set(r.file, r.prompt);
  });
  return out;
}

/** Lists DIR's PNG/JPEG files (sorted) with their prompts; any image without a prompt is an error naming it. */
export function imagesWithPrompts(dir: string): ImageEntry[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`image folder ${dir}: not found or not a folder`);
  const files = readdirSync(dir)
    .filter((f) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()) && !f.startsWith('.'))
    .sort();
  if (files.length === 0) throw new Error(`image folder ${dir}: no .png, .jpg or .jpeg files`);
  if (files.length > MAX_IMAGES) throw new Error(`image folder ${dir}: ${files.length} images, at most ${MAX_IMAGES}`);
  const csvPath = join(dir, 'prompts.csv');
  const csv = existsSync(csvPath) ? csvPrompts(csvPath) : undefined;
  if (csv) {
    for (const f of csv.keys()) if (!files.includes(f)) throw new Error(`${csvPath}: ${f} is not an image in ${dir}`);
  }
  return files.map((file) => {
    const path = join(dir, file);
    let prompt = csv?.get(file);
    if (prompt === undefined && !csv) {
      const buf = readFileSync(path);
      if (isPng(buf)) {
        const params = pngText(buf, path).parameters;
        prompt = params !== undefined ? promptFromParameters(params) : undefined;
      }
    }
    if (prompt === undefined) {
      throw new Error(`${path}: no prompt (${csv ? `not listed in ${csvPath}` : 'no prompts.csv in the folder and no "parameters" text in the image'})`);
    }
    return { file, path, prompt };
  });
}
