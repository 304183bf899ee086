import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ddim } from '../core/samplers/ddim.js';
import { ddimSchedule } from '../core/schedules/discrete.js';
import { loadMnist, toSigned } from '../data/index.js';
import { imageGrid, labelledPanels, writeAtomic, writePng } from '../lab/mnist/grid.js';
import { evaluateSamples, makeReference, type RowMetrics } from '../lab/mnist/evaluate.js';
import { MODEL_NAMES, ModelShelf } from '../lab/mnist/models.js';
import { plainRow, reflectionRow } from '../lab/mnist/rows.js';
import { runRow } from '../lab/mnist/run.js';
import { pairedProportionDiff } from '../lab/mnist/stats.js';
import { withOutputSet } from '../pipelines/atomic.js';
import { checkBudget, defaultMaxMemoryMiB, maxMemoryOption } from './budget.js';
import { runSignal } from './cancel.js';
import { mnistNeed } from './lab.js';
import { checkInputFolder, checkOutputFolder } from './paths.js';
import { progressBar } from './progress.js';
import { parseInteger } from './validate.js';

/**
 * The main job's default: the shipped strong MNIST model sampled plainly and with W2SD (weak = the small
 * model, the paper's DDIM inversion, λ = T − 1) from the same seeds, side by side, with the metrics.
 */
export interface StartOptions {
  readonly modelsDir?: string;
  readonly out: string;
  /** Samples per method for the metrics (the grid shows the first 100). */
  readonly samples: number;
  readonly steps: number;
  readonly seed: number;
  readonly batch: number;
  readonly log?: (line: string) => void;
  /** Samples drawn so far over both methods, for a progress bar. */
  readonly onProgress?: (done: number, total: number, label: string) => void;
  /** Stops the run between batches once aborted. */
  readonly signal?: AbortSignal;
}

export interface StartRow {
  readonly name: string;
  readonly nfe: number;
  readonly seconds: number;
  readonly metrics: RowMetrics;
}

export interface StartResult {
  readonly rows: readonly StartRow[];
  readonly files: readonly string[];
  /** W2SD minus plain accuracy, paired over samples. */
  readonly accuracyDiff: { diff: number; halfWidth: number };
  readonly text: string;
}

export async function start(o: StartOptions): Promise<StartResult> {
  const log = o.log ?? (() => {});
  const shelf = new ModelShelf(o.modelsDir);
  const [strongM, weakM, classifier] = await Promise.all([shelf.model(MODEL_NAMES.qualityStrong), shelf.model(MODEL_NAMES.qualityWeak), shelf.classifier()]);
  const strong = { model: strongM };
  const weak = { model: weakM };
  const rows = [
    plainRow('plain', `${strongM.name}, plain DDIM`, 'baseline', strong),
    reflectionRow({ id: 'w2sd', name: `W2SD (weak ${weakM.name})`, group: 'w2sd', main: strong, strong, weak }),
  ];
  const test = loadMnist('test');
  const ref = await makeReference('MNIST test', toSigned(test), test.count, classifier, Math.min(o.samples, 2000));
  const settings = {
    count: o.samples,
    batch: o.batch,
    seed: o.seed,
    steps: o.steps,
    sampler: ddim(),
    schedule: (n: number) => ddimSchedule(strongM.scheduler, n),
    imageShape: strongM.imageShape,
    labelOf: (i: number) => i % strongM.config.numClasses,
  };
  const shown = Math.min(100, o.samples);
  const panels: { title: string; image: ReturnType<typeof imageGrid> }[] = [];
  const out: StartRow[] = [];
  const correct: Uint8Array[] = [];
  for (const [k, row] of rows.entries()) {
    log(`sampling ${o.samples} images: ${row.name}`);
    const s = await runRow(row, { ...settings, signal: o.signal, onBatch: (done) => o.onProgress?.(k * o.samples + done, rows.length * o.samples, row.name) });
    const ev = await evaluateSamples(s.images, s.labels, s.count, classifier, ref, { conditional: true, prCount: Math.min(o.samples, 2000) });
    correct.push(Uint8Array.from(ev.predicted, (c, i) => Number(c === s.labels[i])));
    out.push({ name: row.name, nfe: s.nfe, seconds: s.seconds, metrics: ev.metrics });
    panels.push({ title: row.id === 'plain' ? 'plain' : 'W2SD', image: imageGrid(s.images.subarray(0, shown * 784), shown, 28, 28, { cols: 10 }) });
  }
  const gridFile = resolve(join(o.out, 'mnist-plain-vs-w2sd.png'));
  writePng(gridFile, labelledPanels(panels));
  const accuracyDiff = pairedProportionDiff(correct[1], correct[0]);
  const text = report(out, accuracyDiff, o, gridFile);
  const jsonFile = resolve(join(o.out, 'metrics.json'));
  writeAtomic(jsonFile, JSON.stringify({ settings: { samples: o.samples, steps: o.steps, seed: o.seed, sampler: 'ddim (eta 0)', lambda: o.steps - 1 }, rows: out, accuracyDiff }, null, 2) + '\n');
  return { rows: out, files: [gridFile, jsonFile], accuracyDiff, text: `${text}\nwrote ${gridFile}\nwrote ${jsonFile}\n` };
}

function report(rows: readonly StartRow[], acc: { diff: number; halfWidth: number }, o: StartOptions, grid: string): string {
  const lines = [
    `MNIST, ${o.samples} samples per method (digit = sample index mod 10), DDIM T = ${o.steps}, W2SD λ = ${o.steps - 1}, seed ${o.seed}; the same noise for both.`,
    '',
    '| method | NFE | accuracy | FD (classifier features) | precision | recall | seconds |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.name} | ${r.nfe} | ${(100 * (r.metrics.accuracy ?? 0)).toFixed(1)} % | ${r.metrics.frechet.toFixed(3)} | ${(100 * r.metrics.precision).toFixed(1)} % | ${(100 * r.metrics.recall).toFixed(1)} % | ${r.seconds.toFixed(1)} |`),
    '',
    `W2SD − plain accuracy: ${(100 * acc.diff).toFixed(1)} ± ${(100 * acc.halfWidth).toFixed(1)} pp (paired 95 %). Side by side: ${grid}`,
    'Full comparison with baselines and controls: `w2sd lab all` (docs/RESULTS.md).',
  ];
  return lines.join('\n');
}

export function registerStart(program: Command): Command {
  return program
    .command('start')
    .description('Default demo: the shipped MNIST model, plain and with W2SD, side by side, with metrics')
    .option('--models <dir>', 'folder of the shipped models (default: the project\'s models/)')
    .option('--out <dir>', 'output folder', 'out/start')
    .option('--samples <n>', 'samples per method for the metrics', '300')
    .option('--steps <T>', 'DDIM steps', '20')
    .option('--seed <n>', 'seed', '0')
    .option('--batch <n>', 'images per model call', '64')
    .option('--max-memory <MiB>', `refuse runs whose estimated memory exceeds this (default ¾ of this machine: ${defaultMaxMemoryMiB()} MiB)`)
    .action(async (raw: StartRaw) => {
      const o = startPlan(raw);
      const tty = process.stderr.isTTY === true;
      const bar = progressBar('start', tty);
      let r: StartResult;
      try {
        r = await withOutputSet(() => start({ ...o, log: tty ? undefined : (line) => process.stderr.write(`${line}\n`), onProgress: bar.update, signal: runSignal }), runSignal, [o.out]);
      } finally {
        bar.stop();
      }
      process.stdout.write(`${r.text}`);
    });
}

interface StartRaw {
  models?: string;
  out: string;
  samples: string;
  steps: string;
  seed: string;
  batch: string;
  maxMemory?: string;
}

/** Documented ranges of `w2sd start` (docs/RELIABILITY.md). */
export const START_RANGES = {
  samples: { min: 2, max: 1_000_000 },
  steps: { min: 2, max: 1000 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER },
  batch: { min: 1, max: 4096 },
} as const;

/** The command line, checked before a model is loaded. */
export function startPlan(raw: StartRaw): StartOptions {
  const o: StartOptions = {
    ...(raw.models ? { modelsDir: checkInputFolder(raw.models, '--models') } : {}),
    out: checkOutputFolder(raw.out, '--out'),
    samples: parseInteger(raw.samples, '--samples', START_RANGES.samples),
    steps: parseInteger(raw.steps, '--steps', START_RANGES.steps),
    seed: parseInteger(raw.seed, '--seed', START_RANGES.seed),
    batch: parseInteger(raw.batch, '--batch', START_RANGES.batch),
  };
  checkBudget(mnistNeed({ samples: o.samples, batch: o.batch, prSamples: Math.min(o.samples, 2000), rows: 2 }), { maxMemoryBytes: maxMemoryOption(raw.maxMemory) });
  return o;
}
