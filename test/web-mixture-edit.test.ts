import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moveMean, setSpread, setWeight, spreadOf } from '../src/web/mixture-edit.js';
import type { MixtureSpec } from '../src/models/gmm-spec.js';

const m: MixtureSpec = {
  dim: 2,
  components: [
    { weight: 0.5, mean: [0, 0], cov: [[1, 0], [0, 1]] },
    { weight: 0.3, mean: [4, 4], cov: [[4, 1], [1, 2]] },
    { weight: 0.2, mean: [-4, 4], cov: [[1, 0], [0, 1]] },
  ],
};

test('setWeight keeps the others in proportion and the total at one', () => {
  const w = setWeight(m, 0, 0.2).components.map((c) => c.weight);
  // the other two had 0.3 : 0.2 of the remaining 0.5; now they share 0.8 in the same ratio
  assert.deepEqual(w.map((v) => +v.toFixed(12)), [0.2, 0.48, 0.32]);
  const all = setWeight(setWeight(m, 1, 0), 2, 0).components.map((c) => c.weight);
  assert.deepEqual(all, [1, 0, 0]);
  // no mass left among the others: shared equally
  assert.deepEqual(setWeight({ dim: 2, components: all.map((weight, k) => ({ ...m.components[k], weight })) }, 0, 0.4).components.map((c) => +c.weight.toFixed(12)), [0.4, 0.3, 0.3]);
  assert.deepEqual(setWeight(m, 1, 7).components.map((c) => c.weight), [0, 1, 0]);
});

test('setSpread scales the covariance to the requested rms std, keeping its shape', () => {
  assert.equal(spreadOf(m.components[1]), Math.sqrt(3));
  const c = setSpread(m, 1, 2 * Math.sqrt(3)).components[1];
  assert.deepEqual(c.cov, [[16, 4], [4, 8]]);
  assert.throws(() => setSpread(m, 0, 0), /spread must be a finite number > 0, got 0/);
});

test('moveMean moves one component only', () => {
  const moved = moveMean(m, 2, [-1, -2]);
  assert.deepEqual(moved.components[2].mean, [-1, -2]);
  assert.deepEqual(moved.components[0], m.components[0]);
  assert.deepEqual(m.components[2].mean, [-4, 4]);
});
