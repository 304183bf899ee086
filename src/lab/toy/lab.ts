import { INVERSIONS, SAMPLERS, samplerByName, type InversionKind, type Method, type SamplerName } from '../../core/index.js';
import type { MixtureTriple } from '../../models/gmm-spec.js';
import { toyMixtures, toyTarget } from '../../models/gmm-toys.js';
import { ToyOptionError } from './errors.js';
import {
  autoguidanceRow, equalComputeRow, plainIdeal, plainStrong, plainWeak, s2wdRow, selfReflectionRow, w2sdRow,
  type ReflectSettings,
} from './methods.js';
import { toyProblem, type ToyProblem } from './problem.js';
import { BEST_W_CRITERION, bestBalanced } from '../../eval/best-w.js';
import { PR_SAMPLES } from '../../eval/toy-metrics.js';
import { exactRow, runMethod, type MethodRow } from './run.js';

export const SWEEPS = ['gap', 'lambda', 'steps', 'w'] as const;
export type SweepKind = (typeof SWEEPS)[number];

export interface ToyLabOptions {
  /** Built-in toy (1 or 2) unless `mixtures` is given. */
  readonly dim?: 1 | 2;
  readonly mixtures?: MixtureTriple;
  readonly samples: number;
  readonly steps: number;
  /** λ; default T − 1. */
  readonly lambda?: number;
  readonly sampler: string;
  readonly eta?: number;
  readonly inversion: string;
  readonly seed: number;
  /** Sweeps to report besides the method table (the w sweep always runs: it picks autoguidance's w). */
  readonly sweeps?: readonly SweepKind[];
  /** Samples recorded step by step for the figures. */
  readonly trajectories?: number;
  readonly onProgress?: (done: number, total: number, label: string) => void;
  /** A fixed-point inversion that stops at its iteration cap above tolerance is an error (else it is reported). */
  readonly fixedPointStrict?: boolean;
  /** Cancels the run at the next model evaluation. */
  readonly signal?: AbortSignal;
}

/** Autoguidance weights tried; w = 1 is the strong model alone, w = 2 W2SD's first-order match. */
export const W_GRID = [0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5];
export const STEPS_GRID = [5, 10, 20, 50, 100, 200];
export const LAMBDA_FRACTIONS = [0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8];

/** Weak mass on the under-weighted mode: 0 up to the strong model's value (zero gap) and beyond it (reversed gap). */
export function gapGrid(dim: 1 | 2): number[] {
  return dim === 1 ? [0, 0.1, 0.25, 0.35, 0.42, 0.5, 0.6] : [0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25];
}

export interface BestW {
  readonly w: number;
  readonly criterion: string;
  readonly bySlicedW1: number;
  readonly byMeanLogLik: number;
}

export interface SweepPoint {
  readonly value: number;
  readonly rows: readonly MethodRow[];
}

export interface Sweep {
  readonly kind: SweepKind;
  /** What `value` is: "weak mass on bottom-left", "λ", "T", "w". */
  readonly parameter: string;
  readonly points: readonly SweepPoint[];
}

export interface ToyLabResult {
  readonly config: {
    readonly dim: number;
    readonly mixtures: 'built-in' | 'file';
    readonly samples: number;
    readonly steps: number;
    readonly lambda: number;
    readonly sampler: string;
    readonly inversion: InversionKind;
    readonly seed: number;
    readonly schedule: string;
    readonly fixedPointStrict: boolean;
  };
  readonly modeNames: readonly string[];
  /** The ideal mode the strong model under-weights most: where W2SD should add mass. */
  readonly target: { readonly mode: number; readonly name: string; readonly idealMass: number };
  readonly bestW: number;
  /** How bestW was chosen, and what sliced W1 (rewards blur) and mean log p_ideal (rewards collapse) would pick. */
  readonly bestWChoice: BestW;
  readonly rows: readonly MethodRow[];
  readonly sweeps: readonly Sweep[];
  readonly mixtures: MixtureTriple;
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new ToyOptionError(`${what}: expected a positive integer, got ${v}`);
  return v;
}

/** Checks the options; returns the resolved λ and inversion. */
export function checkToyOptions(o: ToyLabOptions): { lambda: number; inversion: InversionKind } {
  positiveInt(o.samples, '--samples');
  positiveInt(o.steps, '--steps');
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new ToyOptionError(`--seed: expected a non-negative integer, got ${o.seed}`);
  if (!(SAMPLERS as readonly string[]).includes(o.sampler)) {
    throw new ToyOptionError(`--sampler: expected one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(o.sampler)}`);
  }
  if (!(INVERSIONS as readonly string[]).includes(o.inversion)) {
    throw new ToyOptionError(`--inversion: expected one of ${INVERSIONS.join(', ')}, got ${JSON.stringify(o.inversion)}`);
  }
  if (o.inversion === 'official-lagged') {
    throw new ToyOptionError("--inversion official-lagged: needs a discrete (diffusers) schedule; the toys use a VE Karras schedule, so use 'ddim' or 'fixed-point'");
  }
  if (o.eta !== undefined && !(o.eta >= 0 && Number.isFinite(o.eta))) throw new ToyOptionError(`--eta: expected a finite number >= 0, got ${o.eta}`);
  const lambda = o.lambda ?? o.steps - 1;
  if (!Number.isInteger(lambda) || lambda < 0 || lambda >= o.steps) {
    throw new ToyOptionError(`--lambda: expected an integer with 0 <= lambda < steps (${o.steps}), got ${lambda}`);
  }
  if (o.trajectories !== undefined && !(Number.isInteger(o.trajectories) && o.trajectories >= 0)) {
    throw new ToyOptionError(`--trajectories: expected a non-negative integer, got ${o.trajectories}`);
  }
  if (o.dim !== undefined && o.dim !== 1 && o.dim !== 2) throw new ToyOptionError(`--dim: expected 1 or 2, got ${o.dim}`);
  for (const s of o.sweeps ?? []) {
    if (!(SWEEPS as readonly string[]).includes(s)) throw new ToyOptionError(`--sweep: expected one of ${SWEEPS.join(', ')}, got ${JSON.stringify(s)}`);
    if (s === 'gap' && o.mixtures) throw new ToyOptionError('--sweep gap: only for the built-in toys (a user mixture has no single gap parameter)');
  }
  return { lambda, inversion: o.inversion as InversionKind };
}

interface Job {
  readonly label: string;
  run(): Promise<MethodRow> | MethodRow;
}

/** Which w each measure would pick: the balanced criterion (used) and the two one-sided ones it replaces. */
export function chooseBestW(rows: readonly { value: number; row: MethodRow }[]): BestW {
  const arg = (better: (a: MethodRow, b: MethodRow) => boolean) => rows.reduce((a, b) => (better(b.row, a.row) ? b : a)).value;
  return {
    w: bestBalanced(rows, (r) => r.row.metrics, (r) => r.row.metrics.slicedW1, Math.min(PR_SAMPLES, rows[0].row.metrics.n)).best.value,
    criterion: `${BEST_W_CRITERION} (sliced W1)`,
    bySlicedW1: arg((a, b) => a.metrics.slicedW1 < b.metrics.slicedW1),
    byMeanLogLik: arg((a, b) => a.metrics.meanLogLik > b.metrics.meanLogLik),
  };
}

/**
 * The whole toy lab: every method on one set of noise, then the requested sweeps. Deterministic for a
 * seed: same options, same numbers.
 */
export async function runToyLab(o: ToyLabOptions): Promise<ToyLabResult> {
  const { lambda, inversion } = checkToyOptions(o);
  const sampler = samplerByName(o.sampler as SamplerName, { eta: o.eta });
  const builtIn = o.mixtures === undefined;
  const dim = (o.mixtures?.ideal.dim ?? o.dim ?? 2) as 1 | 2;
  const base = toyProblem({ samples: o.samples, seed: o.seed, dim, mixtures: o.mixtures, signal: o.signal });
  const settings = { sampler, steps: o.steps };
  const traj = { ...settings, trajectories: o.trajectories ?? 0 };
  const fixedPoint = { strict: o.fixedPointStrict ?? false };
  const r: ReflectSettings = { lambda, inversion, fixedPoint };
  const sweeps = new Set(o.sweeps ?? []);

  const method = (p: ToyProblem, m: Method, s = settings): Job => ({ label: m.name, run: () => runMethod(p, m, s) });

  const wJobs = W_GRID.map((w) => ({ w, job: method(base, autoguidanceRow(base, w)) }));
  const mainJobs: Job[] = [
    { label: 'ideal (exact samples)', run: () => exactRow(base) },
    method(base, plainIdeal(base), traj),
    method(base, plainStrong(base), traj),
    method(base, plainWeak(base), traj),
    method(base, w2sdRow(base, { ...r, inversion: 'ddim' }), traj),
    method(base, w2sdRow(base, { ...r, inversion: 'fixed-point' }), traj),
    method(base, selfReflectionRow(base, { ...r, inversion: 'ddim' })),
    method(base, selfReflectionRow(base, { ...r, inversion: 'fixed-point' })),
    method(base, s2wdRow(base, r), traj),
    method(base, equalComputeRow(base, r, o.steps), traj),
  ];
  const sweepJobs: { kind: SweepKind; parameter: string; points: { value: number; jobs: Job[] }[] }[] = [];
  if (sweeps.has('gap')) {
    const target = toyTarget(dim);
    sweepJobs.push({
      kind: 'gap',
      parameter: `weak model's mass on ${base.modeNames[target.mode]} (strong: ${target.strongMass})`,
      points: gapGrid(dim).map((m) => {
        const p = toyProblem({ samples: o.samples, seed: o.seed, dim, weakMass: m, signal: o.signal });
        return { value: m, jobs: [method(p, w2sdRow(p, r))] };
      }),
    });
  }
  if (sweeps.has('lambda')) {
    const values = [...new Set([...LAMBDA_FRACTIONS.map((f) => Math.round(f * o.steps)), o.steps - 1])].filter((l) => l < o.steps).sort((a, b) => a - b);
    sweepJobs.push({
      kind: 'lambda',
      parameter: `λ (T = ${o.steps})`,
      points: values.map((l) => ({ value: l, jobs: [method(base, w2sdRow(base, { ...r, lambda: l }))] })),
    });
  }
  if (sweeps.has('steps')) {
    sweepJobs.push({
      kind: 'steps',
      parameter: 'T (λ = T − 1)',
      points: STEPS_GRID.map((t) => ({
        value: t,
        jobs: [
          method(base, plainStrong(base), { sampler, steps: t }),
          method(base, w2sdRow(base, { inversion: 'ddim', fixedPoint }), { sampler, steps: t }),
          method(base, w2sdRow(base, { inversion: 'fixed-point', fixedPoint }), { sampler, steps: t }),
          // Must equal plain strong at every T: a visible check that the fixed-point inversion converged.
          method(base, selfReflectionRow(base, { inversion: 'fixed-point', fixedPoint }), { sampler, steps: t }),
        ],
      })),
    });
  }

  const total = wJobs.length + mainJobs.length + sweepJobs.reduce((s, sw) => s + sw.points.reduce((a, pt) => a + pt.jobs.length, 0), 0);
  let done = 0;
  const exec = async (j: Job): Promise<MethodRow> => {
    o.onProgress?.(done, total, j.label);
    const row = await j.run();
    done++;
    o.onProgress?.(done, total, j.label);
    return row;
  };

  const wRows: { value: number; row: MethodRow }[] = [];
  for (const { w, job } of wJobs) wRows.push({ value: w, row: await exec(job) });
  const choice = chooseBestW(wRows);
  const bestW = choice.w;
  const rows: MethodRow[] = [];
  for (const j of mainJobs) rows.push(await exec(j));
  rows.push(await exec(method(base, autoguidanceRow(base, bestW, ' (best)'), traj)));
  if (bestW !== 2) rows.push(wRows.find((x) => x.value === 2)!.row);

  const done_sweeps: Sweep[] = [];
  if (sweeps.has('w')) done_sweeps.push({ kind: 'w', parameter: 'autoguidance w', points: wRows.map((x) => ({ value: x.value, rows: [x.row] })) });
  for (const sw of sweepJobs) {
    const points: SweepPoint[] = [];
    for (const pt of sw.points) {
      const out: MethodRow[] = [];
      for (const j of pt.jobs) out.push(await exec(j));
      points.push({ value: pt.value, rows: out });
    }
    done_sweeps.push({ kind: sw.kind, parameter: sw.parameter, points });
  }

  const exact = rows[0].metrics.modeMass;
  const strong = rows.find((x) => x.name === 'plain strong')!.metrics.modeMass;
  let mode = builtIn ? toyTarget(dim).mode : 0;
  if (!builtIn) for (let k = 1; k < exact.length; k++) if (exact[k] - strong[k] > exact[mode] - strong[mode]) mode = k;
  return {
    config: {
      dim,
      mixtures: builtIn ? 'built-in' : 'file',
      samples: o.samples,
      steps: o.steps,
      lambda,
      sampler: o.sampler,
      inversion,
      seed: o.seed,
      schedule: 'Karras VE, sigma 80 -> 0.002 (rho 7), then 0',
      fixedPointStrict: fixedPoint.strict,
    },
    modeNames: base.modeNames,
    target: { mode, name: base.modeNames[mode], idealMass: base.ideal.weights[mode] },
    bestW,
    bestWChoice: choice,
    rows,
    sweeps: done_sweeps,
    mixtures: builtIn ? toyMixtures(dim) : o.mixtures!,
  };
}
