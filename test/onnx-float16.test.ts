import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float16BitsToFloat32, float32ToFloat16Bits, fromFloat16, toFloat16 } from '../src/models/onnx/float16.js';

test('float16: reference bit patterns (IEEE 754 binary16 table values)', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [0.1, 0x2e66], // 0.0999755859375
    [1 / 3, 0x3555],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1e6, 0x7c00], // overflow
    [65520, 0x7c00], // halfway between 65504 and 65536: ties to even = infinity
    [2 ** -25, 0x0000], // halfway between 0 and 2^-24: ties to even = 0
    [1.5 * 2 ** -25, 0x0001],
    [1e-10, 0x0000],
  ];
  for (const [v, bits] of cases) {
    assert.equal(float32ToFloat16Bits(v), bits, `encode ${v}`);
  }
  assert.equal(float32ToFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(float32ToFloat16Bits(NaN) & 0x03ff, 0);
  assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
  assert.equal(float16BitsToFloat32(0x3555), 0.333251953125);
  assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
  assert.equal(float16BitsToFloat32(0xfc00), -Infinity);
});

test('float16: every finite half survives decode→encode, and every midpoint rounds to the even neighbour', () => {
  for (let h = 0; h < 0x10000; h++) {
    const exp = (h >>> 10) & 0x1f;
    if (exp === 0x1f) continue;
    const v = float16BitsToFloat32(h);
    if (float32ToFloat16Bits(v) !== h) assert.fail(`0x${h.toString(16)} does not round-trip`);
    // Midpoint to the next half of larger magnitude (exact in float32): must go to the even one.
    const next = h + 1;
    if (((next >>> 10) & 0x1f) === 0x1f) continue;
    const mid = (v + float16BitsToFloat32(next)) / 2;
    const even = (h & 1) === 0 ? h : next;
    if (float32ToFloat16Bits(mid) !== even) assert.fail(`midpoint of 0x${h.toString(16)} and 0x${next.toString(16)}`);
    // Just above the midpoint rounds away from h.
    const above = mid * (1 + 2 ** -20);
    if (float32ToFloat16Bits(above) !== next) assert.fail(`above midpoint of 0x${h.toString(16)}`);
  }
});

test('float16: array codec round-trips to within half precision', () => {
  const values = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
  const back = fromFloat16(toFloat16(values));
  for (let i = 0; i < values.length; i++) {
    const tol = Math.max(Math.abs(values[i]) * 2 ** -11, 2 ** -25);
    assert.ok(Math.abs(back[i] - values[i]) <= tol, `${values[i]} → ${back[i]}`);
  }
});
