import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession, releaseAllSessions } from '../src/models/onnx/session.js';
import { loadClipTokenizer } from '../src/models/tokenizer/load.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import { referenceTextEmbeds, referenceTextEncoder, testFinalNorm, writeTestTextEncoder, writeTinySdFolder, type TestTextEncoderSpec } from './helpers/onnx-graphs.js';
import { assertClose } from './helpers/sd-reference.js';

/*
 * diffusers' clip_skip. SD 1.x/2.x: final_layer_norm(hidden_states[−(k+1)]) for the prompt; SDXL: hidden_states[−(k+2)]
 * of both encoders, no norm; in both, the negative prompt keeps the default layer (diffusers' encode_prompt never
 * skips it). What the UNet receives is recorded and compared with the test encoder's formula and a layer norm
 * written out here.
 */
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-clipskip-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});
let n = 0;
const opts = (model: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({ model, prompt: 'a photo of a cat', negativePrompt: 'blurry', width: 16, height: 16, steps: 1, guidance: 5.5, ...extra });

/** The encoder_hidden_states (and text_embeds) of the first UNet call of a run: [uncond; cond]. */
async function firstUnetFeeds(dir: string, o: GenerateOptions): Promise<{ ehs: Float32Array; textEmbeds?: Float32Array }> {
  const unet = await openSession(join(dir, 'unet/model.onnx'));
  const seen: { ehs: Float32Array; textEmbeds?: Float32Array }[] = [];
  const run = unet.run.bind(unet);
  unet.run = (feeds, names) => {
    const te = feeds.text_embeds?.data;
    seen.push({ ehs: Float32Array.from(feeds.encoder_hidden_states.data as Float32Array), textEmbeds: te ? Float32Array.from(te as Float32Array) : undefined });
    return run(feeds, names);
  };
  try {
    await generate(o);
  } finally {
    unet.run = run;
  }
  return seen[0];
}

/** LayerNorm over the last axis in float64: (h − mean)/√(var + ε)·γ + β, biased variance as torch's. */
function handNorm(h: Float32Array, spec: TestTextEncoderSpec): Float32Array {
  const { weight, bias } = testFinalNorm(spec);
  const D = spec.hidden;
  const out = new Float32Array(h.length);
  for (let s = 0; s < h.length / D; s++) {
    const row = Array.from(h.subarray(s * D, (s + 1) * D));
    const mean = row.reduce((a, b) => a + b, 0) / D;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
    row.forEach((v, d) => (out[s * D + d] = ((v - mean) / Math.sqrt(variance + spec.finalNorm!)) * weight[d] + bias[d]));
  }
  return out;
}

test('clip skip, SD 1.x: the prompt is final_layer_norm(hidden_states[−(k+1)]), the negative prompt stays last_hidden_state', async () => {
  const f = writeTinySdFolder(join(tmp, `m${n++}`), { family: 'sd1', graphEncoder: true });
  const spec = f.encoder!;
  const tok = loadClipTokenizer(join(f.dir, 'tokenizer'));
  const layer = (prompt: string, k: number) => handNorm(referenceTextEncoder(spec)(Array.from(tok.encode(prompt).ids), k), spec);
  const per = 77 * 32;
  const last = await firstUnetFeeds(f.dir, opts(f.dir));
  assertClose(last.ehs.subarray(per), layer('a photo of a cat', 3), 1e-5, 'no clip skip: normed last layer');
  for (const k of [0, 1, 3]) {
    const fed = await firstUnetFeeds(f.dir, opts(f.dir, { clipSkip: k }));
    assertClose(fed.ehs.subarray(per), layer('a photo of a cat', 3 - k), 1e-5, `clip skip ${k}: prompt`);
    assertClose(fed.ehs.subarray(0, per), layer('blurry', 3), 1e-5, `clip skip ${k}: negative prompt not skipped`);
  }
  await assert.rejects(generate(opts(f.dir, { clipSkip: 4 })), /clip skip 4: expected at most 3 for .*text_encoder\/model\.onnx \(4 hidden states: the embeddings and 3 layers\)/);
  await assert.rejects(generate(opts(f.dir, { clipSkip: 1.5 })), /clip skip: expected a non-negative integer/);
});

test('clip skip, SDXL: hidden_states[−(k+2)] of both encoders without a norm; the negative prompt and text_embeds are unchanged', async () => {
  const f = writeTinySdFolder(join(tmp, `m${n++}`), { family: 'sdxl' });
  const [e1, e2] = f.encoders!;
  const ids1 = Array.from(loadClipTokenizer(join(f.dir, 'tokenizer')).encode('a photo of a cat').ids);
  const ids2 = Array.from(loadClipTokenizer(join(f.dir, 'tokenizer_2')).encode('a photo of a cat').ids);
  const neg1 = Array.from(loadClipTokenizer(join(f.dir, 'tokenizer')).encode('blurry').ids);
  const neg2 = Array.from(loadClipTokenizer(join(f.dir, 'tokenizer_2')).encode('blurry').ids);
  const concat = (a: Float32Array, b: Float32Array) => {
    const out = new Float32Array(77 * 10);
    for (let s = 0; s < 77; s++) {
      out.set(a.subarray(s * 4, s * 4 + 4), s * 10);
      out.set(b.subarray(s * 6, s * 6 + 6), s * 10 + 4);
    }
    return out;
  };
  const fed = await firstUnetFeeds(f.dir, opts(f.dir, { clipSkip: 1 }));
  // 3 layers: hidden_states has 4 entries, [−3] is hidden_states.1; the default [−2] is hidden_states.2
  assertClose(fed.ehs.subarray(770), concat(referenceTextEncoder(e1)(ids1, 1), referenceTextEncoder(e2)(ids2, 1)), 1e-5, 'prompt at [−3]');
  assertClose(fed.ehs.subarray(0, 770), concat(referenceTextEncoder(e1)(neg1, 2), referenceTextEncoder(e2)(neg2, 2)), 1e-5, 'negative at [−2]');
  assertClose(fed.textEmbeds!.subarray(5), referenceTextEmbeds(e2)(ids2), 1e-5, 'pooled text_embeds from the last layer');
  await assert.rejects(generate(opts(f.dir, { clipSkip: 3 })), /clip skip 3: expected at most 2/);
});

test('clip skip is refused, naming the file, where the export cannot serve it', async () => {
  // the real tiny export has no hidden_states outputs
  const real = writeTinySdFolder(join(tmp, `m${n++}`), { family: 'sd1' });
  await assert.rejects(generate(opts(real.dir, { clipSkip: 1 })), /text_encoder(\/model)?\.onnx: clip skip 1 needs the hidden_states\.N outputs, which this export does not have/);
  // hidden states, but no final_layer_norm weights under CLIP's names
  const bare = writeTinySdFolder(join(tmp, `m${n++}`), { family: 'sd1', graphEncoder: true });
  const path = join(bare.dir, 'text_encoder/model.onnx');
  rmSync(path);
  writeTestTextEncoder(path, { ...bare.encoder!, finalNorm: undefined });
  await assert.rejects(generate(opts(bare.dir, { clipSkip: 1 })), /clip skip needs CLIP's final_layer_norm, but the export has no weights named text_model\.final_layer_norm\.weight/);
});
