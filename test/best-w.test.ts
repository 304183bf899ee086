import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ddim } from '../src/core/index.js';
import { bestBalanced } from '../src/eval/best-w.js';
import { toyProblem } from '../src/lab/toy/problem.js';
import { autoguidanceRow } from '../src/lab/toy/methods.js';
import { runMethod } from '../src/lab/toy/run.js';
import { W_GRID, chooseBestW } from '../src/lab/toy/lab.js';
import type { MethodRow } from '../src/lab/toy/run.js';
import type { ToyMetrics } from '../src/eval/toy-metrics.js';
import { fractalTriple } from './helpers/fractal.js';
import { bestAutoguidanceOf, lowestFdAutoguidanceOf } from '../src/lab/mnist/best.js';
import type { RowResult } from '../src/lab/mnist/lab.js';

test('best w: min(precision, recall) within 2 binomial standard errors of the best, then the smallest distance', () => {
  type C = { w: number; precision: number; recall: number; d: number };
  const pick = (c: C[], n: number) => bestBalanced(c, (x) => x, (x) => x.d, n).best.w;
  // blur (precision 0.6) and collapse (recall 0.6) are out; of the rest the smallest distance wins
  const cands: C[] = [
    { w: 0.5, precision: 0.6, recall: 0.99, d: 0.1 },
    { w: 1.5, precision: 0.9, recall: 0.92, d: 0.5 },
    { w: 2, precision: 0.905, recall: 0.91, d: 0.3 },
    { w: 4, precision: 0.99, recall: 0.6, d: 0.2 },
  ];
  // best floor 0.905; 2·√(0.905·0.095/1000) = 0.01854: 0.9 is within it, so w = 2 (d 0.3) and w = 1.5 (d 0.5) compete
  assert.equal(pick(cands, 1000), 2);
  // at 100,000 samples the tolerance is 0.0019: only w = 2 is admissible
  assert.equal(bestBalanced(cands, (x) => x, (x) => x.d, 100_000).admissible.length, 1);
  // w = 1.5 with the smaller distance wins when admissible
  assert.equal(pick([{ ...cands[1], d: 0.25 }, cands[2]], 1000), 1.5);
  assert.ok(Math.abs(bestBalanced(cands, (x) => x, (x) => x.d, 1000).tolerance - 2 * Math.sqrt((0.905 * 0.095) / 1000)) < 1e-12);
});

test('on a thin-component fractal tree, sliced W1 picks blur, mean log p_ideal picks collapse, the criterion neither', async () => {
  // 63 thin components, 1,000 samples, T = 12: the failure modes pull apart (measured, not assumed: asserted below)
  const p = toyProblem({ samples: 1000, seed: 1, mixtures: fractalTriple(5) });
  const rows: { w: number; m: ToyMetrics; row: MethodRow }[] = [];
  for (const w of W_GRID) {
    const row = await runMethod(p, autoguidanceRow(p, w), { sampler: ddim(), steps: 12 });
    rows.push({ w, m: row.metrics, row });
  }
  const by = (better: (a: (typeof rows)[0], b: (typeof rows)[0]) => boolean) => rows.reduce((a, b) => (better(b, a) ? b : a)).w;
  const w1 = by((a, b) => a.m.slicedW1 < b.m.slicedW1);
  const ll = by((a, b) => a.m.meanLogLik > b.m.meanLogLik);
  const balanced = bestBalanced(rows, (r) => r.m, (r) => r.m.slicedW1, 1000).best.w;
  const at = (w: number) => rows.find((r) => r.w === w)!.m;
  assert.ok(w1 < 1, `sliced W1 picks anti-guidance (w = ${w1})`);
  assert.ok(at(w1).precision < at(1).precision - 0.05, `…which blurs: precision ${at(w1).precision} vs strong ${at(1).precision}`);
  assert.ok(ll >= 2.5, `mean log p_ideal picks a large w (${ll})`);
  assert.ok(at(ll).recall < at(balanced).recall - 0.05, `…which collapses: recall ${at(ll).recall} vs ${at(balanced).recall}`);
  assert.ok(balanced > w1 && balanced < ll, `balanced pick ${balanced} lies between blur (${w1}) and collapse (${ll})`);
  assert.ok(Math.min(at(balanced).precision, at(balanced).recall) > 0.9, JSON.stringify(at(balanced)));
  // the toy lab's own choice (before: the lowest sliced W1, here anti-guidance)
  const choice = chooseBestW(rows.map((r) => ({ value: r.w, row: r.row })));
  assert.deepEqual([choice.w, choice.bySlicedW1, choice.byMeanLogLik], [balanced, w1, ll]);
  assert.match(choice.criterion, /min\(precision, recall\)/);
});

test('MNIST lab: the best autoguidance row by the balanced criterion with FD as the distance; a class pair keeps its own measure', () => {
  // values of docs/mnist/sweep/quality/results.json (P/R on 1,000 samples): min(P, R) 0.801, 0.796, 0.782; tolerance
  // 2·√(0.801·0.199/1000) = 0.0253 keeps all three, and FD (1.105, 1.058, 1.161) picks w = 2. With P/R on 100,000
  // samples (tolerance 0.0025) only w = 1.5 would be admissible.
  const row = (w: number, precision: number, recall: number, frechet: number, minorityOfPair?: number) =>
    ({ id: `autoguidance-w${w}`, name: `autoguidance w=${w}`, metrics: { precision, recall, frechet, minorityOfPair } }) as unknown as RowResult;
  const rows = [row(1.5, 0.801, 0.919, 1.105, 0.385), row(2, 0.796, 0.914, 1.058, 0.503), row(3, 0.782, 0.931, 1.161, 0.651)];
  assert.equal(bestAutoguidanceOf(rows, false, 1000)?.id, 'autoguidance-w2');
  assert.equal(bestAutoguidanceOf(rows, false, 100_000)?.id, 'autoguidance-w1.5');
  assert.equal(lowestFdAutoguidanceOf(rows)?.id, 'autoguidance-w2');
  // the class pair's own measure: minority share nearest 50 %
  assert.equal(bestAutoguidanceOf(rows, true, 1000)?.id, 'autoguidance-w2');
});
