import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomically } from '../../pipelines/atomic.js';
import type { ExactLabResult, ExactRow } from './lab.js';
import { expectedRoughness } from './temporal.js';

const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)} %` : '–');
const num = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : '–');

function baseCells(res: ExactLabResult, r: ExactRow): string[] {
  const m = r.metrics;
  const k = res.target.mode;
  return [r.name, String(r.nfe), pct(m.modeMass[k]), m.modeMass.map((v) => (100 * v).toFixed(1)).join(' / '), num(m.meanLogLik, 4), pct(m.outlierRate), num(m.slicedW1)];
}

function temporalCells(res: ExactLabResult, r: ExactRow): string[] {
  const t = r.temporal!;
  const k = res.target.mode;
  const perFrame = t.frameMass.map((f) => f[k]);
  return [`${pct(Math.min(...perFrame))} – ${pct(Math.max(...perFrame))}`, pct(t.consistency), num(t.lag1), num(t.roughness)];
}

/** The method table of one preset (Markdown). */
export function exactTable(res: ExactLabResult): string {
  const t = res.target.name;
  const temporal = res.rows[0].temporal !== undefined;
  const head = ['method', 'NFE', `${t} mass`, 'mass per mode', 'mean log p_ideal', 'outliers', 'sliced W1'];
  if (temporal) head.push(`${t} mass per frame (min – max)`, 'same mode in every frame', 'lag-1 correlation', 'roughness (mean sq. 2nd difference)');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of res.rows) lines.push(`| ${[...baseCells(res, r), ...(temporal ? temporalCells(res, r) : [])].join(' | ')} |`);
  return lines.join('\n');
}

export function exactSettings(res: ExactLabResult): string {
  const c = res.config;
  return (
    `Preset \`${res.preset}\`: ${res.description}. Strong leg: ${res.legs.strong}; weak leg: ${res.legs.weak}. ` +
    `${c.samples} samples per method, sampler ${c.sampler}, T = ${c.steps}, λ = ${c.lambda}, inversion ${c.inversion} (S2WD and equal-compute rows), ` +
    `seed ${c.seed}, VE Karras schedule σ 80 → 0.002; autoguidance's best w = ${res.bestW} (lowest sliced W1 over w ∈ {${res.wSweep.map((x) => x.w).join(', ')}}).`
  );
}

/** Measured sentences, generated from the rows so they cannot drift from the table. */
export function exactFindings(res: ExactLabResult): string[] {
  const k = res.target.mode;
  const by = (prefix: string) => res.rows.find((r) => r.name.startsWith(prefix))!;
  const strong = by('plain strong');
  const se = Math.sqrt((res.target.idealMass * (1 - res.target.idealMass)) / res.config.samples);
  const out = [
    `plain strong: ${res.target.name} ${pct(strong.metrics.modeMass[k])} (ideal ${pct(res.target.idealMass)}, ± ${pct(se)} standard error), sliced W1 ${num(strong.metrics.slicedW1)}.`,
  ];
  for (const name of ['W2SD (ddim)', 'W2SD (fixed-point)', 'S2WD', 'W2SD equal-compute', 'autoguidance w=' + res.bestW]) {
    const r = by(name);
    const diff = r.metrics.slicedW1 - strong.metrics.slicedW1;
    const verdict = Math.abs(diff) < 1e-9 ? 'as close to the ideal as plain strong' : diff < 0 ? 'closer to the ideal than plain strong' : 'further from the ideal than plain strong';
    out.push(
      `${r.name}: ${res.target.name} ${pct(strong.metrics.modeMass[k])} → ${pct(r.metrics.modeMass[k])}, sliced W1 ${num(strong.metrics.slicedW1)} → ${num(r.metrics.slicedW1)} ` +
        `(${verdict})` +
        (r.temporal && strong.temporal ? `; lag-1 correlation ${num(strong.temporal.lag1)} → ${num(r.temporal.lag1)}, roughness ${num(strong.temporal.roughness)} → ${num(r.temporal.roughness)}` : '') +
        '.',
    );
  }
  return out;
}

export function exactMarkdown(res: ExactLabResult, level = 3): string {
  const h = '#'.repeat(level);
  const parts = [`${h} Exact lab: ${res.preset}`, '', exactSettings(res), '', exactTable(res), ''];
  const seq = res.rows[0].temporal;
  if (seq) {
    parts.push(
      `Temporal columns: frames are assigned to modes by each frame's exact marginal; lag-1 correlation and roughness are of the deviations from the assigned trajectory ` +
        `(ideal ρ = 0.9 gives roughness ${num(expectedRoughness(1, 0.9))}, the weak model's ρ = 0.5 gives ${num(expectedRoughness(1, 0.5))}).`,
      '',
    );
  }
  parts.push(`${h}# Measured`, '', ...exactFindings(res).map((s) => `- ${s}`), '');
  return parts.join('\n');
}

export function exactJson(res: ExactLabResult): unknown {
  const row = (r: ExactRow) => ({ name: r.name, nfe: r.nfe, ...r.metrics, ...(r.temporal ? { temporal: r.temporal } : {}) });
  return {
    preset: res.preset,
    description: res.description,
    legs: res.legs,
    config: res.config,
    modes: res.modeNames,
    target: res.target,
    bestW: res.bestW,
    rows: res.rows.map(row),
    wSweep: res.wSweep.map((x) => ({ w: x.w, ...row(x.row) })),
  };
}

/**
 * The one place the exact labs write: `<preset>.md` and `<preset>.json` appear together or not at all
 * (src/pipelines/atomic.ts; to be switched to the CLI's shared output transaction).
 */
export function writeExactOutputs(results: readonly ExactLabResult[], outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const enc = new TextEncoder();
  const files = results.flatMap((res) => [
    { path: join(outDir, `${res.preset}.md`), data: enc.encode(`# Exact lab\n\n${exactMarkdown(res, 2)}`) },
    { path: join(outDir, `${res.preset}.json`), data: enc.encode(JSON.stringify(exactJson(res), null, 2) + '\n') },
  ]);
  writeFilesAtomically(files);
  return files.map((f) => f.path);
}
