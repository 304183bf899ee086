import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { writeRuntimeLoraModel } from '../src/models/lora/apply.js';
import { LORA_FILES, LORA_FIXTURES, feeds, loadReferences, reference, relativeError } from './helpers/lora-fixtures.js';

/*
 * The runtime-scale model (LoRA as side branches, scale as an input) against the PyTorch-merged references:
 * one session, scales +0.8, −1.5 and 0, and a batch whose two items carry different scales. Tolerance 5e-5
 * relative: the branch adds s·(x·downᵀ)·upᵀ to x·Wᵀ in float32 where the merged model multiplies by the once-
 * rounded W + sΔ; this reassociation (≈ 6e-8 per operation) grows through the ~20 layers and softmaxes to a
 * measured 1.5e-5 at most (PEFT file at −1.5), while a wrong scale or a missing branch moves the output by
 * more than 1e-3 (the references differ from the base model by that much, checked in lora-merge).
 */
const TOL = 5e-5;
const refs = loadReferences();
const dir = mkdtempSync(join(tmpdir(), 'w2sd-lora-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const file of LORA_FILES) {
  test(`runtime-scale LoRA ${file}: one session equals the merged references at +0.8, −1.5, 0 and per batch item`, async () => {
    for (const component of ['unet', 'text_encoder'] as const) {
      if (refs.targets[file][component] === undefined) continue;
      const out = join(dir, `${file}-${component}.onnx`);
      const r = writeRuntimeLoraModel({
        model: join(LORA_FIXTURES, component === 'unet' ? 'unet.onnx' : 'text_encoder.onnx'),
        loras: [join(LORA_FIXTURES, `${file}.safetensors`)],
        out,
        component,
        unetConfig: component === 'unet' ? join(LORA_FIXTURES, 'unet_config.json') : undefined,
      });
      assert.ok(r.branches >= refs.targets[file][component]);
      const session = await ort.InferenceSession.create(out);
      const B = component === 'unet' ? 2 : 1;
      const run = async (scales: number[]) => {
        const o = await session.run(feeds(refs, component, { 'lora_scale.0': new ort.Tensor('float32', Float32Array.from(scales), [B]) }));
        return o[component === 'unet' ? 'out_sample' : 'last_hidden_state'].data as Float32Array;
      };
      for (const s of [0.8, -1.5, 0]) {
        const want = reference(refs, s === 0 ? null : file, s, component)!.values;
        const err = relativeError(await run(Array(B).fill(s)), want);
        assert.ok(err < TOL, `${component} @ ${s}: relative error ${err}`);
      }
      if (B === 2) {
        // item 0 at the strong scale, item 1 at the weak one, in one call
        const got = await run([0.8, -1.5]);
        const half = got.length / 2;
        assert.ok(relativeError(got.subarray(0, half), reference(refs, file, 0.8, component)!.values.slice(0, half)) < TOL);
        assert.ok(relativeError(got.subarray(half), reference(refs, file, -1.5, component)!.values.slice(half)) < TOL);
      }
      await session.release();
    }
  });
}
