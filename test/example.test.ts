import { test } from 'node:test';
import assert from 'node:assert/strict';
import { example } from '../examples/two-mixtures.js';

test("the README's library example runs and W2SD moves mass toward the under-weighted mode", async () => {
  const { plain, w2sd } = await example();
  const left = (xs: Float32Array) => xs.filter((v) => v < 0).length / xs.length;
  assert.ok(Math.abs(left(plain) - 0.42) < 0.05, `plain left share ${left(plain)}`);
  assert.ok(left(w2sd) > left(plain), `W2SD ${left(w2sd)} vs plain ${left(plain)}`);
});
