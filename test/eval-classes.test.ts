import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmaxRows, classAccuracy, histogram, pairShare, precisionRecall, proportionHalfWidth } from '../src/eval/index.js';

test('argmax, accuracy and histogram on hand-made logits', () => {
  const logits = Float32Array.from([0.1, 2, -1, 5, 0, 0, -3, -2, -1]);
  const pred = argmaxRows(logits, 3);
  assert.deepEqual([...pred], [1, 0, 2]);
  assert.equal(classAccuracy(pred, [1, 1, 2]), 2 / 3);
  assert.deepEqual(histogram(pred, 3), [1, 1, 1]);
  assert.throws(() => argmaxRows(logits, 4), /9 values are not rows of 4 classes/);
  assert.throws(() => classAccuracy(pred, [1]), /3 predictions for 1 intended/);
});

test('pairShare counts off-pair samples against the minority share', () => {
  const s = pairShare(Int32Array.from([1, 1, 7, 7, 7, 3]), 1, 7);
  assert.equal(s.minority, 2 / 6);
  assert.equal(s.majority, 3 / 6);
  assert.equal(s.other, 1 / 6);
  assert.equal(s.ofPair, 2 / 5);
  assert.throws(() => pairShare(Int32Array.from([]), 1, 7), /no samples/);
  assert.ok(Math.abs(proportionHalfWidth(0.5, 10000) - 0.0098) < 1e-12);
});

test('precision/recall on hand-placed 1-D points', () => {
  // real points 0,1,2,3,4 with k = 1: every ball has radius 1, the real manifold is [−1, 5]
  const real = Float32Array.from([0, 1, 2, 3, 4]);
  // generated: three inside, one far; its own k=1 radii: 0.5↔1 are 0.5 apart, 1↔4.5 is 0.5 from 4.5? no:
  // points 0.5, 1, 4.5, 100 → radii 0.5, 0.5, 3.5, 95.5
  const gen = Float32Array.from([0.5, 1, 4.5, 100]);
  const pr = precisionRecall(real, gen, 1, 1);
  assert.equal(pr.precision, 3 / 4);
  // real 0 (|0−0.5| ≤ 0.5), 1, 2 (≤ 3.5 from 4.5? |2−4.5| = 2.5 yes), 3, 4 all covered; 100's ball reaches 4.5..195.5
  assert.equal(pr.recall, 1);
  const narrow = precisionRecall(real, Float32Array.from([0, 0.1, 0.2, 0.3]), 1, 1);
  // generated balls have radius 0.1 around 0, 0.1, 0.2, 0.3: only real point 0 is covered
  assert.equal(narrow.recall, 1 / 5);
  assert.equal(narrow.precision, 1);
  assert.throws(() => precisionRecall(real, gen, 1, 4), /more than k = 4 rows/);
});
