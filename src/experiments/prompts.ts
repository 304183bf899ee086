import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { PromptSetSpec } from './types.js';

/*
 * The paper's prompt sets as shipped in prompts/ (copied from the official W2SD repository, see its README),
 * and user CSVs. Ids are strings so that a user's own ids survive; the paper's sets use the row index.
 */

export interface Prompt {
  readonly id: string;
  readonly prompt: string;
  /** Row index in the set (Pick-a-Pic: the seed of the paper's protocol). */
  readonly index: number;
}

const PROMPTS_DIR = fileURLToPath(new URL('../../../prompts/', import.meta.url));

/** Reads a CSV with a header row into records (RFC 4180: quotes, commas and newlines inside fields, BOM). */
export function readCsv(path: string): Record<string, string>[] {
  if (!existsSync(path)) throw new Error(`prompt file ${path}: not found`);
  try {
    return parse(readFileSync(path), { columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[];
  } catch (err) {
    throw new Error(`prompt file ${path}: not valid CSV (${(err as Error).message})`);
  }
}

function column(rows: Record<string, string>[], path: string, names: readonly string[]): string {
  const header = rows.length > 0 ? Object.keys(rows[0]) : [];
  const found = names.find((n) => header.includes(n));
  if (!found) throw new Error(`prompt file ${path}: expected a column ${names.join(' or ')}, found ${header.join(', ') || 'no rows'}`);
  return found;
}

/** Pick-a-Pic test captions (the paper's first 100, seed = index). */
export function pickAPic(limit = 100): Prompt[] {
  const path = `${PROMPTS_DIR}pick-a-pic-test.csv`;
  const rows = readCsv(path);
  const cap = column(rows, path, ['caption']);
  // row 87 of the official file is empty; the official code generates it with the empty prompt, and so do we
  return take(rows.map((r, index) => ({ id: String(index), prompt: r[cap], index })), limit, 'pick-a-pic', true);
}

/** DrawBench, 200 prompts (11 categories). */
export function drawBench(limit = 200): Prompt[] {
  const path = `${PROMPTS_DIR}drawbench.csv`;
  const rows = readCsv(path);
  const col = column(rows, path, ['Prompts']);
  return take(rows.map((r, index) => ({ id: String(index), prompt: r[col], index })), limit, 'drawbench');
}

/** A user's CSV: header with `prompt` (required) and `id` (optional; default the row index). */
export function promptFile(path: string, limit?: number): Prompt[] {
  const rows = readCsv(path);
  const p = column(rows, path, ['prompt']);
  const hasId = rows.length > 0 && 'id' in rows[0];
  const out = rows.map((r, index) => ({ id: hasId ? r.id.trim() : String(index), prompt: r[p], index }));
  const seen = new Set<string>();
  for (const x of out) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(x.id)) throw new Error(`prompt file ${path}: id ${JSON.stringify(x.id)} (row ${x.index + 2}) must match [A-Za-z0-9._-]{1,64}`);
    if (seen.has(x.id)) throw new Error(`prompt file ${path}: id ${x.id} appears twice`);
    seen.add(x.id);
  }
  return take(out, limit, path);
}

function take(all: Prompt[], limit: number | undefined, what: string, allowEmpty = false): Prompt[] {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`prompts.limit: expected a positive integer, got ${limit}`);
  if (limit !== undefined && limit > all.length) throw new Error(`prompts.limit ${limit}: ${what} has only ${all.length} prompts`);
  const out = all.slice(0, limit ?? all.length);
  if (!allowEmpty) for (const p of out) if (p.prompt.trim() === '') throw new Error(`${what}: prompt ${p.id} is empty`);
  return out;
}

/** Resolves a config's prompt set (file paths already absolute). */
export function loadPromptSet(spec: PromptSetSpec): Prompt[] {
  switch (spec.set) {
    case 'pick-a-pic':
      return pickAPic(spec.limit ?? 100);
    case 'drawbench':
      return drawBench(spec.limit ?? 200);
    case 'file':
      if (!spec.file) throw new Error('prompts.file: required with set "file"');
      return promptFile(spec.file, spec.limit);
    case 'list':
      if (!spec.list) throw new Error('prompts.list: required with set "list"');
      return take(spec.list.map((prompt, index) => ({ id: String(index), prompt, index })), spec.limit, 'prompts.list');
  }
}
