import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { w2sdSample } from '../src/core/methods.js';
import { initialLatent } from '../src/core/rng.js';
import { ddim } from '../src/core/samplers/ddim.js';
import { ddimSchedule } from '../src/core/schedules/discrete.js';
import { tensor } from '../src/core/tensor.js';
import { loadClipModel, type ClipModel } from '../src/models/clip-model.js';
import { loadRoutedPair, type RoutedPair } from '../src/models/routed.js';
import { defaultModelsDir, projectRoot } from '../src/lab/mnist/models.js';

/*
 * The shipped DiT-MoE and clip models (training/train_dit.py): signature, PyTorch parity on the fixed input
 * recorded at export (reference.json: outputs of the fp16-rounded weights in PyTorch), the routing input,
 * and a few W2SD steps. The smoke exports of CI (W2SD_SMOKE_DIT) go through the same checks.
 */
interface Reference {
  shape: number[];
  timesteps: number[];
  labels: number[];
  indices: number[];
  outputs: Record<string, number[]>;
  sums: Record<string, number>;
}

function referenceInput(ref: Reference): Float32Array {
  const n = ref.shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i));
}

function closeToTorch(out: Float32Array, ref: Reference, key: string, what: string): void {
  const want = ref.outputs[key];
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  ref.indices.forEach((idx, j) => {
    assert.ok(Math.abs(out[idx] - want[j]) <= 2e-3 * Math.max(1, scale), `${what} ${key}[${idx}]: ONNX ${out[idx]} vs PyTorch ${want[j]}`);
  });
  const sum = out.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - ref.sums[key]) <= 1e-3 * out.length * Math.max(1, scale), `${what} ${key} sum ${sum} vs ${ref.sums[key]}`);
}

/** Runs the network on the reference input at both of its timesteps (rows share a timestep per call). */
async function onReference(net: (x: ReturnType<typeof tensor>, t: number, labels: Int32Array) => Promise<Float32Array>, ref: Reference): Promise<Float32Array> {
  const x = referenceInput(ref);
  const per = x.length / 2;
  const out = new Float32Array(x.length);
  for (let b = 0; b < 2; b++) {
    const row = await net(tensor(x.slice(b * per, (b + 1) * per), [1, ...ref.shape.slice(1)]), ref.timesteps[b], Int32Array.of(ref.labels[b]));
    out.set(row, b * per);
  }
  return out;
}

/** `trained`: the smoke export's adaLN-Zero layers are still near zero after a few steps, so its two routes barely differ. */
async function checkRouted(folder: string, pair: RoutedPair, trained = true): Promise<void> {
  assert.deepEqual(pair.top.imageShape, [1, 28, 28]);
  assert.equal(pair.top.session, pair.bottom.session, 'one session serves both legs');
  const ref = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as Reference;
  const top = await onReference(pair.top.network, ref);
  const bottom = await onReference(pair.bottom.network, ref);
  closeToTorch(top, ref, 'top', folder);
  closeToTorch(bottom, ref, 'bottom', folder);
  let diff = 0;
  for (let i = 0; i < top.length; i++) diff = Math.max(diff, Math.abs(top[i] - bottom[i]));
  if (trained) assert.ok(diff > 1e-2, `route +1 and −1 give the same output (max difference ${diff})`);
  const s = ddimSchedule(pair.top.scheduler, 3);
  const shape = [2, 1, 28, 28];
  const labels = Int32Array.of(4, 10);
  const out = await w2sdSample(ddim(), { main: pair.top.denoiser(labels), strong: pair.top.denoiser(labels), weak: pair.bottom.denoiser(labels) }, tensor(initialLatent(1, shape, s), shape), s, { lambda: 2 });
  assert.equal(out.length, 2 * 784);
  assert.ok(out.every(Number.isFinite));
}

async function checkClip(folder: string, model: ClipModel, weak?: ClipModel): Promise<void> {
  assert.deepEqual(model.clipShape, [1, 8, 16, 16]);
  const ref = JSON.parse(readFileSync(join(folder, 'reference.json'), 'utf8')) as Reference;
  closeToTorch(await onReference(model.network, ref), ref, 'out', folder);
  const s = ddimSchedule(model.scheduler, 3);
  const shape = [2, ...model.clipShape];
  const labels = Int32Array.of(7, 10);
  const w = (weak ?? model).denoiser(labels);
  const out = await w2sdSample(ddim(), { main: model.denoiser(labels), strong: model.denoiser(labels), weak: w }, tensor(initialLatent(2, shape, s), shape), s, { lambda: 2 });
  assert.equal(out.length, 2 * 8 * 256);
  assert.ok(out.every(Number.isFinite));
}

const shipped = defaultModelsDir();

test('shipped mnist-dit-moe: signature, PyTorch parity for both routes, the route input changes ε, W2SD steps', async () => {
  const folder = join(shipped, 'mnist-dit-moe');
  await checkRouted(folder, await loadRoutedPair(folder));
});

test('shipped mnist-video and mnist-video-early: clip signature, PyTorch parity, W2SD steps on [B, 1, 8, 16, 16]', async () => {
  const strong = await loadClipModel(join(shipped, 'mnist-video'));
  const weak = await loadClipModel(join(shipped, 'mnist-video-early'));
  await checkClip(join(shipped, 'mnist-video'), strong, weak);
  await checkClip(join(shipped, 'mnist-video-early'), weak);
});

test('a model without the route input is refused as a routed pair, naming the missing input', async () => {
  await assert.rejects(loadRoutedPair(join(shipped, 'mnist-small')), /inputs are .*expected inputs .*route float32 \[B\]/);
  await assert.rejects(loadClipModel(join(shipped, 'mnist-small')), /frames/);
});

// CI exports the smoke models first and sets W2SD_SMOKE_DIT; elsewhere the test runs when a local export exists
const smoke = process.env.W2SD_SMOKE_DIT ?? join(projectRoot(), '.data', 'smoke-dit');
const skip = process.env.W2SD_SMOKE_DIT || existsSync(join(smoke, 'mnist-dit-moe-smoke', 'model.onnx')) ? false : `no smoke export at ${smoke} (run: python3 training/train_dit.py smoke)`;

test('the smoke exports of training/train_dit.py load and sample like the shipped ones', { skip }, async () => {
  await checkRouted(join(smoke, 'mnist-dit-moe-smoke'), await loadRoutedPair(join(smoke, 'mnist-dit-moe-smoke')), false);
  await checkClip(join(smoke, 'mnist-video-smoke'), await loadClipModel(join(smoke, 'mnist-video-smoke')));
});
