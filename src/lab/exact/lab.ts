import { samplerByName, type Method, type SamplerName } from '../../core/index.js';
import { checkToyOptions, W_GRID, type ToyLabOptions } from '../toy/lab.js';
import {
  autoguidanceRow, equalComputeRow, plainIdeal, plainStrong, plainWeak, s2wdRow, selfReflectionRow, w2sdRow,
} from '../toy/methods.js';
import { exactRow, runMethod, type MethodRow } from '../toy/run.js';
import { exactProblem, type ExactPresetName, type ExactProblem } from './presets.js';
import { temporalMetrics, type TemporalMetrics } from './temporal.js';

export type ExactLabOptions = Omit<ToyLabOptions, 'dim' | 'mixtures' | 'sweeps' | 'trajectories'>;

export interface ExactRow extends MethodRow {
  /** Sequence presets only. */
  readonly temporal?: TemporalMetrics;
}

export interface ExactLabResult {
  readonly preset: ExactPresetName;
  readonly description: string;
  readonly legs: { readonly strong: string; readonly weak: string };
  readonly config: { readonly samples: number; readonly steps: number; readonly lambda: number; readonly sampler: string; readonly inversion: string; readonly seed: number };
  readonly modeNames: readonly string[];
  readonly target: { readonly mode: number; readonly name: string; readonly idealMass: number };
  readonly bestW: number;
  readonly rows: readonly ExactRow[];
  /** The autoguidance w sweep that picked bestW (lowest sliced W1). */
  readonly wSweep: readonly { readonly w: number; readonly row: ExactRow }[];
}

/**
 * Every W2SD row of a preset beside the same controls as the toys and MNIST: plain ideal/strong/weak,
 * W2SD with both inversions, self-reflection, S2WD, equal compute and autoguidance at its best w (and
 * at w = 2, W2SD's first-order match). One set of noise for every row; deterministic for a seed.
 */
export async function runExactLab(preset: ExactPresetName, o: ExactLabOptions): Promise<ExactLabResult> {
  const { lambda, inversion } = checkToyOptions(o);
  const sampler = samplerByName(o.sampler as SamplerName, { eta: o.eta });
  const p = exactProblem(preset, { samples: o.samples, seed: o.seed });
  const settings = { sampler, steps: o.steps };
  const r = { lambda, inversion };
  const methods: Method[] = [
    plainIdeal(p),
    plainStrong(p),
    plainWeak(p),
    w2sdRow(p, { lambda, inversion: 'ddim' }),
    w2sdRow(p, { lambda, inversion: 'fixed-point' }),
    selfReflectionRow(p, { lambda, inversion: 'ddim' }),
    selfReflectionRow(p, { lambda, inversion: 'fixed-point' }),
    s2wdRow(p, r),
    equalComputeRow(p, r, o.steps),
  ];
  const total = 1 + W_GRID.length + methods.length + 1;
  let done = 0;
  const tick = (label: string): void => o.onProgress?.(++done, total, label);
  const withTemporal = (row: MethodRow): ExactRow => (p.sequence ? { ...row, temporal: temporalMetrics(p.sequence.ideal, row.samples) } : row);

  const wSweep: { w: number; row: ExactRow }[] = [];
  for (const w of W_GRID) {
    wSweep.push({ w, row: withTemporal(await runMethod(p, autoguidanceRow(p, w), settings)) });
    tick(`autoguidance w=${w}`);
  }
  let best = wSweep[0];
  for (const x of wSweep) if (x.row.metrics.slicedW1 < best.row.metrics.slicedW1) best = x;
  const rows: ExactRow[] = [withTemporal(exactRow(p))];
  tick('exact samples');
  for (const m of methods) {
    rows.push(withTemporal(await runMethod(p, m, settings)));
    tick(m.name);
  }
  rows.push(withTemporal(await runMethod(p, autoguidanceRow(p, best.w, ' (best)'), settings)));
  tick('autoguidance (best)');
  if (best.w !== 2) rows.push(wSweep.find((x) => x.w === 2)!.row);
  return {
    preset,
    description: p.description,
    legs: { strong: p.strongLabel, weak: p.weakLabel },
    config: { samples: o.samples, steps: o.steps, lambda, sampler: o.sampler, inversion, seed: o.seed },
    modeNames: p.modeNames,
    target: { mode: p.target, name: p.modeNames[p.target], idealMass: idealMass(p) },
    bestW: best.w,
    rows,
    wSweep,
  };
}

function idealMass(p: ExactProblem): number {
  return p.sequence ? p.sequence.ideal.trajectories[p.target].weight : p.reference.ideal.weights[p.target];
}
