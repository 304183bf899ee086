import { relative, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { EXPERIMENTS, buildExperiment, type ExperimentName } from '../lab/mnist/experiments.js';
import type { ModelShelf } from '../lab/mnist/models.js';
import { withOutputSet } from '../pipelines/atomic.js';
import { LAB_RULES, checkApplicability, givenOptions } from './applicability.js';
import { checkBudget, defaultMaxMemoryMiB, maxMemoryOption, type Need } from './budget.js';
import { runSignal } from './cancel.js';
import { checkInputFolder, checkOutputFolder, checkResultsPage } from './paths.js';
import { progressBar } from './progress.js';
import { parseEnum, parseInteger, parseList, parseNumber, parseNumberList } from './validate.js';
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
  fixedPointStrict?: boolean;
  json?: boolean;
  results?: string;
  quiet?: boolean;
  maxMemory?: string;
}

/** The whole string must be a number of the stated kind ("12abc", "", "Infinity", "0x10" are errors). */
export function parseNumberOption(value: string, name: string, kind: 'int' | 'positive-int' | 'number' | 'positive'): number {
  if (kind === 'int') return parseInteger(value, name, { min: 0 });
  if (kind === 'positive-int') return parseInteger(value, name, { min: 1 });
  if (kind === 'positive') return parseNumber(value, name, { min: 0, minExclusive: true });
  return parseNumber(value, name);
}

/** Documented ranges of the lab command's numbers (docs/RELIABILITY.md). */
export const LAB_RANGES = {
  samples: { min: 1, max: 10_000_000 },
  batch: { min: 1, max: 4096 },
  steps: { min: 1, max: 1000 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER },
  guidance: { min: -50, max: 50 },
  prSamples: { min: 1, max: 100_000 },
  cosineSamples: { min: 0, max: 1_000_000 },
  bootstrap: { min: 0, max: 10_000 },
  threads: { min: 1, max: 256 },
  grid: { min: 1, max: 10_000 },
  fixedPointTol: { min: 0, max: 1, minExclusive: true, maxExclusive: true },
  fixedPointIters: { min: 1, max: 1000 },
} as const;

/**
 * Memory of an MNIST run (lab or start), roughly: the rows' images (samples × 784 float32, a few copies), the
 * classifier features per row, the O(n²) precision/recall distances and the MNIST sets the references use.
 */
export function mnistNeed(o: { samples: number; batch: number; prSamples: number; rows: number }): Need {
  const image = 784 * 4;
  const memoryBytes = o.samples * image * 3 + o.samples * 128 * 4 * o.rows + o.prSamples * o.prSamples * 4 * 3 + o.batch * image * 64 + 70_000 * image;
  return { memoryBytes, drivers: `--samples ${o.samples}, --batch ${o.batch}, --pr-samples ${o.prSamples}, ${o.rows} rows` };
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
  return [parseEnum(name, 'lab <experiment>', [...EXPERIMENTS, 'all']) as ExperimentName];
}

/** Row ids of an experiment, known without loading a model: the rows are built over name-only stand-ins. */
export async function rowIdsOf(name: ExperimentName, settings: LabOptions['settings']): Promise<string[]> {
  const standIn = { model: async (n: string) => ({ name: n, config: { numClasses: 10, nullClass: 10 } }) } as unknown as ModelShelf;
  return (await buildExperiment(name, standIn, settings)).rows.map((r) => r.id);
}

export function labOptions(raw: RawOptions, log?: (line: string) => void): LabOptions {
  const R = LAB_RANGES;
  return {
    ...(raw.models ? { modelsDir: checkInputFolder(raw.models, '--models') } : {}),
    out: raw.out,
    samples: parseInteger(raw.samples, '--samples', R.samples),
    batch: parseInteger(raw.batch, '--batch', R.batch),
    steps: parseInteger(raw.steps, '--steps', R.steps),
    seed: parseInteger(raw.seed, '--seed', R.seed),
    settings: {
      cfgScale: parseNumber(raw.cfg, '--cfg', R.guidance),
      autoguidanceWeights: parseNumberList(raw.autoguidance, '--autoguidance', R.guidance),
      fixedPoint: {
        tolerance: parseNumber(raw.fixedPointTol, '--fixed-point-tol', R.fixedPointTol),
        maxIterations: parseInteger(raw.fixedPointIters, '--fixed-point-iters', R.fixedPointIters),
        strict: raw.fixedPointStrict ?? false,
      },
    },
    prSamples: parseInteger(raw.prSamples, '--pr-samples', R.prSamples),
    cosineSamples: parseInteger(raw.cosineSamples, '--cosine-samples', R.cosineSamples),
    bootstrap: parseInteger(raw.bootstrap, '--bootstrap', R.bootstrap),
    ...(raw.rows !== undefined ? { rows: parseList(raw.rows, '--rows') } : {}),
    ...(raw.threads ? { threads: parseInteger(raw.threads, '--threads', R.threads) } : {}),
    gridImages: parseInteger(raw.grid, '--grid', R.grid),
    ...(log ? { log } : {}),
  };
}

/** Everything the command line says, checked before a model is loaded: ranges, row names, paths, memory. */
export async function labPlan(name: string, raw: RawOptions, given: ReadonlySet<string>) {
  const experiments = parseExperiments(name);
  const warnings = checkApplicability(LAB_RULES, { experiments }, given, `lab ${name}`);
  const opts = labOptions(raw);
  const ids = await Promise.all(experiments.map((e) => rowIdsOf(e, opts.settings)));
  if (opts.rows) {
    const common = ids.reduce((a, b) => a.filter((id) => b.includes(id)));
    parseList(opts.rows, '--rows', common);
  }
  const out = checkOutputFolder(raw.out, '--out');
  const results = raw.results !== undefined ? checkResultsPage(raw.results, '--results') : undefined;
  const rows = Math.max(...ids.map((l) => l.length)) + 1;
  checkBudget(mnistNeed({ samples: opts.samples, batch: opts.batch, prSamples: opts.prSamples, rows }), { maxMemoryBytes: maxMemoryOption(raw.maxMemory) });
  return { experiments, opts: { ...opts, out }, results, warnings };
}

/** `lab moe` / `lab video`: the same option checks and output set as the MNIST experiments. */
async function extraAction(name: (typeof EXTRA_LABS)[number], raw: RawOptions): Promise<void> {
  const opts = labOptions(raw);
  const out = checkOutputFolder(raw.out, '--out');
  checkBudget(mnistNeed({ samples: opts.samples, batch: opts.batch, prSamples: opts.prSamples, rows: 12 }), { maxMemoryBytes: maxMemoryOption(raw.maxMemory) });
  const say = raw.json || raw.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
  await withOutputSet(() => extraLabAction(name, { ...opts, out, ...(say ? { log: say } : {}), signal: runSignal }, raw), runSignal, [out]);
}

async function action(name: string, raw: RawOptions, cmd: Command): Promise<void> {
  if ((EXTRA_LABS as readonly string[]).includes(name)) return extraAction(name as (typeof EXTRA_LABS)[number], raw);
  const plan = await labPlan(name, raw, givenOptions(cmd));
  for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
  const tty = process.stderr.isTTY === true && !raw.json && !raw.quiet;
  // lines when stderr is a log, a bar with ETA when it is a terminal
  const say = raw.json || raw.quiet || tty ? undefined : (line: string) => process.stderr.write(`${line}\n`);
  const bar = progressBar('lab', tty);
  const opts: LabOptions = { ...plan.opts, ...(say ? { log: say } : {}), onProgress: bar.update, signal: runSignal };
  const results: ExperimentResult[] = [];
  const text: string[] = [];
  try {
    await withOutputSet(
      async () => {
        for (const e of plan.experiments) {
          const r = await runExperiment(e, opts);
          results.push(r);
          text.push(`\n${experimentMarkdown(r, `${e}/`)}\nwrote ${join(opts.out, e)}/ (results.md, results.json, ${r.rows.filter((x) => x.grid).length + (r.compareGrid ? 1 : 0)} PNG grids)\n`);
        }
        const command = commandLine(name, raw);
        writeAtomic(join(opts.out, 'results.md'), mnistSection(results, command, ''));
        if (plan.results) {
          const base = relative(dirname(plan.results), opts.out);
          writeAtomic(plan.results, mnistSection(results, command, base ? `${base}/` : ''));
          text.push(`wrote ${raw.results}\n`);
        }
      },
      runSignal,
      [opts.out],
    );
  } finally {
    bar.stop();
  }
  if (raw.json) process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : { experiments: results }, null, 2) + '\n');
  else process.stdout.write(text.join(''));
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
    .option('--fixed-point-strict', 'stopping at --fixed-point-iters above tolerance is an error (default: the residual is reported)')
    .option('--json', 'print the results as JSON instead of tables')
    .option('--results <file>', 'also write the "Small trained models (MNIST)" section to this Markdown file')
    .option('--quiet', 'no progress lines on stderr')
    .option('--max-memory <MiB>', `refuse runs whose estimated memory exceeds this (default ¾ of this machine: ${defaultMaxMemoryMiB()} MiB)`)
    .action((name: string, raw: RawOptions, cmd: Command) => action(name, raw, cmd));
}
