import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchGaussian } from '../src/core/index.js';
import { openSession, releaseAllSessions } from '../src/models/onnx/session.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import { referenceUnet, writeTinySdFolder, type TinyFolder } from './helpers/onnx-graphs.js';
import { assertClose, referenceSample, sd1Embeds, type Eps } from './helpers/sd-reference.js';

/*
 * The legs of a pair, checked by what every UNet call receives: which weights, the timestep, the latent x_t and
 * the encoder hidden states of each half. The scale shows in the halves a call carries: both ([negative; prompt],
 * one batch of 2) for a scale other than 0 and 1, the prompt alone for 1, the negative prompt alone for 0. The
 * expected calls come from an independent DDIM + Algorithm 1 over the test UNet's formula (helpers/sd-reference).
 */
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-legs-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});
const strong = writeTinySdFolder(join(tmp, 'strong'), { family: 'sd1', unet: { seed: 1 } });
const weak = writeTinySdFolder(join(tmp, 'weak'), { family: 'sd1', unet: { seed: 2 } });
const PER = 77 * 32;

interface Call {
  readonly unet: string;
  readonly timestep: number;
  /** One entry per batch item. */
  readonly latents: Float32Array[];
  readonly hidden: Float32Array[];
}

/** Every UNet call of a run, in order, across the given folders. */
async function recordCalls(folders: TinyFolder[], o: GenerateOptions): Promise<Call[]> {
  const calls: Call[] = [];
  const restore: (() => void)[] = [];
  for (const f of folders) {
    const s = await openSession(join(f.dir, 'unet/model.onnx'));
    const run = s.run.bind(s);
    s.run = (feeds, names) => {
      const B = feeds.sample.dims[0];
      const x = feeds.sample.data as Float32Array;
      const h = feeds.encoder_hidden_states.data as Float32Array;
      const per = x.length / B;
      calls.push({
        unet: f.dir,
        timestep: feeds.timestep.data[0],
        latents: Array.from({ length: B }, (_, b) => Float32Array.from(x.subarray(b * per, (b + 1) * per))),
        hidden: Array.from({ length: B }, (_, b) => Float32Array.from(h.subarray(b * PER, (b + 1) * PER))),
      });
      return run(feeds, names);
    };
    restore.push(() => (s.run = run));
  }
  try {
    await generate(o);
  } finally {
    restore.forEach((r) => r());
  }
  return calls;
}

/** A leg of the reference: its UNet call is logged as the pipeline's should be, then CFG is applied. */
function loggedLeg(f: TinyFolder, scale: number, prompt: Float32Array, negative: Float32Array, log: Call[]): Eps {
  const net = referenceUnet(f.unet);
  return (x, t) => {
    const halves = scale === 1 ? [prompt] : scale === 0 ? [negative] : [negative, prompt];
    log.push({ unet: f.dir, timestep: t, latents: halves.map(() => Float32Array.from(x)), hidden: halves });
    const out = halves.map((h) => net(x, [1, 4, 8, 8], [t], h));
    return out.length === 1 ? out[0] : out[0].map((u, j) => u + scale * (out[1][j] - u));
  };
}

function assertCalls(actual: Call[], expected: Call[]): void {
  const show = (c: Call[]) => c.map((k) => `${k.unet === strong.dir ? 'strong' : 'weak'}@${k.timestep}×${k.latents.length}`).join(' ');
  assert.equal(show(actual), show(expected), 'UNet calls (weights@timestep×halves)');
  actual.forEach((a, i) => {
    a.hidden.forEach((h, b) => assertClose(h, expected[i].hidden[b], 1e-6, `call ${i} half ${b}: encoder hidden states`));
    a.latents.forEach((x, b) => assertClose(x, expected[i].latents[b], 1e-4, `call ${i} half ${b}: latent`));
  });
}

const T = 3;
const TIMESTEPS = [667, 334, 1]; // SD 1.5's leading DDIM timesteps for T = 3 (ratio 333, offset 1)
const noise = batchGaussian(3, [1, 4, 8, 8]);
const base = (extra: Partial<GenerateOptions>): GenerateOptions => ({ model: strong.dir, prompt: 'a photo of a cat', negativePrompt: 'blurry', width: 16, height: 16, steps: T, seed: 3, lambda: 2, ...extra });

type LegDef = readonly [TinyFolder, number, string];

/** Runs the reference with the legs written out (weights, scale, prompt) and compares every UNet call. */
async function checkLegs(legs: { main: LegDef; strong: LegDef; weak: LegDef }, folders: TinyFolder[], o: Partial<GenerateOptions>): Promise<void> {
  const negative = await sd1Embeds(strong.dir, 'blurry');
  const expected: Call[] = [];
  const eps = async ([f, scale, prompt]: LegDef) => loggedLeg(f, scale, await sd1Embeds(strong.dir, prompt), negative, expected);
  referenceSample(TIMESTEPS, 333, noise, { main: await eps(legs.main), strong: await eps(legs.strong), weak: await eps(legs.weak) }, 2);
  assertCalls(await recordCalls(folders, base(o)), expected);
}

test('legs: the cumulative pair denoises with the strong weights at 5.5 and inverts with the weak weights unconditionally', () =>
  checkLegs({ main: [strong, 5.5, 'a photo of a cat'], strong: [strong, 5.5, 'a photo of a cat'], weak: [weak, 0, 'a photo of a cat'] }, [strong, weak], { pair: 'cumulative', weakModel: weak.dir }));

test('legs: the prompt pair runs both reflection legs at CFG 1 on one model, the weak leg on the raw prompt', () =>
  checkLegs({ main: [strong, 5.5, 'a photo of a cat'], strong: [strong, 1, 'a photo of a cat'], weak: [strong, 1, 'cat'] }, [strong], { pair: 'prompt', weakPrompt: 'cat' }));

test('legs: S2WD swaps the roles (the weak weights denoise, the strong ones invert), the main step unchanged', () =>
  checkLegs({ main: [strong, 5.5, 'a photo of a cat'], strong: [weak, 1, 'a photo of a cat'], weak: [strong, 1, 'a photo of a cat'] }, [strong, weak], { pair: 'weights', weakModel: weak.dir, method: 's2wd' }));
