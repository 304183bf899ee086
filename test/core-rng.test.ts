import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { batchGaussian, gaussian, initialLatent, philox4x32, stepNoise } from '../src/core/index.js';

const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0'));

test('Philox4x32-10 matches the Random123 known-answer vectors', () => {
  assert.deepEqual(hex(philox4x32([0, 0, 0, 0], [0, 0])), ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  const ones = 0xffffffff;
  assert.deepEqual(hex(philox4x32([ones, ones, ones, ones], [ones, ones])), ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  assert.deepEqual(
    hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'],
  );
});

test('same seed, same numbers; other seed or item, other numbers', () => {
  assert.deepEqual(gaussian(42, 1000), gaussian(42, 1000));
  assert.notDeepEqual(gaussian(42, 16), gaussian(43, 16));
  assert.notDeepEqual(gaussian(42, 16, 0), gaussian(42, 16, 1));
  assert.notDeepEqual(gaussian(42, 16, 0, 'initial'), gaussian(42, 16, 0, { step: 0 }));
  // a prefix of a longer draw is the shorter draw
  assert.deepEqual(gaussian(7, 10), gaussian(7, 13).subarray(0, 10));
});

test("a batch item's noise does not depend on the batch it is in", () => {
  const four = batchGaussian(5, [4, 3, 2]);
  const two = batchGaussian(5, [2, 3, 2]);
  assert.deepEqual(four.subarray(0, 12), two);
  const noise = stepNoise(5);
  assert.deepEqual(noise(3, [4, 6]).subarray(6, 12), noise(3, [2, 6]).subarray(6, 12));
});

test('normals have the moments of N(0, 1)', () => {
  const n = 200_000;
  const g = gaussian(123, n);
  let s = 0;
  let s2 = 0;
  let s4 = 0;
  for (const v of g) {
    s += v;
    s2 += v * v;
    s4 += v ** 4;
  }
  // standard errors: mean 1/√n ≈ 0.0022, variance √(2/n) ≈ 0.0032, 4th moment √(96/n) ≈ 0.022
  assert.ok(Math.abs(s / n) < 0.01, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.015, `variance ${s2 / n}`);
  assert.ok(Math.abs(s4 / n - 3) < 0.1, `fourth moment ${s4 / n}`);
});

test('initial latent is unit normals times the schedule σ', () => {
  const x = initialLatent(9, [2, 4], { initSigma: 3 });
  const g = batchGaussian(9, [2, 4]);
  assert.deepEqual(x, g.map((v) => v * 3));
});

test('the browser build draws the same numbers as Node', async () => {
  // bundle the core for a browser and run it in a bare context with none of Node's globals
  const entry = fileURLToPath(new URL('../../src/core/index.ts', import.meta.url));
  const out = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', globalName: 'core', write: false, logLevel: 'silent' });
  const context = vm.createContext({});
  vm.runInContext(out.outputFiles[0].text, context);
  const browser = JSON.parse(vm.runInContext('JSON.stringify(Array.from(core.batchGaussian(2026, [3, 5])))', context) as string) as number[];
  assert.equal(vm.runInContext('typeof process', context), 'undefined');
  assert.deepEqual(browser, Array.from(batchGaussian(2026, [3, 5])));
});
