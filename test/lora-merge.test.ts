import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeLoraIntoOnnx } from '../src/models/lora/apply.js';
import { LORA_FILES, LORA_FIXTURES, feeds, loadReferences, reference, relativeError, runModel } from './helpers/lora-fixtures.js';

/*
 * Merged models run in ONNX Runtime against PyTorch-merged-and-exported references (recorded by
 * tools/lora/make_fixtures.py): every layout, both scales, UNet and text encoder.
 */
const refs = loadReferences();
const dir = mkdtempSync(join(tmpdir(), 'w2sd-lora-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const file of LORA_FILES) {
  test(`lora merge ${file}: ONNX Runtime on the merged export equals the PyTorch-merged reference to 1e-5 at +0.8 and −1.5`, async () => {
    for (const component of ['unet', 'text_encoder'] as const) {
      const expected = refs.targets[file][component];
      if (expected === undefined) continue;
      for (const scale of [0.8, -1.5]) {
        const out = join(dir, `${file}-${component}-${scale}.onnx`);
        const modelFile = component === 'unet' ? 'unet.onnx' : 'text_encoder.onnx';
        const r = mergeLoraIntoOnnx({
          model: join(LORA_FIXTURES, modelFile),
          loras: [{ path: join(LORA_FIXTURES, `${file}.safetensors`), scale }],
          out,
          component,
          unetConfig: component === 'unet' ? join(LORA_FIXTURES, 'unet_config.json') : undefined,
        });
        const rep = r.matches[0].report.find((x) => x.component === component)!;
        assert.equal(rep.matched, expected, `${component} modules matched`);
        assert.equal(rep.modules, expected);
        const got = await runModel(out, component, feeds(refs, component));
        const want = reference(refs, file, scale, component)!;
        const base = reference(refs, null, 0, component)!;
        const err = relativeError(got, want.values);
        assert.ok(err < 1e-5, `${component} @ ${scale}: relative error ${err}`);
        // the LoRA really moved the output (a merge that did nothing would fail above, unless the delta were tiny)
        assert.ok(relativeError(base.values, want.values) > 1e-3, 'the reference differs from the base model');
      }
    }
  });
}

test('lora merge at scale 0 reproduces the unmerged model; the input model is untouched', async () => {
  const model = join(LORA_FIXTURES, 'unet.onnx');
  const before = statSync(model).mtimeMs;
  const out = join(dir, 'zero.onnx');
  mergeLoraIntoOnnx({ model, loras: [{ path: join(LORA_FIXTURES, 'kohya.safetensors'), scale: 0 }], out, unetConfig: join(LORA_FIXTURES, 'unet_config.json') });
  const got = await runModel(out, 'unet', feeds(refs, 'unet'));
  assert.ok(relativeError(got, reference(refs, null, 0, 'unet')!.values) < 1e-6);
  assert.equal(statSync(model).mtimeMs, before);
  assert.throws(() => mergeLoraIntoOnnx({ model, loras: [{ path: join(LORA_FIXTURES, 'kohya.safetensors'), scale: 1 }], out: model }), /is the input model/);
});

test('lora merge: a LoRA for the text encoder on a UNet export skips those keys with a note, and errors leave no file', () => {
  const logs: string[] = [];
  const out = join(dir, 'notes.onnx');
  mergeLoraIntoOnnx({ model: join(LORA_FIXTURES, 'unet.onnx'), loras: [{ path: join(LORA_FIXTURES, 'kohya.safetensors'), scale: 1 }], out, log: (m) => logs.push(m) });
  assert.ok(logs.some((l) => /note: 12 text_encoder module\(s\) of .* skipped: text_encoder is not being loaded/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => /unet: \d+\/\d+ modules matched/.test(l)));
  // the LDM-named file without a UNet config: refused naming a key, nothing written
  const bad = join(dir, 'bad.onnx');
  assert.throws(
    () => mergeLoraIntoOnnx({ model: join(LORA_FIXTURES, 'unet.onnx'), loras: [{ path: join(LORA_FIXTURES, 'kohya_ldm.safetensors'), scale: 1 }], out: bad }),
    /lora_unet_input_blocks_\w+ is in the LDM\/SGM layout: mapping it needs the UNet's config\.json/,
  );
  assert.equal(existsSync(bad), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.')), []);
});
