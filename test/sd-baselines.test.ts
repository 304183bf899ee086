import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  autoguided,
  batchGaussian,
  ddim,
  ddimSchedule,
  discreteDenoiser,
  parseSchedulerConfig,
  plain,
  s2wd,
  selfReflection,
  tensor,
  w2sd,
  x0ProcessingOf,
  type Denoiser,
  type Method,
} from '../src/core/index.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { baselineTable } from '../src/pipelines/baselines.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import { FIXTURES, writeTinySdFolder, type TinyFolder } from './helpers/onnx-graphs.js';
import { assertClose, guidedEps, sd1Embeds } from './helpers/sd-reference.js';

/*
 * Each baseline of the SD pipeline against the core method run directly over the test UNet's formula, with the
 * legs (model, prompt, scale) written out here by hand from the paper's settings: a wrong leg, scale or role in
 * the pipeline changes the latent. Counts alone would not see a leg at the wrong scale.
 */
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-baselines-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});
const strong = writeTinySdFolder(join(tmp, 'strong'), { family: 'sd1', unet: { seed: 1 } });
const weak = writeTinySdFolder(join(tmp, 'weak'), { family: 'sd1', unet: { seed: 2 } });
const scheduler = parseSchedulerConfig(JSON.parse(readFileSync(`${FIXTURES}/configs/sd15/scheduler/scheduler_config.json`, 'utf8')));
const T = 3;
const SHAPE = [1, 4, 8, 8];

const base = (extra: Partial<GenerateOptions>): GenerateOptions => ({
  model: strong.dir,
  prompt: 'a photo of a cat',
  negativePrompt: 'blurry',
  width: 16,
  height: 16,
  steps: T,
  seed: 11,
  ...extra,
});

/** A leg as the paper defines it, run through the test UNet's formula and core's VP → σ wrapper. */
async function leg(f: TinyFolder, prompt: string, scale: number): Promise<Denoiser> {
  const eps = guidedEps(f, scale, await sd1Embeds(f.dir, prompt), await sd1Embeds(f.dir, 'blurry'));
  return discreteDenoiser(async (xt, t) => eps(xt.data, t), 'epsilon');
}

/** The core method's final latent in diffusers' x_t, from the same noise the pipeline draws. */
async function direct(m: Method): Promise<Float32Array> {
  const schedule = (n: number) => ddimSchedule(scheduler, n);
  const x = await m.run({ sampler: ddim(x0ProcessingOf(scheduler)), schedule, steps: T, noise: tensor(batchGaussian(11, SHAPE), SHAPE) });
  const sf = schedule(T).final.sigma;
  return x.map((v) => v / Math.sqrt(1 + sf * sf));
}

test('baselines: cfg and plain equal core plain sampling at 5.5 and at 1 (conditional only)', async () => {
  const cfg = await generate(base({ method: 'cfg' }));
  assertClose(cfg.latents, await direct(plain('cfg', await leg(strong, 'a photo of a cat', 5.5))), 1e-4, 'cfg');
  const p = await generate(base({ method: 'plain', guidance: 5.5 }));
  assertClose(p.latents, await direct(plain('plain', await leg(strong, 'a photo of a cat', 1))), 1e-4, 'plain');
});

test('baselines: autoguidance under the weights and prompt pairs guides both legs at the main scale 5.5, w = 2', async () => {
  const w = await generate(base({ method: 'autoguidance', pair: 'weights', weakModel: weak.dir }));
  assert.deepEqual([w.legs.strong.guidance, w.legs.weak.guidance], [5.5, 5.5]);
  const wantW = await direct(autoguided('ag', await leg(strong, 'a photo of a cat', 5.5), await leg(weak, 'a photo of a cat', 5.5), 2));
  assertClose(w.latents, wantW, 1e-4, 'autoguidance, weights pair');
  const p = await generate(base({ method: 'autoguidance', pair: 'prompt', weakPrompt: 'cat' }));
  const wantP = await direct(autoguided('ag', await leg(strong, 'a photo of a cat', 5.5), await leg(strong, 'cat', 5.5), 2));
  assertClose(p.latents, wantP, 1e-4, 'autoguidance, prompt pair');
  // the guidance pair keeps its own gap: D_s at 5.5, D_w the unconditional half
  const g = await generate(base({ method: 'autoguidance', pair: 'guidance', autoguidanceWeight: 1.5 }));
  const wantG = await direct(autoguided('ag', await leg(strong, 'a photo of a cat', 5.5), await leg(strong, 'a photo of a cat', 0), 1.5));
  assertClose(g.latents, wantG, 1e-4, 'autoguidance, guidance pair');
});

test('baselines: W2SD, self-reflection and S2WD (weights pair) equal the core methods over the paper legs', async () => {
  const main = await leg(strong, 'a photo of a cat', 5.5);
  const s = await leg(strong, 'a photo of a cat', 1);
  const wk = await leg(weak, 'a photo of a cat', 1);
  const lambda = 2;
  const pair = { pair: 'weights' as const, weakModel: weak.dir, lambda };
  assertClose((await generate(base(pair))).latents, await direct(w2sd('w2sd', { main, strong: s, weak: wk }, { lambda })), 1e-4, 'w2sd');
  const self = await generate(base({ ...pair, method: 'self-reflection' }));
  assertClose(self.latents, await direct(selfReflection('self', { main, strong: s }, { lambda })), 1e-4, 'self-reflection');
  const swapped = await generate(base({ ...pair, method: 's2wd' }));
  assertClose(swapped.latents, await direct(s2wd('s2wd', { main, strong: s, weak: wk }, { lambda })), 1e-4, 's2wd');
});

test('docs/SD.md lists the exact settings of every baseline in every preset, as the preset code resolves them', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/SD.md', import.meta.url)), 'utf8');
  const m = /<!-- baseline-table -->\n([\s\S]*?)\n<!-- \/baseline-table -->/.exec(doc);
  assert.ok(m, 'docs/SD.md has the baseline table between its markers');
  assert.equal(m[1], baselineTable(), `docs/SD.md's baseline table is out of date; it must read:\n${baselineTable()}`);
});
