import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LORA_FIXTURES, feeds, loadReferences, reference, relativeError, runModel } from './helpers/lora-fixtures.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'w2sd-lora-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'lora', 'merge', ...args], { encoding: 'utf8' });

test('w2sd lora merge: --scale -1.5 parses and the written model equals the PyTorch reference', async () => {
  const out = join(dir, 'unet-neg.onnx');
  const r = run(join(LORA_FIXTURES, 'unet.onnx'), join(LORA_FIXTURES, 'kohya.safetensors'), '--scale', '-1.5', '--out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.component, 'unet');
  assert.equal(summary.loras[0].scale, -1.5);
  assert.match(summary.loras[0].notes[0], /text_encoder is not being loaded/);
  const refs = loadReferences();
  const got = await runModel(out, 'unet', feeds(refs, 'unet'));
  assert.ok(relativeError(got, reference(refs, 'kohya', -1.5, 'unet')!.values) < 1e-5);
});

test('w2sd lora merge: bad inputs fail before any work with the input named; a failed merge leaves no file', () => {
  const model = join(LORA_FIXTURES, 'unet.onnx');
  const lora = join(LORA_FIXTURES, 'kohya.safetensors');
  const out = join(dir, 'x.onnx');
  const cases: [string[], RegExp][] = [
    [[model, lora, '--scale', 'abc', '--out', out], /--scale: expected a finite number .* got "abc"/],
    [[model, `${lora}:big`, '--out', out], /the scale after ':' must be a finite number, got "big"/],
    [[model, lora, '--out', join(dir, 'x.bin')], /--out .*: expected a file name ending in \.onnx/],
    [[model, lora, '--out', join(dir, 'no', 'x.onnx')], /folder .* does not exist/],
    [[model, lora, '--out', out, '--component', 'vae'], /--component: expected one of unet, text_encoder, text_encoder_2, got "vae"/],
    [[join(dir, 'none.onnx'), lora, '--out', out], /MODEL .*none\.onnx: expected an existing \.onnx file/],
    [[model, join(dir, 'none.safetensors'), '--out', out], /LoRA file .* not found/],
    [[model, join(LORA_FIXTURES, 'kohya_ldm.safetensors'), '--out', out], /lora_unet_\w+ is in the LDM\/SGM layout/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, re);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('unet-neg')), []);
  assert.equal(existsSync(out), false);
});
