import { relative, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { EXPERIMENTS, type ExperimentName } from '../lab/mnist/experiments.js';
import { runExperiment, type ExperimentResult, type LabOptions } from '../lab/mnist/lab.js';
import { experimentMarkdown, mnistSection } from '../lab/mnist/report.js';
import { writeAtomic } from '../lab/mnist/grid.js';
import { EXTRA_LABS, extraLabAction } from './lab-extra.js';

export interface RawOptions {
  models?: string;
  out: string;
  samples: string;
  batch: string;
  steps: string;
  seed: string;
  cfg: string;
  autoguidance: string;
  prSamples: string;
  cosineSamples: string;
  bootstrap: string;
  rows?: string;
  threads?: string;
  grid: string;
  fixedPointTol: string;
  fixedPointIters: string;
  json?: boolean;
  results?: string;
  quiet?: boolean;
}

/** The whole string must be a number of the stated kind ("12abc", "", "Infinity" are errors). */
export function parseNumberOption(value: string, name: string, kind: 'int' | 'positive-int' | 'number' | 'positive'): number {
  const v = value.trim() === '' ? NaN : Number(value);
  const ok =
    Number.isFinite(v) &&
    (kind === 'number' || (kind === 'positive' && v > 0) || (kind === 'int' && Number.isInteger(v) && v >= 0) || (kind === 'positive-int' && Number.isInteger(v) && v > 0));
  if (!ok) {
    const what = { int: 'a non-negative integer', 'positive-int': 'a positive integer', number: 'a finite number', positive: 'a positive number' }[kind];
    throw new Error(`${name}: expected ${what}, got ${JSON.stringify(value)}`);
  }
  return v;
}

/** The command that reproduces a run, written beside its numbers. */
export function commandLine(name: string, raw: RawOptions): string {
  const parts = [`w2sd lab ${name}`, `--samples ${raw.samples}`, `--steps ${raw.steps}`, `--seed ${raw.seed}`, `--batch ${raw.batch}`, `--cfg ${raw.cfg}`, `--autoguidance ${raw.autoguidance}`];
  parts.push(`--pr-samples ${raw.prSamples}`, `--cosine-samples ${raw.cosineSamples}`, `--bootstrap ${raw.bootstrap}`, `--fixed-point-tol ${raw.fixedPointTol}`, `--fixed-point-iters ${raw.fixedPointIters}`);
  if (raw.rows) parts.push(`--rows ${raw.rows}`);
  if (raw.models) parts.push(`--models ${raw.models}`);
  if (raw.threads) parts.push(`--threads ${raw.threads}`);
  return parts.join(' ');
}

export function parseExperiments(name: string): ExperimentName[] {
  if (name === 'all') return [...EXPERIMENTS];
  if ((EXPERIMENTS as readonly string[]).includes(name)) return [name as ExperimentName];
  throw new Error(`lab: expected ${EXPERIMENTS.join(', ')} or all, got ${JSON.stringify(name)}`);
}

export function labOptions(raw: RawOptions, log?: (line: string) => void): LabOptions {
  const weights = raw.autoguidance.split(',').map((w) => parseNumberOption(w, '--autoguidance', 'number'));
  return {
    ...(raw.models ? { modelsDir: raw.models } : {}),
    out: raw.out,
    samples: parseNumberOption(raw.samples, '--samples', 'positive-int'),
    batch: parseNumberOption(raw.batch, '--batch', 'positive-int'),
    steps: parseNumberOption(raw.steps, '--steps', 'positive-int'),
    seed: parseNumberOption(raw.seed, '--seed', 'int'),
    settings: {
      cfgScale: parseNumberOption(raw.cfg, '--cfg', 'number'),
      autoguidanceWeights: weights,
      fixedPoint: {
        tolerance: parseNumberOption(raw.fixedPointTol, '--fixed-point-tol', 'positive'),
        maxIterations: parseNumberOption(raw.fixedPointIters, '--fixed-point-iters', 'positive-int'),
      },
    },
    prSamples: parseNumberOption(raw.prSamples, '--pr-samples', 'positive-int'),
    cosineSamples: parseNumberOption(raw.cosineSamples, '--cosine-samples', 'int'),
    bootstrap: parseNumberOption(raw.bootstrap, '--bootstrap', 'int'),
    ...(raw.rows ? { rows: raw.rows.split(',').map((r) => r.trim()).filter(Boolean) } : {}),
    ...(raw.threads ? { threads: parseNumberOption(raw.threads, '--threads', 'positive-int') } : {}),
    gridImages: parseNumberOption(raw.grid, '--grid', 'positive-int'),
    ...(log ? { log } : {}),
  };
}

async function action(name: string, raw: RawOptions): Promise<void> {
  if ((EXTRA_LABS as readonly string[]).includes(name)) {
    const log = raw.json || raw.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
    return extraLabAction(name as (typeof EXTRA_LABS)[number], labOptions(raw, log), raw);
  }
  const experiments = parseExperiments(name);
  const say = raw.json || raw.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
  const opts = labOptions(raw, say);
  const results: ExperimentResult[] = [];
  for (const e of experiments) {
    const r = await runExperiment(e, opts);
    results.push(r);
    if (!raw.json) process.stdout.write(`\n${experimentMarkdown(r, `${e}/`)}\nwrote ${join(opts.out, e)}/ (results.md, results.json, ${r.rows.filter((x) => x.grid).length + (r.compareGrid ? 1 : 0)} PNG grids)\n`);
  }
  const command = commandLine(name, raw);
  writeAtomic(join(opts.out, 'results.md'), mnistSection(results, command, ''));
  if (raw.results) {
    const base = relative(dirname(raw.results), opts.out);
    writeAtomic(raw.results, mnistSection(results, command, base ? `${base}/` : ''));
    if (!raw.json) process.stdout.write(`wrote ${raw.results}\n`);
  }
  if (raw.json) process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : { experiments: results }, null, 2) + '\n');
}

export function registerLab(program: Command): Command {
  return program
    .command('lab')
    .description('Small trained MNIST models (models/): W2SD against its baselines and controls at equal seeds — imbalance, length, quality or all')
    .argument('<experiment>', `${EXPERIMENTS.join(', ')} or all; ${EXTRA_LABS.join(', ')} (DiT-MoE and video pairs, not in all)`)
    .option('--models <dir>', 'folder of the shipped models (default: the project\'s models/)')
    .option('--out <dir>', 'output folder for tables, JSON and PNG grids', 'out/lab')
    .option('--samples <n>', 'samples per row (≥ 5000 for the published numbers)', '1000')
    .option('--batch <n>', 'images per model call (64 is fastest on CPU here)', '64')
    .option('--steps <T>', 'DDIM steps T (W2SD reflects at the first T − 1)', '20')
    .option('--seed <n>', 'seed of the shared initial noise', '0')
    .option('--cfg <scale>', 'CFG scale γ of the guided rows (CFG, Z-Sampling, cumulative)', '2')
    .option('--autoguidance <w,...>', 'autoguidance weights to sweep', '1.5,2,3')
    .option('--pr-samples <n>', 'samples (and real images) used for precision/recall, O(n²)', '2000')
    .option('--cosine-samples <n>', 'samples for the ε-difference cosine curve (0: skip)', '250')
    .option('--bootstrap <n>', 'paired bootstrap resamples for FD error bars (0: none)', '20')
    .option('--rows <ids>', 'run only these row ids (comma-separated; the strong row always runs)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--grid <n>', 'images per grid PNG', '100')
    .option('--fixed-point-tol <x>', 'fixed-point inversion: relative tolerance', '1e-4')
    .option('--fixed-point-iters <n>', 'fixed-point inversion: most iterations per step', '10')
    .option('--json', 'print the results as JSON instead of tables')
    .option('--results <file>', 'also write the "Small trained models (MNIST)" section to this Markdown file')
    .option('--quiet', 'no progress lines on stderr')
    .action(action);
}
