import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { openSdModel } from '../src/models/sd/model.js';
import { encodePrompts } from '../src/models/sd/text-encoder.js';
import { generate } from '../src/pipelines/txt2img.js';
import { FIXTURES, writeTestUnet } from './helpers/onnx-graphs.js';

/*
 * The real tiny Stable Diffusion export (text encoder and VAE decoder of Hugging Face's test model), in its
 * flat layout, run end to end; a test UNet stands in for the one the fixture could not keep.
 */
const TINY = `${FIXTURES}/tiny-sd-export`;
const dir = mkdtempSync(join(tmpdir(), 'w2sd-tiny-'));
for (const f of ['text_encoder.onnx', 'vae_decoder.onnx', 'vae_encoder.onnx', 'tokenizer.json']) symlinkSync(`${TINY}/${f}`, join(dir, f));
copyFileSync(`${TINY}/diffusers.json`, join(dir, 'diffusers.json'));
writeTestUnet(join(dir, 'unet.onnx'), { timestep: 'int64', io: 'float32', channels: 4, sequence: 77, hidden: 32, seed: 5 });
after(async () => {
  await releaseAllSessions();
  rmSync(dir, { recursive: true, force: true });
});

test('tiny export: the real CLIP text encoder is causal, so prompts sharing a prefix share its hidden states', async () => {
  const m = openSdModel(dir);
  const stages = await m.encoders();
  assert.equal(stages[0].tokenizer.config.bos, 0);
  assert.equal(stages[0].tokenizer.config.eos, 1);
  const warnings: string[] = [];
  const e = await encodePrompts(stages, ['a cat', 'a dog', 'a cat'], (w) => warnings.push(w));
  assert.deepEqual(e.dims, [3, 77, 32]);
  const row = (b: number, s: number) => e.hidden.subarray((b * 77 + s) * 32, (b * 77 + s + 1) * 32);
  // positions 0 (start token) and 1 ("a") see the same tokens in both prompts; the tokens of "cat" and "dog" differ
  const catIds = stages[0].tokenizer.tokenize('a cat');
  const dogIds = stages[0].tokenizer.tokenize('a dog');
  assert.equal(catIds[0], dogIds[0]);
  assert.notEqual(catIds[1], dogIds[1]);
  assert.deepEqual(row(0, 0), row(1, 0));
  assert.deepEqual(row(0, 1), row(1, 1));
  assert.notDeepEqual(row(0, 2), row(1, 2));
  // a repeated prompt gets identical embeddings, and the batch keeps its order
  assert.deepEqual(e.hidden.subarray(0, 77 * 32), e.hidden.subarray(2 * 77 * 32, 3 * 77 * 32));
  assert.equal(warnings.length, 0);
  const long = await encodePrompts(stages, [Array(100).fill('cat').join(' ')], (w) => warnings.push(w));
  assert.equal(long.dims[1], 77);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /longer than the text encoder's 77 tokens; this part was dropped/);
});

test('tiny export: the VAE factor (2, not 8) is measured from the decoder when no config states it', async () => {
  const m = openSdModel(dir);
  assert.equal(m.folder.vaeScaleFactor, undefined);
  assert.equal(await m.vaeScaleFactor(), 2);
  const r = await generate({ model: dir, prompt: 'a cat', width: 32, height: 16, steps: 3, seed: 1, guidance: 3 });
  assert.equal(r.family, 'sd1');
  assert.deepEqual(r.latentShape, [1, 4, 8, 16]);
  assert.equal(r.images[0].width, 32);
  assert.equal(r.images[0].height, 16);
  // the decoded image is not flat: the VAE really ran on a structured latent
  const px = r.images[0].rgb;
  let min = 255;
  let max = 0;
  for (const v of px) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(max - min > 10, `pixel range ${min}..${max}`);
  await assert.rejects(generate({ model: dir, prompt: 'a cat', width: 24, height: 16, steps: 1 }), /width 24: expected a positive multiple of 16/);
});
