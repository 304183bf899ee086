import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { INVERSIONS, SAMPLERS } from '../core/index.js';
import { parseMixtureFile, type MixtureTriple } from '../models/gmm-spec.js';
import { ToyOptionError } from '../lab/toy/errors.js';
import { SWEEPS, runToyLab, type SweepKind, type ToyLabOptions, type ToyLabResult } from '../lab/toy/lab.js';
import { updateResults, writeToyOutputs } from '../lab/toy/report.js';
import { methodTable, toJson } from '../lab/toy/tables.js';
import { runPresetCli } from './toy-preset.js';
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
  preset?: string;
}

/** Strict number parsing: the whole string must be a finite number ("12abc", "", "Infinity" are errors). */
export function parseFiniteOption(value: string, name: string): number {
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(v)) throw new ToyOptionError(`${name}: expected a finite number, got ${JSON.stringify(value)}`);
  return v;
}

function parseSweeps(list: readonly string[]): SweepKind[] {
  const out: SweepKind[] = [];
  for (const item of list.flatMap((s) => s.split(','))) {
    const s = item.trim();
    if (s === 'all') out.push(...SWEEPS);
    else if ((SWEEPS as readonly string[]).includes(s)) out.push(s as SweepKind);
    else throw new ToyOptionError(`--sweep: expected ${SWEEPS.join(', ')} or all, got ${JSON.stringify(s)}`);
  }
  return [...new Set(out)];
}

async function loadMixtures(file: string): Promise<MixtureTriple> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ToyOptionError(`--mixture ${file}: cannot read the file (${(e as Error).message})`);
  }
  return parseMixtureFile(text, file);
}

/** A progress bar on stderr, shown only once a run has taken longer than a second. */
function progress(enabled: boolean): { update: ToyLabOptions['onProgress']; stop(): void } {
  const t0 = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  return {
    update: (done, total, label) => {
      if (!enabled) return;
      if (!bar && Date.now() - t0 > 1000) {
        bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'toy lab [{bar}] {value}/{total} {label}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
        bar.start(total, done, { label });
      }
      bar?.update(done, { label });
    },
    stop: () => bar?.stop(),
  };
}

async function action(raw: RawOptions, cmd: Command): Promise<void> {
  if (raw.preset !== undefined) return presetAction(raw, cmd);
  const dim = parseFiniteOption(raw.dim, '--dim');
  if (dim !== 1 && dim !== 2) throw new ToyOptionError(`--dim: expected 1 or 2, got ${raw.dim}`);
  const mixtures = raw.mixture ? await loadMixtures(raw.mixture) : undefined;
  const sweeps = parseSweeps(raw.sweep);
  const base: ToyLabOptions = {
    dim,
    mixtures,
    ...samplingOptions(raw),
    sweeps: raw.results ? SWEEPS.filter((k) => !(mixtures && k === 'gap')) : sweeps,
    trajectories: parseFiniteOption(raw.trajectories, '--trajectories'),
  };
  // --results regenerates the docs: both built-in toys (or the one user mixture), every sweep.
  const dims: (1 | 2)[] = raw.results && !mixtures ? [1, 2] : [dim];
  const bar = progress(!raw.json);
  const results: { res: ToyLabResult; figures: { file: string; caption: string }[] }[] = [];
  try {
    for (const d of dims) {
      const res = await runToyLab({ ...base, dim: d, onProgress: bar.update });
      const prefix = mixtures ? 'toy-mixture' : `toy${d}d`;
      const { figures, files } = await writeToyOutputs(res, raw.out, prefix);
      results.push({ res, figures });
      if (!raw.json) {
        process.stdout.write(`\n${methodTable(res)}\n\nwrote ${files.join(', ')}\n`);
      }
    }
  } finally {
    bar.stop();
  }
  if (raw.results) {
    await updateResults(raw.results, results, raw.out);
    if (!raw.json) process.stdout.write(`updated ${raw.results}\n`);
  }
  if (raw.json) {
    const objs = results.map((r) => toJson(r.res));
    process.stdout.write(JSON.stringify(objs.length === 1 ? objs[0] : { toys: objs }, null, 2) + '\n');
  }
}

/** --preset: the exact MoE / sequence labs; the toy-only options the user set explicitly are refused. */
async function presetAction(raw: RawOptions, cmd: Command): Promise<void> {
  const toyOnly = ['dim', 'mixture', 'sweep', 'results', 'trajectories'].filter((k) => cmd.getOptionValueSource(k) === 'cli').map((k) => `--${k}`);
  await runPresetCli({
    preset: raw.preset!,
    toyOnly,
    out: raw.out,
    json: raw.json,
    lab: samplingOptions(raw),
  });
}

/** The options the toys and the exact presets share. */
function samplingOptions(raw: RawOptions) {
  return {
    samples: parseFiniteOption(raw.samples, '--samples'),
    steps: parseFiniteOption(raw.steps, '--steps'),
    lambda: raw.lambda === undefined ? undefined : parseFiniteOption(raw.lambda, '--lambda'),
    sampler: raw.sampler,
    inversion: raw.inversion,
    seed: parseFiniteOption(raw.seed, '--seed'),
  };
}

export function registerToy(program: Command): Command {
  return program
    .command('toy')
    .description('Exact Gaussian-mixture toy lab (paper §3.2): W2SD against its baselines and controls, with metrics against the ideal mixture')
    .option('--dim <d>', 'built-in toy: 1 (modes at ±4) or 2 (modes at (±4, ±4))', '2')
    .option('--mixture <file>', 'JSON file with your own {ideal, strong, weak} mixtures (overrides --dim)')
    .option('--samples <n>', 'samples per method', '10000')
    .option('--steps <T>', 'sampling steps T', '50')
    .option('--lambda <λ>', 'reflected steps, 0 ≤ λ < T (default T − 1)')
    .option('--sampler <name>', `sampler: ${SAMPLERS.join(', ')}`, 'ddim')
    .option('--inversion <kind>', `inversion: ${INVERSIONS.filter((i) => i !== 'official-lagged').join(', ')} (official-lagged needs a discrete schedule)`, 'ddim')
    .option('--seed <n>', 'seed of the shared noise and the reference samples', '0')
    .option('--sweep <kind>', `also sweep: ${SWEEPS.join(', ')}, all (repeatable or comma-separated)`, (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--out <dir>', 'output folder for the Markdown table, JSON and PNG figures', 'out/toy')
    .option('--json', 'print one JSON object (rows with name, NFE and metrics) instead of tables')
    .option('--results <file>', 'regenerate the toy sections of this results page (runs 1-D and 2-D with every sweep)')
    .option('--trajectories <m>', 'samples drawn as trajectories in the figures', '24')
    .option('--preset <name>', `exact mixture-of-experts / sequence lab instead: ${EXACT_PRESETS.join(', ')} or all (comma-separated)`)
    .action(action);
}
