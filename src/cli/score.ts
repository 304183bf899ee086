import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { imagesWithPrompts } from '../eval/scorers/folder.js';
import { readImage } from '../eval/scorers/image.js';
import { openScorer, releaseScorerModels, REFERENCE_SCORERS, SCORER_NAMES, type ScorerName } from '../eval/scorers/open.js';
import type { ImageScorer } from '../eval/scorers/types.js';
import { positiveIntOption, type CliIo } from './experiment.js';

interface RawOptions {
  scorer: string[];
  references?: string;
  json?: boolean;
  batch: string;
  threads?: string;
}

const STDIO: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** NAME=PATH, NAME one of the scorers. */
export function parseScorerOption(v: string): { name: ScorerName; path: string } {
  const eq = v.indexOf('=');
  const name = eq < 0 ? v : v.slice(0, eq);
  if (!(SCORER_NAMES as readonly string[]).includes(name)) throw new Error(`--scorer ${v}: NAME must be one of ${SCORER_NAMES.join(', ')}`);
  if (eq < 0 || eq === v.length - 1) throw new Error(`--scorer ${v}: expected NAME=PATH (PATH: a CLIP model folder in optimum's layout)`);
  return { name: name as ScorerName, path: resolve(v.slice(eq + 1)) };
}

async function action(dir: string, raw: RawOptions, io: CliIo): Promise<void> {
  // every input is checked, every model loaded and every image decoded once before the first score
  const batch = positiveIntOption(raw.batch, '--batch')!;
  if (batch > 256) throw new Error(`--batch: at most 256, got ${batch}`);
  const threads = positiveIntOption(raw.threads, '--threads');
  if (!raw.scorer || raw.scorer.length === 0) throw new Error(`--scorer NAME=PATH: at least one (NAME: ${SCORER_NAMES.join(', ')})`);
  const specs = raw.scorer.map(parseScorerOption);
  if (new Set(specs.map((s) => s.name)).size !== specs.length) throw new Error('--scorer: a NAME appears twice');
  for (const s of specs) if (!existsSync(s.path)) throw new Error(`--scorer ${s.name}=${s.path}: folder not found`);
  const needRefs = specs.filter((s) => REFERENCE_SCORERS.includes(s.name)).map((s) => s.name);
  if (needRefs.length > 0 && raw.references === undefined) throw new Error(`--references DIR: required by ${needRefs.join(', ')} (the subject's reference images)`);
  if (needRefs.length === 0 && raw.references !== undefined) throw new Error(`--references applies to ${REFERENCE_SCORERS.join(', ')} only`);
  const references = raw.references !== undefined ? resolve(raw.references) : undefined;
  const entries = imagesWithPrompts(resolve(dir));
  const scorers: ImageScorer[] = [];
  for (const s of specs) scorers.push(await openScorer({ name: s.name, kind: s.name, path: s.path, references }, threads !== undefined ? { threads } : {}));
  for (const e of entries) readImage(e.path);

  const results = entries.map((e) => ({ file: e.file, prompt: e.prompt, scores: {} as Record<string, number> }));
  const t0 = performance.now();
  for (let i = 0; i < entries.length; i += batch) {
    const part = entries.slice(i, i + batch);
    const inputs = part.map((e) => ({ image: readImage(e.path), prompt: e.prompt }));
    for (const s of scorers) {
      const values = await s.score(inputs);
      values.forEach((v, k) => (results[i + k].scores[s.name] = v));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const summary = Object.fromEntries(scorers.map((s) => [s.name, { mean: results.reduce((a, r) => a + r.scores[s.name], 0) / results.length, images: results.length }]));
  await releaseScorerModels();
  if (raw.json) {
    io.out(`${JSON.stringify({ images: results, scorers: Object.fromEntries(specs.map((s) => [s.name, { path: s.path }])), summary, seconds }, null, 2)}\n`);
    return;
  }
  const names = scorers.map((s) => s.name);
  io.out(`file\t${names.join('\t')}\n`);
  for (const r of results) io.out(`${r.file}\t${names.map((n) => r.scores[n].toFixed(4)).join('\t')}\n`);
  io.out(`mean\t${names.map((n) => summary[n].mean.toFixed(4)).join('\t')}\n`);
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** `w2sd score DIR --scorer NAME=PATH …`: reward scores of every image in a folder against its prompt. */
export function registerScore(program: Command, io: CliIo = STDIO): Command {
  return program
    .command('score')
    .description('Score every PNG/JPEG in a folder against its prompt (prompts.csv or PNG parameters): clipscore, pickscore, hpsv2, aesthetic; clip-i, dino against --references')
    .argument('<dir>', 'image folder')
    .option('--scorer <name=path>', `scorer and its model folder (optimum CLIP layout); NAME: ${SCORER_NAMES.join(', ')}; repeatable`, collect)
    .option('--references <dir>', 'reference images of the subject, for clip-i and dino')
    .option('--batch <n>', 'images per model call', '8')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--json', 'print {"images":[{file,prompt,scores}],…} on stdout')
    .action((dir: string, raw: RawOptions) => action(dir, raw, io));
}
