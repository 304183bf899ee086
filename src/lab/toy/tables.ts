import { describeFixedPoint } from '../../core/index.js';
import { PR_K, PR_SAMPLES, type ToyMetrics } from '../../eval/toy-metrics.js';
import type { ToyLabResult, Sweep } from './lab.js';
import type { MethodRow } from './run.js';

const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : '–');
const num = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : '–');

/** The largest mode-mean shift among the modes other than the target (the inversion's side effect). */
export function otherShift(m: ToyMetrics, target: number): number {
  let s = 0;
  m.modeShift.forEach((v, k) => {
    if (k !== target && Number.isFinite(v)) s = Math.max(s, v);
  });
  return s;
}

function header(res: ToyLabResult, first: string[]): string[] {
  const t = res.target.name;
  return [
    `| ${[...first, 'NFE', `${t} mass`, 'mass per mode', 'mean log p_ideal', 'outliers', 'sliced W1', 'precision', 'recall', `${t} mean shift`, `${t} spread`, 'max other shift'].join(' | ')} |`,
    `|${Array<string>(first.length + 11).fill('---').join('|')}|`,
  ];
}

function cells(res: ToyLabResult, r: MethodRow): string[] {
  const m = r.metrics;
  const k = res.target.mode;
  return [
    r.equalCompute ? `${r.nfe} (budget ${r.equalCompute.budget})` : String(r.nfe),
    pct(m.modeMass[k]),
    m.modeMass.map((v) => (100 * v).toFixed(1)).join(' / '),
    num(m.meanLogLik, 4),
    pct(m.outlierRate),
    num(m.slicedW1),
    pct(m.precision),
    pct(m.recall),
    num(m.modeShift[k]),
    num(m.modeSpread[k], 2),
    num(otherShift(m, k)),
  ];
}

/** Under the table: how each fixed-point row's inversions went (residual, and where the cap was hit). */
export function fixedPointNotes(rows: readonly MethodRow[]): string[] {
  return rows.filter((r) => r.fixedPoint).map((r) => `- ${r.name}: ${describeFixedPoint(r.fixedPoint!)}${r.fixedPoint!.unconvergedSteps.length ? ' (NOT CONVERGED)' : ''}`);
}

export function methodTable(res: ToyLabResult): string {
  const notes = fixedPointNotes(res.rows);
  return [
    ...header(res, ['method']),
    ...res.rows.map((r) => `| ${[r.name, ...cells(res, r)].join(' | ')} |`),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

export function sweepTable(res: ToyLabResult, sw: Sweep): string {
  const lines = header(res, [sw.parameter, 'method']);
  for (const pt of sw.points) for (const r of pt.rows) lines.push(`| ${[String(pt.value), r.name, ...cells(res, r)].join(' | ')} |`);
  return lines.join('\n');
}

/** The settings line printed above every table. */
export function settingsLine(res: ToyLabResult): string {
  const c = res.config;
  return (
    `${c.dim}-D ${c.mixtures === 'built-in' ? 'paper toy' : 'user mixture'}, ${c.samples} samples per method, ` +
    `sampler ${c.sampler}, T = ${c.steps}, λ = ${c.lambda}, inversion ${c.inversion} (S2WD and equal-compute rows), ` +
    `seed ${c.seed}, schedule ${c.schedule}; modes: ${res.modeNames.join(' / ')}; ` +
    `precision/recall against ideal samples on the first ${Math.min(PR_SAMPLES, c.samples)} samples of each set (k = ${PR_K}); ` +
    `autoguidance (best): ${res.bestWChoice.criterion}`
  );
}

/** JSON for machines: one object, one row per method (name, NFE, metrics), sweeps alike; no raw samples. */
export function toJson(res: ToyLabResult): unknown {
  const row = (r: MethodRow) => ({ name: r.name, nfe: r.nfe, ...r.metrics, ...(r.fixedPoint ? { fixedPoint: r.fixedPoint } : {}), ...(r.equalCompute ? { equalCompute: r.equalCompute } : {}) });
  return {
    config: res.config,
    modes: res.modeNames,
    target: res.target,
    bestW: res.bestW,
    bestWChoice: res.bestWChoice,
    rows: res.rows.map(row),
    sweeps: res.sweeps.map((sw) => ({ kind: sw.kind, parameter: sw.parameter, points: sw.points.map((p) => ({ value: p.value, rows: p.rows.map(row) })) })),
  };
}
