import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ddimSchedule } from '../src/core/index.js';
import { checkSdFiles, readSdFolder } from '../src/models/sd/folder.js';
import { FIXTURES } from './helpers/onnx-graphs.js';

const CONFIGS = `${FIXTURES}/configs`;
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-folder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** ᾱ_t of the scaled_linear schedule, computed here from its definition (betas = linspace(√β0, √β1, N)²). */
function alphaBar(t: number, b0 = 0.00085, b1 = 0.012, n = 1000): number {
  let a = 1;
  for (let i = 0; i <= t; i++) {
    const sq = Math.sqrt(b0) + ((Math.sqrt(b1) - Math.sqrt(b0)) * i) / (n - 1);
    a *= 1 - sq * sq;
  }
  return a;
}

test('folder: SD 1.5 (diffusers configs) is sd1, ε, 512², scaling 0.18215, DDIM 50 = 981 … 1', () => {
  const f = readSdFolder(`${CONFIGS}/sd15`);
  assert.equal(f.family, 'sd1');
  assert.equal(f.prediction, 'epsilon');
  assert.equal(f.vaeScalingFactor, 0.18215); // absent from this old VAE config: diffusers' default
  assert.equal(f.vaeScaleFactor, 8);
  assert.equal(f.latentChannels, 4);
  assert.deepEqual(f.defaultSize, { width: 512, height: 512 });
  assert.equal(f.forceZerosForEmptyPrompt, false);
  const s = ddimSchedule(f.scheduler, 50);
  assert.equal(s.points.length, 50);
  assert.equal(s.points[0].timestep, 981);
  assert.equal(s.points[49].timestep, 1);
  // The core rounds ᾱ like diffusers' float32 tensors, this test in float64: agreement to float32 precision.
  const abar = (sigma: number) => 1 / (1 + sigma * sigma);
  const close = (sigma: number, t: number) => Math.abs(abar(sigma) - alphaBar(t)) <= 2e-7;
  assert.ok(close(s.points[0].sigma, 981), `${abar(s.points[0].sigma)} vs ${alphaBar(981)}`);
  assert.ok(close(s.points[49].sigma, 1));
  // set_alpha_to_one: false → DDIM's last step lands on ᾱ_0, not on a clean image.
  assert.ok(close(s.final.sigma, 0));
  // PyTorch weights folder: refused for generation with a pointer to the ONNX export.
  assert.throws(() => checkSdFiles(f), /is missing: unet \(.*unet\/model\.onnx\).*diffusers \(PyTorch\) folder: export it to ONNX/s);
});

test('folder: SD 1.5 ONNX branch is sd1 with the same schedule; its missing weights are all named', () => {
  const f = readSdFolder(`${CONFIGS}/sd15-onnx`);
  assert.equal(f.family, 'sd1');
  assert.equal(f.pipelineClass, 'OnnxStableDiffusionPipeline');
  assert.equal(f.vaeScalingFactor, 0.18215);
  assert.equal(f.vaeScaleFactor, undefined); // no VAE config in this export: measured at run time
  assert.deepEqual(f.defaultSize, { width: 512, height: 512 });
  assert.equal(ddimSchedule(f.scheduler, 50).points[0].timestep, 981);
  // The branch kept its weights out of this fixture: every missing file is named in one message.
  assert.throws(() => checkSdFiles(f), /unet \(.*unet\/model\.onnx\), text encoder \(.*text_encoder\/model\.onnx\), tokenizer \(.*tokenizer: tokenizer\.json or vocab\.json \+ merges\.txt\), VAE decoder \(.*vae_decoder\/model\.onnx\)/);
});

test('folder: SDXL-turbo is sdxl, scaling 0.13025, 512², trailing spacing, zeros for empty negatives, VAE upcast', () => {
  const f = readSdFolder(`${CONFIGS}/sdxl-turbo`);
  assert.equal(f.family, 'sdxl');
  assert.equal(f.vaeScalingFactor, 0.13025);
  assert.equal(f.vaeScaleFactor, 8);
  assert.deepEqual(f.defaultSize, { width: 512, height: 512 });
  assert.equal(f.forceZerosForEmptyPrompt, true);
  assert.equal(f.vaeForceUpcast, true);
  assert.ok(f.components.textEncoder2?.endsWith('text_encoder_2/model.onnx'));
  assert.ok(f.components.tokenizer2?.endsWith('tokenizer_2'));
  assert.equal(f.scheduler.timestepSpacing, 'trailing');
  const s = ddimSchedule(f.scheduler, 50);
  assert.deepEqual(s.points.slice(0, 3).map((p) => p.timestep), [999, 979, 959]);
  assert.equal(s.points[49].timestep, 19);
  assert.deepEqual(ddimSchedule(f.scheduler, 1).points.map((p) => p.timestep), [999]);
});

function variant(name: string, edit: (dir: string) => void): string {
  const dir = join(tmp, name);
  cpSync(`${CONFIGS}/sd15`, dir, { recursive: true });
  edit(dir);
  return dir;
}

function editJson(path: string, change: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  change(j);
  writeFileSync(path, JSON.stringify(j));
}

test('folder: SD 2.x is recognised by v-prediction (768²) or by its 1024-dim text encoder', () => {
  const v = readSdFolder(
    variant('sd2v', (d) => {
      editJson(join(d, 'scheduler/scheduler_config.json'), (j) => (j.prediction_type = 'v_prediction'));
      editJson(join(d, 'unet/config.json'), (j) => (j.sample_size = 96));
    }),
  );
  assert.equal(v.family, 'sd2');
  assert.equal(v.prediction, 'v_prediction');
  assert.deepEqual(v.defaultSize, { width: 768, height: 768 });
  const base = readSdFolder(
    variant('sd2base', (d) => {
      editJson(join(d, 'text_encoder/config.json'), (j) => (j.hidden_size = 1024));
    }),
  );
  assert.equal(base.family, 'sd2');
  assert.equal(base.prediction, 'epsilon');
  assert.deepEqual(base.defaultSize, { width: 512, height: 512 });
  const noUnetConfig = readSdFolder(
    variant('sd2v-nounet', (d) => {
      editJson(join(d, 'scheduler/scheduler_config.json'), (j) => (j.prediction_type = 'v_prediction'));
      rmSync(join(d, 'unet/config.json'));
    }),
  );
  assert.deepEqual(noUnetConfig.defaultSize, { width: 768, height: 768 });
});

test('folder: unknown layouts are refused, saying what is missing or unsupported', () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  assert.throws(() => readSdFolder(empty), /not a Stable Diffusion model folder: expected model_index\.json .* or diffusers\.json/);
  assert.throws(() => readSdFolder(join(tmp, 'absent')), /model folder not found/);
  const sd3 = variant('sd3', (d) => editJson(join(d, 'model_index.json'), (j) => (j._class_name = 'StableDiffusion3Pipeline')));
  assert.throws(() => readSdFolder(sd3), /pipeline "StableDiffusion3Pipeline" is not supported/);
  const noSched = variant('nosched', (d) => rmSync(join(d, 'scheduler'), { recursive: true }));
  assert.throws(() => readSdFolder(noSched), /missing scheduler\/scheduler_config\.json/);
  const refiner = join(tmp, 'refiner');
  cpSync(`${CONFIGS}/sdxl-turbo`, refiner, { recursive: true });
  rmSync(join(refiner, 'text_encoder'), { recursive: true });
  editJson(join(refiner, 'model_index.json'), (j) => delete j.text_encoder);
  assert.throws(() => readSdFolder(refiner), /text_encoder_2 only \(the refiner\) is not supported/);
  const badJson = variant('badjson', (d) => writeFileSync(join(d, 'model_index.json'), '{ not json'));
  assert.throws(() => readSdFolder(badJson), /model_index\.json is not valid JSON/);
  // an SDXL-type folder with an EDM scheduler (σ-defined, no betas) must not be read as a betas schedule
  const edm = variant('edm', (d) =>
    writeFileSync(join(d, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'EDMDPMSolverMultistepScheduler', sigma_min: 0.002, sigma_max: 80, sigma_data: 0.5 })),
  );
  assert.throws(() => readSdFolder(edm), /scheduler EDMDPMSolverMultistepScheduler is not supported/);
});

test('folder: the flat tiny-sd-export layout is read from diffusers.json', () => {
  const f = readSdFolder(`${FIXTURES}/tiny-sd-export`);
  assert.equal(f.layout, 'flat');
  assert.equal(f.family, 'sd1');
  assert.equal(f.vaeScalingFactor, 0.18215);
  assert.deepEqual(f.tokenizerIds, { bos: 0, eos: 1, maxLength: 77 });
  assert.ok(f.components.textEncoder.endsWith('text_encoder.onnx'));
  assert.ok(f.components.vaeDecoder.endsWith('vae_decoder.onnx'));
  assert.throws(() => checkSdFiles(f), /is missing: unet \(.*unet\.onnx\)$/);
});
