import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { imageGrid, sideBySide, toByte, writePng } from '../src/lab/mnist/grid.js';

test('imageGrid tiles images with padding and maps [−1, 1] to bytes', () => {
  // three 2 × 2 images in 2 columns, pad 1: width 2·2 + 3 = 7, height 2·2 + 3 = 7
  const images = Float32Array.from([-1, 1, 0, 0.5, 1, 1, 1, 1, -1, -1, -1, 2]);
  const g = imageGrid(images, 3, 2, 2, { cols: 2, pad: 1, padValue: 9 });
  assert.equal(g.width, 7);
  assert.equal(g.height, 7);
  assert.equal(g.pixels[0], 9);
  assert.deepEqual([g.pixels[1 * 7 + 1], g.pixels[1 * 7 + 2], g.pixels[2 * 7 + 1], g.pixels[2 * 7 + 2]], [0, 255, 128, 191]);
  assert.equal(g.pixels[1 * 7 + 4], 255);
  // third image starts at row 4, column 1; its value 2 is clipped to white
  assert.equal(g.pixels[5 * 7 + 2], 255);
  assert.equal(g.pixels[4 * 7 + 4], 9);
  assert.equal(toByte(-0.5), 64);
  assert.throws(() => imageGrid(Float32Array.from([0, NaN, 0, 0]), 1, 2, 2, { cols: 1 }), /non-finite value NaN in image 0 at \(0, 1\)/);
  assert.throws(() => imageGrid(images, 2, 2, 2, { cols: 2 }), /12 values are not 2 images/);
});

test('writePng writes a readable greyscale PNG and leaves no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-png-'));
  const a = imageGrid(Float32Array.from([-1, 1, 1, -1]), 1, 2, 2, { cols: 1, pad: 0 });
  const b = imageGrid(Float32Array.from([0, 0, 0, 0]), 1, 2, 2, { cols: 1, pad: 0 });
  const both = sideBySide([a, b], 1, 200);
  const path = join(dir, 'sub', 'grid.png');
  writePng(path, both);
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['grid.png']);
  const png = PNG.sync.read(readFileSync(path));
  assert.equal(png.width, 5);
  assert.equal(png.height, 2);
  // pngjs expands to RGBA on read
  const grey = (x: number, y: number) => png.data[(y * png.width + x) * 4];
  assert.deepEqual([grey(0, 0), grey(1, 0), grey(2, 0), grey(3, 0), grey(4, 1)], [0, 255, 200, 128, 128]);
});
