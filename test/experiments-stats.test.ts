import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { buildReport, differencePlot, reportMarkdown, rowsCsv } from '../src/experiments/report.js';
import { meanCi, pairedWinRate, percentileInterval, studentTQuantile } from '../src/experiments/stats.js';
import { itemId, type ResultRow } from '../src/experiments/types.js';
import { parse } from 'csv-parse/sync';

const near = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('Student t quantiles equal the printed table (two-sided 95 %)', () => {
  // Fisher & Yates / any statistics table: t_{0.975, df}
  const table: [number, number][] = [[1, 12.706205], [2, 4.302653], [3, 3.182446], [9, 2.262157], [29, 2.04523], [99, 1.984217]];
  for (const [df, t] of table) near(studentTQuantile(0.975, df), t, 2e-6, `df ${df}`);
});

/**
 * The fixed table (scorer s, two seeds per prompt):
 *   prompt   A (seed 0, 1)   B (seed 0, 1)
 *   p0       3, 5            1, 5
 *   p1       2, 2            3, 2
 *   p2       7, 1            6, 0
 *   p3       4, 6            4, 2
 */
const A = { p0: [3, 5], p1: [2, 2], p2: [7, 1], p3: [4, 6] };
const B = { p0: [1, 5], p1: [3, 2], p2: [6, 0], p3: [4, 2] };

function rows(method: string, t: Record<string, number[]>): ResultRow[] {
  return Object.entries(t).flatMap(([promptId, seeds]) =>
    seeds.map((v, seed) => ({
      id: itemId('t', method, promptId, seed),
      experiment: 't',
      method,
      promptId,
      prompt: `prompt ${promptId}, "quoted"`,
      seed,
      settings: { method: 'cfg', steps: 1, width: 8, height: 8 },
      nfe: method === 'A' ? 10 : 4,
      wallMs: 1,
      image: 'x.png',
      scores: { s: v },
      createdAt: 'now',
    })),
  );
}

test('mean with 95 % CI over prompts: hand-computed on the fixed table', () => {
  // per-prompt means 4, 2, 4, 5: mean 3.75, s² = 4.75/3, half-width = 3.182446·√(4.75/3)/2 = 2.002245
  const m = meanCi([4, 2, 4, 5]);
  near(m.mean, 3.75, 1e-12);
  near(m.hi - m.mean, 2.002245, 2e-6, 'half-width');
  near(m.mean - m.lo, 2.002245, 2e-6, 'half-width');
  const r = buildReport({ experiment: 't', methods: ['A', 'B'], baselines: ['B'], rows: [...rows('A', A), ...rows('B', B)], resamples: 20000 });
  const a = r.methods.find((x) => x.method === 'A')!;
  near(a.scores.s.mean, 3.75, 1e-12);
  near(a.scores.s.lo, 3.75 - 2.002245, 2e-6);
  assert.equal(a.nfe, 10);
  assert.equal(a.images, 8);
});

test('paired win rate, ties apart, with the bootstrap interval over prompts: hand-computed on the fixed table', () => {
  const r = buildReport({ experiment: 't', methods: ['A', 'B'], baselines: ['B'], rows: [...rows('A', A), ...rows('B', B)], resamples: 20000 });
  assert.equal(r.comparisons.length, 1);
  const c = r.comparisons[0].result;
  // pairs: win, tie | loss, tie | win, win | tie, win → 4 wins, 3 ties, 1 loss of 8
  near(c.win, 0.5, 1e-12);
  near(c.tie, 0.375, 1e-12);
  near(c.loss, 0.125, 1e-12);
  // differences 2+0, −1+0, 1+1, 0+4 = 7 over 8 pairs
  near(c.diff, 0.875, 1e-12);
  assert.equal(c.pairs, 8);
  assert.equal(c.prompts, 4);
  // wins per prompt 1, 0, 2, 1 (two pairs each): a resample of 4 prompts has Binomial(8, ½) wins, whose
  // 2.5 % and 97.5 % points are 1 and 7 (P(S ≤ 0) = 1/256, P(S ≤ 1) = 9/256): interval [1/8, 7/8]
  assert.equal(c.winLo, 0.125);
  assert.equal(c.winHi, 0.875);
  const md = reportMarkdown(r);
  assert.match(md, /\| A vs B \| s \| 50\.0 \[12\.5, 87\.5\] \| 37\.5 \| 12\.5 \| 0\.8750 /);
  assert.match(md, /\| A \| 3\.7500 ± 2\.0022 \| 10\.0 \| 8 \|/);
  assert.deepEqual(r.comparisons[0].perPrompt.map((p) => p.diff), [1, -0.5, 1, 2]);
});

test('bootstrap edge cases: a sweep is [1, 1]; percentile points are order statistics ⌊0.025B⌋ and ⌈0.975B⌉ − 1', () => {
  const w = pairedWinRate([{ wins: 1, ties: 0, losses: 0, diffSum: 1 }, { wins: 2, ties: 0, losses: 0, diffSum: 3 }]);
  assert.deepEqual([w.win, w.winLo, w.winHi], [1, 1, 1]);
  const values = Array.from({ length: 200 }, (_, i) => 199 - i);
  assert.deepEqual(percentileInterval(values), [5, 194]);
});

test('CSV export: real CSV that a parser reads back (quotes, commas)', () => {
  const all = rows('A', A);
  const back = parse(rowsCsv(all), { columns: true }) as Record<string, string>[];
  assert.equal(back.length, all.length);
  assert.equal(back[0].prompt, 'prompt p0, "quoted"');
  assert.equal(Number(back[0].score_s), 3);
  assert.deepEqual(JSON.parse(back[0].settings), all[0].settings);
});

test('difference plot: one bar per prompt, green above zero and red below (fixed table: 3 up, 1 down)', () => {
  const r = buildReport({ experiment: 't', methods: ['A', 'B'], baselines: ['B'], rows: [...rows('A', A), ...rows('B', B)], resamples: 100 });
  const png = PNG.sync.read(differencePlot(r, 's'));
  const columns = (rgb: [number, number, number]) => {
    const xs = new Set<number>();
    for (let y = 0; y < png.height; y++) {
      for (let x = 0; x < png.width; x++) {
        const o = (y * png.width + x) * 4;
        if (png.data[o] === rgb[0] && png.data[o + 1] === rgb[1] && png.data[o + 2] === rgb[2]) xs.add(x);
      }
    }
    return xs.size;
  };
  // 4 prompts → bars 8 px apart, 7 px wide
  assert.equal(columns([44, 160, 44]), 3 * 7);
  assert.equal(columns([214, 39, 40]), 7);
});
