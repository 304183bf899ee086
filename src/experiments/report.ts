import { Canvas } from '../lab/plot/canvas.js';
import { canvasToPng } from '../lab/plot/canvas-png.js';
import { meanCi, pairedWinRate, type MeanCi, type PairedUnit, type WinRate } from './stats.js';
import type { ResultRow } from './types.js';

/*
 * The report of an experiment: the paper's table (one row per method, one column per scorer, mean ± 95 % CI
 * over prompts), paired win rates of every non-baseline row against every baseline (ties apart, bootstrap
 * interval over prompts), and plots of the per-prompt differences.
 */

export interface ReportInput {
  readonly experiment: string;
  /** Method labels in config order (rows of the table). */
  readonly methods: readonly string[];
  readonly baselines: readonly string[];
  readonly rows: readonly ResultRow[];
  /** Matched CFG scales to document: label → { to, guidance, rho }. */
  readonly matched?: ReadonlyMap<string, { to: string; guidance: number; rho: number }>;
  readonly resamples?: number;
}

export interface MethodSummary {
  readonly method: string;
  readonly images: number;
  readonly nfe: number;
  readonly wallMs: number;
  readonly scores: Readonly<Record<string, MeanCi>>;
}

export interface Comparison {
  readonly method: string;
  readonly baseline: string;
  readonly scorer: string;
  readonly result: WinRate;
  /** Per prompt: mean over seeds of (method − baseline). */
  readonly perPrompt: readonly { readonly promptId: string; readonly diff: number }[];
}

export interface Report {
  readonly experiment: string;
  readonly scorers: readonly string[];
  readonly methods: readonly MethodSummary[];
  readonly comparisons: readonly Comparison[];
  readonly matched: readonly { method: string; to: string; guidance: number; rho: number }[];
  readonly missing: readonly string[];
}

function scorersOf(rows: readonly ResultRow[]): string[] {
  const seen: string[] = [];
  for (const r of rows) for (const k of Object.keys(r.scores)) if (!seen.includes(k)) seen.push(k);
  return seen;
}

/** Per prompt, the scores of one method and scorer by seed. */
function byPrompt(rows: readonly ResultRow[], method: string, scorer: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const r of rows) {
    if (r.method !== method || !(scorer in r.scores)) continue;
    let m = out.get(r.promptId);
    if (!m) out.set(r.promptId, (m = new Map()));
    m.set(r.seed, r.scores[scorer]);
  }
  return out;
}

const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function buildReport(input: ReportInput): Report {
  const { rows } = input;
  const scorers = scorersOf(rows);
  const missing: string[] = [];
  const methods: MethodSummary[] = input.methods.map((method) => {
    const mine = rows.filter((r) => r.method === method);
    if (mine.length === 0) missing.push(method);
    const scores: Record<string, MeanCi> = {};
    for (const s of scorers) {
      const perPrompt = [...byPrompt(rows, method, s).values()].map((m) => avg([...m.values()]));
      scores[s] = meanCi(perPrompt);
    }
    return { method, images: mine.length, nfe: mine.length ? avg(mine.map((r) => r.nfe)) : NaN, wallMs: mine.length ? avg(mine.map((r) => r.wallMs)) : NaN, scores };
  });
  const comparisons: Comparison[] = [];
  for (const method of input.methods) {
    if (input.baselines.includes(method)) continue;
    for (const baseline of input.baselines) {
      for (const scorer of scorers) {
        const a = byPrompt(rows, method, scorer);
        const b = byPrompt(rows, baseline, scorer);
        const units: PairedUnit[] = [];
        const perPrompt: { promptId: string; diff: number }[] = [];
        for (const [promptId, seedsA] of a) {
          const seedsB = b.get(promptId);
          if (!seedsB) continue;
          let wins = 0;
          let ties = 0;
          let losses = 0;
          let diffSum = 0;
          for (const [seed, va] of seedsA) {
            const vb = seedsB.get(seed);
            if (vb === undefined) continue;
            if (va > vb) wins++;
            else if (va < vb) losses++;
            else ties++;
            diffSum += va - vb;
          }
          const n = wins + ties + losses;
          if (n === 0) continue;
          units.push({ wins, ties, losses, diffSum });
          perPrompt.push({ promptId, diff: diffSum / n });
        }
        comparisons.push({ method, baseline, scorer, result: pairedWinRate(units, { resamples: input.resamples }), perPrompt });
      }
    }
  }
  const matched = [...(input.matched ?? new Map()).entries()].map(([method, m]) => ({ method, ...m }));
  return { experiment: input.experiment, scorers, methods, comparisons, matched, missing };
}

const f = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}` : '–');

/** Markdown: the paper's table layout with intervals, then the win-rate table. */
export function reportMarkdown(r: Report, note = ''): string {
  const lines: string[] = [];
  lines.push(`# Experiment ${r.experiment}`, '');
  if (note) lines.push(note, '');
  lines.push('Mean over prompts (seeds averaged within a prompt) ± half-width of the 95 % Student-t interval over prompts.', '');
  lines.push(`| Method | ${r.scorers.join(' | ')} | NFE | images |`);
  lines.push(`|---|${r.scorers.map(() => '---').join('|')}|---|---|`);
  for (const m of r.methods) {
    const cells = r.scorers.map((s) => {
      const c = m.scores[s];
      return c && Number.isFinite(c.mean) ? `${f(c.mean, 4)} ± ${f((c.hi - c.lo) / 2, 4)}` : '–';
    });
    lines.push(`| ${m.method} | ${cells.join(' | ')} | ${f(m.nfe, 1)} | ${m.images} |`);
  }
  if (r.comparisons.length > 0) {
    lines.push('', 'Paired win rate of each row against each baseline (same prompt and seed): win % [95 % bootstrap interval over prompts], ties %, mean difference [interval].', '');
    lines.push('| Method vs baseline | Scorer | Win % | Tie % | Loss % | Mean difference | Pairs | Prompts |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const c of r.comparisons) {
      const w = c.result;
      lines.push(`| ${c.method} vs ${c.baseline} | ${c.scorer} | ${pct(w.win)} [${pct(w.winLo)}, ${pct(w.winHi)}] | ${pct(w.tie)} | ${pct(w.loss)} | ${f(w.diff, 4)} [${f(w.diffLo, 4)}, ${f(w.diffHi, 4)}] | ${w.pairs} | ${w.prompts} |`);
    }
  }
  if (r.matched.length > 0) {
    lines.push('', 'First-order matched CFG scales (w_main + r·(w_strong − w_weak)·ρ, ρ = share of σ travelled in reflected steps; docs/EVAL.md):', '');
    for (const m of r.matched) lines.push(`- ${m.method}: CFG ${f(m.guidance, 4)} matches ${m.to} (ρ = ${f(m.rho, 4)})`);
  }
  if (r.missing.length > 0) lines.push('', `Methods without rows yet: ${r.missing.join(', ')}.`);
  return `${lines.join('\n')}\n`;
}

/** One PNG per scorer: for each comparison, per-prompt differences (method − baseline) as sorted bars. */
export function differencePlot(r: Report, scorer: string): Buffer {
  const comps = r.comparisons.filter((c) => c.scorer === scorer);
  const panelH = 90;
  const maxPrompts = Math.max(1, ...comps.map((c) => c.perPrompt.length));
  const barW = Math.max(1, Math.min(8, Math.floor(600 / maxPrompts)));
  const W = 80 + barW * maxPrompts + 20;
  const H = 24 + Math.max(1, comps.length) * (panelH + 10);
  const cv = new Canvas(Math.max(W, 320), H);
  cv.text(8, 6, `per-prompt difference, ${scorer}`.toUpperCase(), [0, 0, 0]);
  comps.forEach((c, k) => {
    const y0 = 24 + k * (panelH + 10);
    const diffs = c.perPrompt.map((p) => p.diff).sort((a, b) => a - b);
    const m = Math.max(1e-12, ...diffs.map(Math.abs));
    const mid = y0 + panelH / 2;
    cv.text(8, y0, `${c.method} - ${c.baseline}`.toUpperCase().slice(0, 40), [0, 0, 0]);
    cv.text(8, mid - 3, `0`, [90, 90, 90]);
    cv.text(8, y0 + 10, `MAX ${m.toPrecision(2)}`.toUpperCase(), [90, 90, 90]);
    cv.line(60, mid, 60 + barW * maxPrompts, mid, [120, 120, 120]);
    diffs.forEach((d, i) => {
      const h = (Math.abs(d) / m) * (panelH / 2 - 12);
      cv.fillRect(62 + i * barW, d >= 0 ? mid - h : mid, Math.max(1, barW - 1), Math.max(1, h), d >= 0 ? [44, 160, 44] : [214, 39, 40]);
    });
  });
  return canvasToPng(cv);
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Rows as CSV: fixed columns, settings as JSON, one column per scorer. */
export function rowsCsv(rows: readonly ResultRow[]): string {
  const scorers = scorersOf(rows);
  const head = ['id', 'experiment', 'method', 'prompt_id', 'prompt', 'seed', 'nfe', 'wall_ms', 'image', 'created_at', 'settings', ...scorers.map((s) => `score_${s}`)];
  const body = rows.map((r) =>
    [r.id, r.experiment, r.method, r.promptId, r.prompt, String(r.seed), String(r.nfe), String(r.wallMs), r.image, r.createdAt, JSON.stringify(r.settings), ...scorers.map((s) => (s in r.scores ? String(r.scores[s]) : ''))]
      .map(csvField)
      .join(','),
  );
  return `${[head.join(','), ...body].join('\r\n')}\r\n`;
}

export function rowsJsonl(rows: readonly ResultRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
