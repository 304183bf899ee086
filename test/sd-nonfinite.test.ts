import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NonFiniteError } from '../src/core/index.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import { GraphBuilder, pattern, writeTinySdFolder } from './helpers/onnx-graphs.js';
import { sd1Embeds } from './helpers/sd-reference.js';

/*
 * NaN or Inf from any SD leg is a NonFiniteError naming the leg, the CFG half and the step (harden-core's guard,
 * wired per half in the pipeline's legs); from the VAE, an error naming the decoder file and the image. The
 * UNets below are finite except where the test says, so the named leg, half and step are the only right answer.
 */
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-nonfinite-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});
let n = 0;
const sd1 = () => writeTinySdFolder(join(tmp, `m${n++}`), { family: 'sd1' }).dir;
const opts = (model: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
  model,
  prompt: 'a photo of a cat',
  negativePrompt: 'blurry',
  width: 16,
  height: 16,
  steps: 4,
  guidance: 5.5,
  ...extra,
});

/**
 * A UNet 0.9·sample + 0·√(bad), where `bad` is per batch item: NaN exactly where it is negative. `bad` reads the
 * timestep (t/1000 − cut) or a weighted sum of the item's encoder hidden states (sign·(Σ W·ehs − cut)).
 */
const WEIGHTS = pattern(77 * 32, 3);
function nanUnet(dir: string, on: { timestepBelow?: number; ehsSum?: { sign: 1 | -1; cut: number } }): void {
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  const ts = g.input('timestep', 'int64', ['batch']);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', 'sequence', 32]);
  const perItem = g.int64s([-1, 1, 1, 1]);
  let bad: string;
  if (on.timestepBelow !== undefined) {
    bad = g.op('Sub', [g.op('Div', [g.op('Cast', [ts], { to: 1 }), g.scalar(1000)]), g.scalar(on.timestepBelow / 1000)]);
  } else {
    const sum = g.op('ReduceSum', [g.op('Mul', [ehs, g.floats([77, 32], WEIGHTS)]), g.int64s([1, 2])], { keepdims: 0 });
    bad = g.op('Mul', [g.op('Sub', [sum, g.scalar(on.ehsSum!.cut)]), g.scalar(on.ehsSum!.sign)]);
  }
  const term = g.op('Reshape', [g.op('Mul', [g.op('Sqrt', [bad]), g.scalar(0)]), perItem]);
  g.op('Add', [g.op('Mul', [sample, g.scalar(0.9)]), term], {}, 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'height', 'width']);
  const path = join(dir, 'unet/model.onnx');
  rmSync(path);
  g.write(path);
}

function nonFinite(check: (e: NonFiniteError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof NonFiniteError, `expected a NonFiniteError, got ${String(err)}`);
    check(err);
    return true;
  };
}

test('non-finite: a UNet that turns NaN below timestep 500 fails at step 2 (timesteps 751, 501, 251, 1), naming the main leg', async () => {
  const dir = sd1();
  nanUnet(dir, { timestepBelow: 500 });
  const out = join(tmp, 'nan-main', 'x.png');
  await assert.rejects(
    generate(opts(dir, { output: out })),
    nonFinite((e) => {
      assert.equal(e.leg, 'main (conditional half)');
      assert.equal(e.step, 2);
      assert.equal(e.timestep, 251);
      assert.match(e.message, /from leg 'main \(conditional half\)' at step 2 .*timestep 251/);
    }),
  );
  assert.ok(!existsSync(join(tmp, 'nan-main')) || readdirSync(join(tmp, 'nan-main')).length === 0, 'nothing written');
});

test('non-finite: NaN in the unconditional half alone is named as that half', async () => {
  const dir = sd1();
  const sum = (v: Float32Array) => v.reduce((a, b, i) => a + WEIGHTS[i] * b, 0);
  const c = sum(await sd1Embeds(dir, 'a photo of a cat'));
  const u = sum(await sd1Embeds(dir, 'blurry'));
  assert.ok(Math.abs(c - u) > 1e-3, 'the two prompts must encode to different sums');
  // negative exactly for the unconditional item
  nanUnet(dir, { ehsSum: { sign: u < c ? 1 : -1, cut: (c + u) / 2 } });
  await assert.rejects(
    generate(opts(dir)),
    nonFinite((e) => {
      assert.equal(e.leg, 'main (unconditional half)');
      assert.equal(e.step, 0);
      assert.equal(e.timestep, 751);
    }),
  );
});

test('non-finite: a weak model that outputs NaN fails in the first reflection, naming the weak leg', async () => {
  const main = sd1();
  const weak = sd1();
  nanUnet(weak, { timestepBelow: 2000 });
  await assert.rejects(
    generate(opts(main, { pair: 'weights', weakModel: weak })),
    nonFinite((e) => {
      assert.equal(e.leg, 'weak (conditional half)'); // the weights pair's weak leg runs at CFG 1: conditional only
      assert.equal(e.step, 0);
    }),
  );
  // under S2WD the same model denoises instead: the leg that failed is still the weak one
  await assert.rejects(
    generate(opts(main, { pair: 'weights', weakModel: weak, method: 's2wd' })),
    nonFinite((e) => assert.equal(e.leg, 'weak (conditional half)')),
  );
});

test('non-finite: a VAE decoder that outputs NaN is an error naming the decoder file and the image', async () => {
  const dir = sd1();
  const g = new GraphBuilder();
  const z = g.input('latent_sample', 'float32', [1, 4, 'h', 'w']);
  const rgb = g.op('Slice', [z, g.int64s([0]), g.int64s([3]), g.int64s([1])]);
  const up = g.op('Tile', [rgb, g.int64s([1, 1, 2, 2])]);
  g.op('Sqrt', [g.op('Sub', [g.op('Mul', [up, g.scalar(0)]), g.scalar(1)])], {}, 'sample');
  g.output('sample', 'float32', [1, 3, 'H', 'W']);
  const path = join(dir, 'vae_decoder/model.onnx');
  rmSync(path);
  g.write(path);
  await assert.rejects(generate(opts(dir, { steps: 1, batch: 2 })), (err: Error) => {
    assert.match(err.message, new RegExp(`^${path}: VAE output of image 0: non-finite value NaN at index 0`));
    return true;
  });
});
