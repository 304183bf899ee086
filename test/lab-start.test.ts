import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { start } from '../src/cli/start.js';
import { writeTinyClassifier, writeTinyModel } from './lab-tiny-onnx.js';

test('the default job writes plain | W2SD side by side and reports measured NFE and metrics', async () => {
  const root = mkdtempSync(join(tmpdir(), 'w2sd-start-'));
  const models = join(root, 'models');
  writeTinyModel(models, 'mnist-full-final', { a: 0.3, b: 0.02, c: 0.0004 });
  writeTinyModel(models, 'mnist-small', { a: 0.2, b: 0.03, c: 0.0006 });
  writeTinyClassifier(models, 'mnist-classifier');
  const out = join(root, 'out');
  const r = await start({ modelsDir: models, out, samples: 12, steps: 3, seed: 0, batch: 5 });
  assert.deepEqual(r.rows.map((x) => x.nfe), [3, 3 + 2 * 2]);
  for (const f of r.files) assert.ok(existsSync(f), f);
  assert.match(r.text, /wrote .*mnist-plain-vs-w2sd\.png/);
  assert.match(r.text, /\| W2SD \(weak mnist-small\) \| 7 \|/);
  const png = PNG.sync.read(readFileSync(join(out, 'mnist-plain-vs-w2sd.png')));
  // two panels of 10 columns × 2 rows of 28-pixel tiles (12 images), padding 2, a title strip, an 8-pixel gap
  assert.equal(png.width, 2 * (10 * 28 + 11 * 2) + 8);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.rows.length, 2);
  assert.equal(metrics.settings.lambda, 2);
});
