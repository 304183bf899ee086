import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classCounts, loadFashionMnist } from '../src/data/index.js';

function record(fill: number): number[] {
  return new Array(784).fill(fill);
}

test('loadFashionMnist labels images by file, drops empty records and splits by position', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-fashion-'));
  writeFileSync(join(dir, '3.json'), JSON.stringify({ data: [record(1), [], record(2), record(3)] }));
  writeFileSync(join(dir, '8.json'), JSON.stringify({ data: [record(9)] }));
  const { set, emptyRecords } = loadFashionMnist({ dir, classes: [3, 8], anyCount: true });
  assert.equal(set.count, 4);
  assert.deepEqual([...set.labels], [3, 3, 3, 8]);
  assert.deepEqual([set.pixels[0], set.pixels[784], set.pixels[2 * 784 + 783], set.pixels[3 * 784]], [1, 2, 3, 9]);
  assert.equal(emptyRecords[3], 1);
  assert.throws(() => loadFashionMnist({ dir, classes: [3] }), /3\.json: 3 images, Fashion-MNIST has 7000 per class/);
});

test('loadFashionMnist rejects malformed records, naming file, record and pixel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-fashion-'));
  writeFileSync(join(dir, '0.json'), JSON.stringify({ data: [record(0), new Array(783).fill(0)] }));
  assert.throws(() => loadFashionMnist({ dir, classes: [0], anyCount: true }), /0\.json: record 1 has 783 values, expected 784/);
  const bad = record(0);
  bad[17] = 256;
  writeFileSync(join(dir, '1.json'), JSON.stringify({ data: [bad] }));
  assert.throws(() => loadFashionMnist({ dir, classes: [1], anyCount: true }), /1\.json: record 0, pixel 17 is 256/);
  writeFileSync(join(dir, '2.json'), '{"data": [[1, 2');
  assert.throws(() => loadFashionMnist({ dir, classes: [2], anyCount: true }), /cannot read .*2\.json as JSON/);
  writeFileSync(join(dir, '4.json'), JSON.stringify([record(0)]));
  assert.throws(() => loadFashionMnist({ dir, classes: [4], anyCount: true }), /expected an object \{"data"/);
  assert.throws(() => loadFashionMnist({ dir, classes: [10] }), /class 10 is outside 0\.\.9/);
});

test('the fashion-mnist package holds 7,000 images per class (class 0 and 9 checked)', () => {
  const { set, emptyRecords } = loadFashionMnist({ classes: [0, 9] });
  assert.equal(set.count, 14000);
  assert.deepEqual(classCounts(set).filter((n) => n > 0), [7000, 7000]);
  // the published class-0 file carries two empty records; they must not become black images
  assert.equal(emptyRecords[0], 2);
  const test = loadFashionMnist({ classes: [9], split: 'test' }).set;
  const train = loadFashionMnist({ classes: [9], split: 'train' }).set;
  assert.equal(test.count, 1000);
  assert.equal(train.count, 6000);
});
