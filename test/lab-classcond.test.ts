import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClassCondModel } from '../src/models/classcond.js';
import { loadClassifier } from '../src/eval/classifier.js';
import { tensor } from '../src/core/tensor.js';
import { cfg } from '../src/core/guidance.js';
import { writeTinyClassifier, writeTinyModel } from './lab-tiny-onnx.js';

const root = mkdtempSync(join(tmpdir(), 'w2sd-classcond-'));
const A = 0.5;
const B = 0.1;
const C = 0.001;

/** k-diffusion's ε-denoiser by hand: D = x − σ·ε(x/√(1+σ²), t), here with ε = a·x_t + b·label + c·t. */
function expected(x: number, sigma: number, t: number, label: number): number {
  const xt = x / Math.sqrt(1 + sigma * sigma);
  return x - sigma * (A * xt + B * label + C * t);
}

test('the shipped-model denoiser matches the hand-derived ε → x0 conversion per row label', async () => {
  const dir = writeTinyModel(root, 'affine', { a: A, b: B, c: C });
  const model = await loadClassCondModel(dir);
  assert.equal(model.config.nullClass, 10);
  assert.deepEqual(model.imageShape, [1, 28, 28]);
  const x = new Float32Array(2 * 784);
  for (let i = 0; i < x.length; i++) x[i] = ((i % 13) - 6) / 3;
  const at = { sigma: 2.5, timestep: 400 };
  const d = await model.denoiser(Int32Array.from([3, 7]))(tensor(x, [2, 1, 28, 28]), at);
  for (const i of [0, 100, 783, 784, 1500]) {
    const label = i < 784 ? 3 : 7;
    assert.ok(Math.abs(d[i] - expected(x[i], at.sigma, at.timestep, label)) < 1e-4, `pixel ${i}: ${d[i]}`);
  }
  const u = await model.unconditional()(tensor(x.slice(0, 784), [1, 1, 28, 28]), at);
  assert.ok(Math.abs(u[5] - expected(x[5], at.sigma, at.timestep, 10)) < 1e-4);
});

test('CFG runs both halves as one session call of 2B and combines them as D_u + w(D_c − D_u)', async () => {
  const model = await loadClassCondModel(join(root, 'affine'));
  const x = new Float32Array(3 * 784).fill(0.25);
  const at = { sigma: 1.2, timestep: 250 };
  const labels = Int32Array.from([0, 4, 9]);
  const runs = model.session.stats.runs;
  const guided = cfg(model.guided(labels), 3);
  const out = await guided(tensor(x, [3, 1, 28, 28]), at);
  assert.equal(model.session.stats.runs - runs, 1);
  labels.forEach((label, b) => {
    const c = expected(0.25, at.sigma, at.timestep, label);
    const u = expected(0.25, at.sigma, at.timestep, 10);
    assert.ok(Math.abs(out[b * 784 + 17] - (u + 3 * (c - u))) < 1e-4);
  });
});

test('a mismatched or damaged model folder fails at load time with the reason', async () => {
  await assert.rejects(loadClassCondModel(writeTinyModel(root, 'renamed', { a: 1, b: 0, c: 0, sampleName: 'x' })), /inputs are .*x float32.*expected inputs sample float32 \[B, 1, 28, 28\]/);
  await assert.rejects(loadClassCondModel(writeTinyModel(root, 'nolabels', { a: 1, b: 0, c: 0, withLabels: false })), /inputs are sample .*timestep.*; expected/);
  await assert.rejects(loadClassCondModel(writeTinyModel(root, 'output', { a: 1, b: 0, c: 0, outputName: 'eps' })), /outputs are eps/);
  const big = writeTinyModel(root, 'big', { a: 1, b: 0, c: 0, side: 32 });
  const config = JSON.parse(readFileSync(join(big, 'config.json'), 'utf8'));
  writeFileSync(join(big, 'config.json'), JSON.stringify({ ...config, sample_size: 28 }));
  await assert.rejects(loadClassCondModel(big), /'sample' is float32 \[batch, 1, 32, 32\] but config\.json says images are \[1, 28, 28\]/);
  // int32 labels are adapted by the session wrapper, so they load
  await loadClassCondModel(writeTinyModel(root, 'int32', { a: 1, b: 0, c: 0, labelType: 'int32' }));

  const corrupt = writeTinyModel(root, 'corrupt', { a: 1, b: 0, c: 0 });
  const bytes = readFileSync(join(corrupt, 'model.onnx'));
  writeFileSync(join(corrupt, 'model.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  await assert.rejects(loadClassCondModel(corrupt), /shipped model corrupt: .*model\.onnx is not a loadable ONNX model \(corrupt or truncated file\?\)/);

  const noConfig = writeTinyModel(root, 'noconfig', { a: 1, b: 0, c: 0 });
  writeFileSync(join(noConfig, 'config.json'), '{"num_classes": 10, "null_class": 0}');
  await assert.rejects(loadClassCondModel(noConfig), /"null_class" is 0; the shipped signature puts the null class at num_classes = 10/);
  writeFileSync(join(noConfig, 'config.json'), '{"num_classes": 10');
  await assert.rejects(loadClassCondModel(noConfig), /config\.json is not valid JSON/);
  writeFileSync(join(noConfig, 'config.json'), '{"kind": "classifier", "num_classes": 10}');
  await assert.rejects(loadClassCondModel(noConfig), /"kind" is "classifier", expected "diffusion"/);
  writeFileSync(join(noConfig, 'scheduler_config.json'), '{"prediction_type": "x0"}');
  await assert.rejects(loadClassCondModel(noConfig), /"prediction_type" must be/);
  await assert.rejects(loadClassCondModel(join(root, 'missing')), /folder .*missing not found/);
});

test('labels are checked: range, batch size, and the null label only for unconditional models', async () => {
  const model = await loadClassCondModel(join(root, 'affine'));
  assert.throws(() => model.denoiser(Int32Array.from([11])), /label 11 at row 0 is outside 0\.\.10/);
  await assert.rejects(model.denoiser(Int32Array.from([1, 2]))(tensor(new Float32Array(784), [1, 1, 28, 28]), { sigma: 1, timestep: 10 }), /2 labels for a batch of 1/);
  const uncond = await loadClassCondModel(writeTinyModel(root, 'uncond', { a: 1, b: 0, c: 0, conditioning: 'unconditional' }));
  assert.throws(() => uncond.denoiser(Int32Array.from([3])), /is unconditional: pass the null label 10, not 3/);
  uncond.denoiser(Int32Array.from([10]));
});

test('the classifier wrapper clamps to [−1, 1], batches, and returns logits and features per image', async () => {
  const clf = await loadClassifier(writeTinyClassifier(root));
  assert.equal(clf.classes, 10);
  assert.equal(clf.featureDim, 28);
  const images = new Float32Array(3 * 784);
  images.fill(2, 0, 784); // clamps to 1: logit0 = 784
  images.fill(-0.5, 784, 2 * 784);
  for (let p = 0; p < 784; p++) images[2 * 784 + p] = Math.floor(p / 28) / 27; // row means 0..1
  const { logits, features } = await clf.classify(images, 3, 2);
  assert.equal(logits[0], 784);
  assert.equal(logits[10 + 1], 392);
  assert.ok(Math.abs(features[2 * 28 + 27] - 1) < 1e-5);
  assert.ok(Math.abs(features[2 * 28 + 0]) < 1e-6);
  images[5] = NaN;
  await assert.rejects(clf.classify(images, 3), /non-finite pixel NaN in image 0/);
});
