import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ddim } from '../src/core/samplers/ddim.js';
import { ddimSchedule } from '../src/core/schedules/discrete.js';
import { ModelShelf } from '../src/lab/mnist/models.js';
import { plainRow, reflectionRow } from '../src/lab/mnist/rows.js';
import { runRow, type RunSettings } from '../src/lab/mnist/run.js';
import { runExperiment, type LabOptions } from '../src/lab/mnist/lab.js';
import { writeTinyClassifier, writeTinyModel } from './lab-tiny-onnx.js';

const root = mkdtempSync(join(tmpdir(), 'w2sd-lab-'));
const models = join(root, 'models');
// affine stand-ins under the shipped names: the strong/weak/ideal roles differ only by their coefficients
writeTinyModel(models, 'mnist-imbalance-2to1', { a: 0.3, b: 0, c: 0.0004, conditioning: 'unconditional' });
writeTinyModel(models, 'mnist-imbalance-10to1', { a: 0.2, b: 0, c: 0.0006, conditioning: 'unconditional' });
writeTinyModel(models, 'mnist-imbalance-1to1', { a: 0.35, b: 0, c: 0.0003, conditioning: 'unconditional' });
writeTinyModel(models, 'mnist-full-final', { a: 0.3, b: 0.02, c: 0.0004 });
writeTinyModel(models, 'mnist-small', { a: 0.2, b: 0.03, c: 0.0006 });
writeTinyClassifier(models, 'mnist-classifier');

async function settings(count: number, batch: number): Promise<RunSettings> {
  const shelf = new ModelShelf(models);
  const m = await shelf.model('mnist-full-final');
  return {
    count,
    batch,
    seed: 3,
    steps: 5,
    sampler: ddim(),
    schedule: (n) => ddimSchedule(m.scheduler, n),
    imageShape: m.imageShape,
    labelOf: (i) => i % 10,
  };
}

test('a row gives the same images whatever the batching (common random numbers per sample)', async () => {
  const shelf = new ModelShelf(models);
  const strong = { model: await shelf.model('mnist-full-final') };
  const row = plainRow('strong', 'strong', 'baseline', strong);
  const one = await runRow(row, await settings(7, 7));
  const three = await runRow(row, await settings(7, 3));
  assert.deepEqual(one.images, three.images);
  assert.equal(one.nfe, 5);
  assert.equal(three.nfe, 5);
  assert.equal(one.networkPerImage, 5);
});

test('self-reflection with the fixed-point inversion reproduces plain sampling; with ddim it does not exactly', async () => {
  const shelf = new ModelShelf(models);
  const strong = { model: await shelf.model('mnist-full-final') };
  const s = await settings(4, 4);
  const plain = await runRow(plainRow('strong', 'strong', 'baseline', strong), s);
  const fixed = await runRow(
    reflectionRow({ id: 'self', name: 'self', group: 'control', main: strong, strong, weak: strong, kind: 'self', inversion: 'fixed-point', settings: { fixedPoint: { tolerance: 1e-7, maxIterations: 60 } } }),
    s,
  );
  const viaDdim = await runRow(reflectionRow({ id: 'self-ddim', name: 'self', group: 'control', main: strong, strong, weak: strong, kind: 'self' }), s);
  let worstFixed = 0;
  let worstDdim = 0;
  for (let i = 0; i < plain.images.length; i++) {
    worstFixed = Math.max(worstFixed, Math.abs(fixed.images[i] - plain.images[i]));
    worstDdim = Math.max(worstDdim, Math.abs(viaDdim.images[i] - plain.images[i]));
  }
  assert.ok(worstFixed < 1e-4, `fixed-point self-reflection moved a pixel by ${worstFixed}`);
  assert.ok(worstDdim > 10 * worstFixed, `ddim round trip error ${worstDdim} should exceed the fixed-point one ${worstFixed}`);
  // the fixed-point solver's iterations are counted, not assumed: more than the 2 calls per step of ddim
  assert.ok(fixed.nfe > viaDdim.nfe, `fixed-point NFE ${fixed.nfe} vs ddim ${viaDdim.nfe}`);
  assert.equal(viaDdim.nfe, 5 + 2 * 4);
});

function labOptions(out: string, rows?: string[]): LabOptions {
  return {
    modelsDir: models,
    out,
    samples: 12,
    batch: 5,
    steps: 4,
    seed: 1,
    settings: { cfgScale: 2, autoguidanceWeights: [2], fixedPoint: { tolerance: 1e-4, maxIterations: 5 } },
    prSamples: 12,
    cosineSamples: 6,
    bootstrap: 3,
    ...(rows ? { rows } : {}),
    gridImages: 9,
  };
}

test('the imbalance experiment runs every row end to end with measured NFE and writes its files', async () => {
  const out = join(root, 'out');
  const r = await runExperiment('imbalance', labOptions(out));
  const byId = new Map(r.rows.map((x) => [x.id, x]));
  const nfe = (id: string) => byId.get(id)?.nfe;
  // T = 4: plain 4; autoguidance two models per step 8; W2SD T + 2λ = 4 + 2·3; equal compute T' = 2, λ = 1 → 4;
  // the matched plain row runs 3T − 2 = 10 steps
  assert.equal(nfe('strong'), 4);
  assert.equal(nfe('autoguidance-w2'), 8);
  assert.equal(nfe('w2sd-ddim'), 10);
  assert.equal(nfe('w2sd-official-lagged'), 10);
  assert.equal(nfe('s2wd'), 10);
  assert.equal(nfe('w2sd-equal-compute'), 4);
  assert.equal(nfe('self-equal-compute'), 4);
  assert.equal(nfe('strong-3t'), 10);
  assert.equal(byId.get('strong-3t')!.steps, 10);
  assert.ok(nfe('w2sd-fixed-point')! > 10);
  for (const x of r.rows) {
    assert.ok(Number.isFinite(x.metrics.frechet) && x.metrics.frechet >= 0, `${x.id} FD ${x.metrics.frechet}`);
    assert.ok(x.metrics.minority !== undefined && x.metrics.minority >= 0 && x.metrics.minority <= 1);
    assert.ok(x.metrics.other !== undefined && Math.abs(x.metrics.minority + x.metrics.majority! + x.metrics.other - 1) < 1e-12);
    if (x.id !== 'strong' && x.group !== 'data') assert.ok(x.vsStrong?.minority, `${x.id} has a paired difference`);
  }
  // the point estimate of the paired difference is this row's share minus strong's (NaN when no sample is 0 or 7)
  const w = byId.get('w2sd-ddim')!;
  const d = w.vsStrong!.minority!.diff;
  const expected = w.metrics.minorityOfPair! - byId.get('strong')!.metrics.minorityOfPair!;
  assert.ok(Number.isNaN(expected) ? Number.isNaN(d) : Math.abs(d - expected) < 1e-12);
  assert.equal(r.cosine?.length, 4);
  assert.ok(r.findings.length >= 3);
  const dir = join(out, 'imbalance');
  for (const f of ['results.json', 'results.md', 'compare.png', 'strong.png', 'w2sd-ddim.png']) assert.ok(existsSync(join(dir, f)), f);
  const md = readFileSync(join(dir, 'results.md'), 'utf8');
  assert.match(md, /\| strong alone \(2:1\) \| 4 \| 4 \|/);
  const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  assert.equal(json.rows.length, r.rows.length);
});

test('the quality experiment counts a CFG batch once as NFE but twice as network rows', async () => {
  const r = await runExperiment('quality', labOptions(join(root, 'out-q'), ['cfg', 'z-sampling', 'w2sd-ddim']));
  const byId = new Map(r.rows.map((x) => [x.id, x]));
  assert.deepEqual([...byId.keys()].sort(), ['cfg', 'mnist-train', 'strong', 'w2sd-ddim', 'z-sampling']);
  assert.equal(byId.get('cfg')!.nfe, 4);
  assert.equal(byId.get('cfg')!.networkPerImage, 8);
  // Z-Sampling: main and strong legs at CFG 2 (2 rows each), weak leg unconditional (1 row): 4·2 + 3·(2 + 1)
  assert.equal(byId.get('z-sampling')!.nfe, 10);
  assert.equal(byId.get('z-sampling')!.networkPerImage, 17);
  assert.equal(byId.get('z-sampling')!.compareWith, 'cfg');
  assert.ok(byId.get('strong')!.metrics.accuracy !== undefined);
  await assert.rejects(runExperiment('quality', labOptions(join(root, 'out-x'), ['nope'])), /unknown row ids nope/);
  await assert.rejects(runExperiment('length', labOptions(join(root, 'out-l'))), /model mnist-full-early: .* not found; the shipped models live in models\//);
});
