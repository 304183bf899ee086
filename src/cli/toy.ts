import type { Command } from 'commander';
import { INVERSIONS, SAMPLERS } from '../core/index.js';
import { parseMixtureFile, type MixtureTriple } from '../models/gmm-spec.js';
import { ToyOptionError } from '../lab/toy/errors.js';
import { SWEEPS, checkToyOptions, runToyLab, type SweepKind, type ToyLabOptions, type ToyLabResult } from '../lab/toy/lab.js';
import { withOutputSet } from '../pipelines/atomic.js';
import { TOY_RULES, checkApplicability, givenOptions } from './applicability.js';
import { checkBudget, defaultMaxMemoryMiB, maxMemoryOption, type Need } from './budget.js';
import { runSignal } from './cancel.js';
import { progressBar } from './progress.js';
import { checkOutputFolder, checkResultsPage, readTextFile } from './paths.js';
import { checkRange, parseEnum, parseInteger, parseList, parseNumber } from './validate.js';
import { updateResults, writeToyOutputs } from '../lab/toy/report.js';
import { methodTable, toJson } from '../lab/toy/tables.js';
import { parsePresets, runPresetCli } from './toy-preset.js';
import { EXACT_PRESETS } from '../lab/exact/presets.js';

export { ToyOptionError };

interface RawOptions {
  dim: string;
  mixture?: string;
  samples: string;
  steps: string;
  lambda?: string;
  sampler: string;
  inversion: string;
  seed: string;
  sweep: string[];
  out: string;
  json?: boolean;
  results?: string;
  trajectories: string;
  fixedPointStrict?: boolean;
  maxMemory?: string;
  maxWork?: string;
  preset?: string;
}

/** Documented ranges of the toy command's numbers (docs/RELIABILITY.md). */
export const TOY_RANGES = {
  samples: { min: 1, max: 2 ** 31 - 1 },
  steps: { min: 1, max: 10_000 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER },
  trajectories: { min: 0, max: 1000 },
  mixtureDim: { min: 1, max: 2 },
  mixtureComponents: { min: 1, max: 100_000 },
  /** Every coordinate of a component mean: the toys' noise reaches σ = 80, data far beyond it is a typo. */
  mixtureMean: { min: -1e4, max: 1e4 },
  /** Every variance (covariance diagonal): thinner or wider components overflow float32 in the denoiser. */
  mixtureVariance: { min: 1e-12, max: 1e8 },
} as const;

/** --max-work default, in component-evaluations (see toyNeed): 4× the 1,000-component fractal mixture at 1,000 samples (1.2e10, about 3 CPU-minutes here). */
export const TOY_MAX_WORK = 5e10;

/** Components per mixture of a parsed-but-unchecked file: enough for the estimate, before the costly validation. */
function roughSize(text: string): { components: number; dim: number } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { components: 0, dim: 1 }; // parseMixtureFile names the JSON error
  }
  if (!o || typeof o !== 'object') return { components: 0, dim: 1 };
  const list = (m: unknown): unknown[] => (Array.isArray(m) ? m : Array.isArray((m as { components?: unknown[] })?.components) ? (m as { components: unknown[] }).components : []);
  const first = list(o.ideal)[0] as { mean?: unknown[] } | undefined;
  const dim = typeof o.dim === 'number' ? o.dim : Array.isArray(first?.mean) ? first.mean.length : 1;
  return { components: Math.max(list(o.ideal).length, list(o.strong).length, list(o.weak).length), dim: Math.min(Math.max(1, dim), 2) };
}

function loadMixtures(file: string, budget: (components: number, dim: number) => void): MixtureTriple {
  const text = readTextFile(file, '--mixture', 'a JSON mixture file');
  const rough = roughSize(text);
  budget(rough.components, rough.dim);
  const m = parseMixtureFile(text, file);
  checkRange(m.ideal.dim, `--mixture ${file}: dim`, TOY_RANGES.mixtureDim, true);
  for (const k of ['ideal', 'strong', 'weak'] as const) {
    checkRange(m[k].components.length, `--mixture ${file}: ${k} components`, TOY_RANGES.mixtureComponents, true);
    m[k].components.forEach((c, i) => {
      c.mean.forEach((v, d) => checkRange(v, `--mixture ${file}: ${k}[${i}].mean[${d}]`, TOY_RANGES.mixtureMean, false));
      c.cov.forEach((row, d) => checkRange(row[d], `--mixture ${file}: ${k}[${i}].cov[${d}][${d}]`, TOY_RANGES.mixtureVariance, false));
    });
  }
  return m;
}

/**
 * The run's estimated need. Work counts component-evaluations: per model evaluation, samples × components ×
 * dim² (the analytic posterior touches every component's d × d precision). Evaluations per sample are bounded
 * by 61·T for the method table with λ = T − 1 (W2SD, controls, the 9-point w grid, fixed-point rows at their
 * usual ≤ 5 iterations), + 27·T for the λ sweep, + 21·T for the gap sweep and + 11,000 for the steps sweep.
 * Memory: ~64 sample sets of samples × dim float32 (rows, references, metrics' scratch) plus the mixtures.
 */
export function toyNeed(o: { samples: number; steps: number; dims: readonly number[]; components: number; sweeps: readonly SweepKind[] }): Need {
  const t = o.steps;
  let evals = 61 * t;
  if (o.sweeps.includes('lambda')) evals += 27 * t;
  if (o.sweeps.includes('gap')) evals += 21 * t;
  if (o.sweeps.includes('steps')) evals += 11_000;
  const d = Math.max(...o.dims);
  const work = o.dims.length * o.samples * evals * o.components * d * d;
  const memoryBytes = o.samples * d * 4 * 64 + o.components * 3 * (d * d * 3 + d) * 8 + o.samples * 8 * 16;
  return { memoryBytes, work, drivers: `--samples ${o.samples}, --steps ${t}, ${o.components} components in ${d}-D${o.sweeps.length ? `, sweeps ${o.sweeps.join(', ')}` : ''}` };
}

/** Everything the command line says, checked: nothing is loaded or computed before this returns. */
export function toyPlan(raw: RawOptions, given: ReadonlySet<string>) {
  const maxWork = raw.maxWork === undefined ? TOY_MAX_WORK : parseNumber(raw.maxWork, '--max-work', { min: 1 });
  const maxMemoryBytes = maxMemoryOption(raw.maxMemory);
  const steps = parseInteger(raw.steps, '--steps', TOY_RANGES.steps);
  const samples = parseInteger(raw.samples, '--samples', TOY_RANGES.samples);
  const sweeps = raw.sweep.length ? (parseList(raw.sweep, '--sweep', SWEEPS, { all: SWEEPS }) as SweepKind[]) : [];
  const allSweeps = raw.results !== undefined ? SWEEPS.filter((k) => !(raw.mixture !== undefined && k === 'gap')) : sweeps;
  const budget = (components: number, d: number, dims = 1) =>
    checkBudget(toyNeed({ samples, steps, dims: Array<number>(dims).fill(d), components, sweeps: allSweeps }), { maxMemoryBytes, maxWork, workUnit: 'component-evaluations' });
  // a huge mixture file is refused on its component count before its thousands of covariances are checked
  const mixtures = raw.mixture !== undefined ? loadMixtures(raw.mixture, budget) : undefined;
  const warnings = checkApplicability(TOY_RULES, { mixture: mixtures !== undefined, results: raw.results !== undefined }, given, 'this toy run');
  const dim = Number(parseEnum(raw.dim, '--dim', ['1', '2'])) as 1 | 2;
  const lambda = raw.lambda === undefined ? undefined : parseInteger(raw.lambda, '--lambda', { min: 0, max: steps - 1 });
  const sampler = parseEnum(raw.sampler, '--sampler', SAMPLERS);
  const inversion = parseEnum(raw.inversion, '--inversion', INVERSIONS);
  const out = checkOutputFolder(raw.out, '--out');
  const results = raw.results !== undefined ? checkResultsPage(raw.results, '--results') : undefined;
  const base: ToyLabOptions = {
    dim,
    mixtures,
    samples,
    steps,
    lambda,
    sampler,
    inversion,
    seed: parseInteger(raw.seed, '--seed', TOY_RANGES.seed),
    sweeps: allSweeps,
    trajectories: parseInteger(raw.trajectories, '--trajectories', TOY_RANGES.trajectories),
    fixedPointStrict: raw.fixedPointStrict ?? false,
  };
  checkToyOptions(base);
  // --results regenerates the docs: both built-in toys (or the one user mixture), every sweep.
  const dims: (1 | 2)[] = results && !mixtures ? [1, 2] : [mixtures ? (mixtures.ideal.dim as 1 | 2) : dim];
  const components = mixtures ? Math.max(mixtures.ideal.components.length, mixtures.strong.components.length, mixtures.weak.components.length) : 4;
  budget(components, Math.max(...dims), dims.length);
  return { base, dims, out, results, mixtures, warnings };
}

/** The sampling options the toys and the exact presets share, checked. */
function samplingOptions(raw: RawOptions) {
  const steps = parseInteger(raw.steps, '--steps', TOY_RANGES.steps);
  return {
    samples: parseInteger(raw.samples, '--samples', TOY_RANGES.samples),
    steps,
    lambda: raw.lambda === undefined ? undefined : parseInteger(raw.lambda, '--lambda', { min: 0, max: steps - 1 }),
    sampler: parseEnum(raw.sampler, '--sampler', SAMPLERS),
    inversion: parseEnum(raw.inversion, '--inversion', INVERSIONS),
    seed: parseInteger(raw.seed, '--seed', TOY_RANGES.seed),
  };
}

/**
 * An exact preset's need: its models are fixed (at most 8 components over at most 16 dimensions: 8 frames × 2),
 * and its table runs about 30·T evaluations per sample (the w grid, W2SD and controls, fixed-point iterations).
 */
function presetNeed(samples: number, steps: number): Need {
  const d = 16;
  return { work: samples * 30 * steps * 8 * d * d, memoryBytes: samples * d * 4 * 64, drivers: `--samples ${samples}, --steps ${steps} (exact presets: 8 components in ${d}-D)` };
}

/** --preset: the exact MoE / sequence labs; the toy-only options the user set explicitly are refused. */
async function presetAction(raw: RawOptions, cmd: Command): Promise<void> {
  parsePresets(raw.preset!);
  const lab = samplingOptions(raw);
  const maxWork = raw.maxWork === undefined ? TOY_MAX_WORK : parseNumber(raw.maxWork, '--max-work', { min: 1 });
  checkBudget(presetNeed(lab.samples, lab.steps), { maxMemoryBytes: maxMemoryOption(raw.maxMemory), maxWork, workUnit: 'component-evaluations' });
  const out = checkOutputFolder(raw.out, '--out');
  const toyOnly = ['dim', 'mixture', 'sweep', 'results', 'trajectories'].filter((k) => cmd.getOptionValueSource(k) === 'cli').map((k) => `--${k}`);
  await withOutputSet(() => runPresetCli({ preset: raw.preset!, toyOnly, out, json: raw.json, lab }), runSignal, [out]);
}

async function action(raw: RawOptions, cmd: Command): Promise<void> {
  if (raw.preset !== undefined) return presetAction(raw, cmd);
  const plan = toyPlan(raw, givenOptions(cmd));
  for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
  const bar = progressBar('toy lab', !raw.json && process.stderr.isTTY === true);
  const results: { res: ToyLabResult; figures: { file: string; caption: string }[] }[] = [];
  const text: string[] = [];
  try {
    await withOutputSet(
      async () => {
        for (const d of plan.dims) {
          const res = await runToyLab({ ...plan.base, dim: d, onProgress: bar.update, signal: runSignal });
          const prefix = plan.mixtures ? 'toy-mixture' : `toy${d}d`;
          const { figures, files } = await writeToyOutputs(res, plan.out, prefix);
          results.push({ res, figures });
          text.push(`\n${methodTable(res)}\n\nwrote ${files.join(', ')}\n`);
        }
        if (plan.results) await updateResults(plan.results, results, plan.out);
      },
      runSignal,
      [plan.out],
    );
  } finally {
    bar.stop();
  }
  if (raw.json) {
    const objs = results.map((r) => toJson(r.res));
    process.stdout.write(JSON.stringify(objs.length === 1 ? objs[0] : { toys: objs }, null, 2) + '\n');
  } else {
    process.stdout.write(text.join(''));
    if (plan.results) process.stdout.write(`updated ${plan.results}\n`);
  }
}

export function registerToy(program: Command): Command {
  return program
    .command('toy')
    .description('Exact Gaussian-mixture toy lab (paper §3.2): W2SD against its baselines and controls, with metrics against the ideal mixture')
    .option('--dim <d>', 'built-in toy: 1 (modes at ±4) or 2 (modes at (±4, ±4))', '2')
    .option('--mixture <file>', 'JSON file with your own {ideal, strong, weak} mixtures (overrides --dim)')
    .option('--samples <n>', 'samples per method (integer ≥ 1; bounded by the memory/work estimate)', '10000')
    .option('--steps <T>', 'sampling steps T (1 to 10000)', '50')
    .option('--lambda <λ>', 'reflected steps, 0 ≤ λ < T (default T − 1)')
    .option('--sampler <name>', `sampler: ${SAMPLERS.join(', ')}`, 'ddim')
    .option('--inversion <kind>', `inversion: ${INVERSIONS.filter((i) => i !== 'official-lagged').join(', ')} (official-lagged needs a discrete schedule)`, 'ddim')
    .option('--seed <n>', 'seed of the shared noise and the reference samples (0 to 2^53 − 1)', '0')
    .option('--sweep <kind>', `also sweep: ${SWEEPS.join(', ')}, all (repeatable or comma-separated)`, (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--out <dir>', 'output folder for the Markdown table, JSON and PNG figures', 'out/toy')
    .option('--json', 'print one JSON object (rows with name, NFE and metrics) instead of tables')
    .option('--results <file>', 'regenerate the toy sections of this results page (runs 1-D and 2-D with every sweep)')
    .option('--trajectories <m>', 'samples drawn as trajectories in the figures (0 to 1000)', '24')
    .option('--max-memory <MiB>', `refuse runs whose estimated memory exceeds this (default ¾ of this machine: ${defaultMaxMemoryMiB()} MiB)`)
    .option('--max-work <n>', `refuse runs whose estimated work exceeds this many component-evaluations (default ${TOY_MAX_WORK.toExponential()})`)
    .option('--fixed-point-strict', 'a fixed-point inversion that stops at its iteration cap above tolerance is an error (default: its residual is reported)')
    .option('--preset <name>', `exact mixture-of-experts / sequence lab instead: ${EXACT_PRESETS.join(', ')} or all (comma-separated)`)
    .action((raw: RawOptions, cmd: Command) => action(raw, cmd));
}
