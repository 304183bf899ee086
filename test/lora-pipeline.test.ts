import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loraFolder } from '../src/models/lora/folder.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { generate } from '../src/pipelines/txt2img.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';
import { LORA_FIXTURES, relativeError } from './helpers/lora-fixtures.js';
import { encodeSafetensors } from './helpers/safetensors.js';

/*
 * The lora pair end to end on a test folder whose UNet and text encoder are the PyTorch exports with diffusers'
 * names (tools/lora/make_fixtures.py), with the tiny VAE decoder and tokenizer of the real tiny export.
 */
const root = mkdtempSync(join(tmpdir(), 'w2sd-lora-pipe-'));
after(async () => {
  await releaseAllSessions();
  rmSync(root, { recursive: true, force: true });
});
const dir = writeTinySdFolder(join(root, 'sd'), { family: 'sd1' }).dir;
copyFileSync(join(LORA_FIXTURES, 'unet.onnx'), join(dir, 'unet', 'model.onnx'));
writeFileSync(join(dir, 'unet', 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(LORA_FIXTURES, 'unet_config.json'), 'utf8')), sample_size: 8 }));
rmSync(join(dir, 'text_encoder', 'model.onnx'));
copyFileSync(join(LORA_FIXTURES, 'text_encoder.onnx'), join(dir, 'text_encoder', 'model.onnx'));
const KOHYA = join(LORA_FIXTURES, 'kohya.safetensors');
const SDXL = join(root, 'sdxl.safetensors');
writeFileSync(
  SDXL,
  encodeSafetensors({
    'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': { dtype: 'F32', shape: [1, 32], bytes: new Uint8Array(128) },
    'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': { dtype: 'F32', shape: [32, 1], bytes: new Uint8Array(128) },
  }),
);
const base = { prompt: 'a photo of a cat', width: 16, height: 16, steps: 4, lambda: 3, seed: 3 };

test('--pair lora: T + 2λ evaluations on one resident UNet session, official defaults, equal to a weights pair of merged folders', async () => {
  const r = await generate({ ...base, model: dir, pair: 'lora', loras: [{ path: KOHYA, scale: 1 }] });
  assert.equal(r.method, 'w2sd');
  assert.equal(r.evaluations, 4 + 2 * 3);
  assert.equal(r.expectedEvaluations, 10);
  assert.deepEqual(r.evaluationsByLeg, { main: 4, strong: 3, weak: 3 });
  const runs = Object.values(r.unetRuns);
  assert.equal(runs.length, 1, `one UNet session for all three legs: ${Object.keys(r.unetRuns).join(', ')}`);
  assert.equal(runs[0], 10, 'one UNet run per evaluation');
  assert.deepEqual(
    Object.fromEntries(Object.entries(r.legs).map(([k, l]) => [k, [l.guidance, l.loraScales]])),
    { main: [5.5, [0.8]], strong: [1, [0.8]], weak: [1, [-1.5]] },
  );
  // the same sampling on folders with the LoRA merged at +0.8 (main, strong) and −1.5 (weak): a weights pair
  const strong = loraFolder(dir, { kind: 'merge', loras: [{ path: KOHYA, scale: 0.8 }] }).dir;
  const weak = loraFolder(dir, { kind: 'merge', loras: [{ path: KOHYA, scale: -1.5 }] }).dir;
  const w = await generate({ ...base, model: strong, weakModel: weak, pair: 'weights' });
  assert.equal(Object.keys(w.unetRuns).length, 2);
  const err = relativeError(r.latents, w.latents);
  assert.ok(err < 1e-4, `runtime-scale pair vs merged weights pair: ${err}`);
  // and it is not the base model's W2SD (the LoRA changed the result)
  const plainPair = await generate({ ...base, model: dir, pair: 'weights', weakModel: dir });
  assert.ok(relativeError(plainPair.latents, w.latents) > 1e-3);
});

test('--lora FILE:SCALE merges at load time; leg scales follow the options', async () => {
  const merged = await generate({ ...base, model: dir, loras: [{ path: KOHYA, scale: 0.8 }], steps: 2 });
  const onFolder = await generate({ ...base, model: loraFolder(dir, { kind: 'merge', loras: [{ path: KOHYA, scale: 0.8 }] }).dir, steps: 2 });
  const none = await generate({ ...base, model: dir, steps: 2 });
  assert.deepEqual(merged.latents, onFolder.latents);
  assert.ok(relativeError(none.latents, merged.latents) > 1e-3);
  const r = await generate({ ...base, model: dir, pair: 'lora', loras: [{ path: KOHYA, scale: 1 }], loraScales: { weak: -1, main: 0.5 }, steps: 2, lambda: 1 });
  assert.deepEqual([r.legs.main.loraScales, r.legs.strong.loraScales, r.legs.weak.loraScales], [[0.5], [0.8], [-1]]);
});

test('w2sd generate --pair lora: negative scales parse; bad LoRA options are refused naming the option', () => {
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'generate', '--model', dir, '--prompt', 'a cat', '--steps', '2', '--width', '16', '--height', '16', '--no-progress', ...args], { encoding: 'utf8' });
  const ok = run('--pair', 'lora', '--lora', KOHYA, '--lora-weak-scale', '-1.2', '--json', '--out', join(root, 'p.png'));
  assert.equal(ok.status, 0, ok.stderr);
  const s = JSON.parse(ok.stdout);
  assert.deepEqual(s.legs.weak.loraScales, [-1.2]);
  assert.equal(Object.keys(s.unetRuns).length, 1);
  const cases: [string[], RegExp][] = [
    [['--pair', 'lora'], /the lora pair needs exactly one LoRA file \(--lora FILE\), got 0/],
    [['--lora-weak-scale', '-1'], /apply to --pair lora only/],
    [['--pair', 'lora', '--lora', `${KOHYA}:0.5`], /the legs' scales come from --lora-main-scale/],
    [['--lora', `${KOHYA}:x`], /the scale after ':' must be a finite number/],
    [['--pair', 'lora', '--lora', KOHYA, '--lora-main-scale', 'abc'], /--lora-main-scale: expected a number from -100 to 100, got "abc"/],
    [['--lora', SDXL], /key\(s\) are for text_encoder_2, which this model does not have \(e\.g\. lora_te2_text_model_encoder_layers_0_self_attn_q_proj\): a LoRA for another base model/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args, '--out', join(root, 'x.png'));
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, re);
  }
});
