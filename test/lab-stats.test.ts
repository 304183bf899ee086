import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalCdf, pairedProportionDiff, pairedShareDiff } from '../src/lab/mnist/stats.js';

test('normalCdf matches tabulated values', () => {
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalCdf(1.96) - 0.9750021) < 2e-7);
  assert.ok(Math.abs(normalCdf(-1) - 0.1586553) < 2e-7);
});

test('paired proportion difference: mean of per-sample differences and its normal interval', () => {
  // differences 1, 0, 0, −1, 1, 0, 1, 0: mean 0.25, squares sum to 4, sample variance (4 − 8·0.0625)/7 = 0.5
  const a = Uint8Array.from([1, 1, 0, 0, 1, 1, 1, 0]);
  const b = Uint8Array.from([0, 1, 0, 1, 0, 1, 0, 0]);
  const d = pairedProportionDiff(a, b);
  assert.equal(d.diff, 0.25);
  assert.ok(Math.abs(d.halfWidth - 1.96 * Math.sqrt(0.5 / 8)) < 1e-12);
  // identical outcomes: no difference and no spread, whatever the share
  assert.deepEqual(pairedProportionDiff(a, a), { diff: 0, halfWidth: 0 });
});

test('paired share among the pair ignores samples of neither class and bootstraps a spread', () => {
  // a: 2 minority of 3 in the pair (one −1 ignored); b: 1 of 4
  const a = Int8Array.from([1, 1, 0, -1]);
  const b = Int8Array.from([1, 0, 0, 0]);
  const d = pairedShareDiff(a, b, 200);
  assert.ok(Math.abs(d.diff - (2 / 3 - 1 / 4)) < 1e-12);
  assert.ok(d.halfWidth > 0);
  const same = pairedShareDiff(a, a, 200);
  assert.equal(same.diff, 0);
  assert.equal(same.halfWidth, 0);
});
