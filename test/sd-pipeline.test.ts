import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { batchGaussian, ddimTimesteps, parseSchedulerConfig } from '../src/core/index.js';
import { openSession, releaseAllSessions } from '../src/models/onnx/session.js';
import { loadClipTokenizer } from '../src/models/tokenizer/load.js';
import { pngText } from '../src/eval/scorers/image.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import {
  FIXTURES,
  referenceTextEmbeds,
  referenceTextEncoder,
  referenceUnet,
  writeTinySdFolder,
  type TinyFolder,
  type TinyFolderOptions,
} from './helpers/onnx-graphs.js';
import { readFileSync } from 'node:fs';
import { abar, assertClose, diffusersPixels, guidedEps, referenceSample, rgbOf, sd1Embeds, type Eps } from './helpers/sd-reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-pipe-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});

let folders = 0;
function folder(o: TinyFolderOptions): TinyFolder {
  return writeTinySdFolder(join(tmp, `m${folders++}`), o);
}

/** ε from v for v-prediction models: ε = √(1−ᾱ)·x + √ᾱ·v. */
function vToEps(model: Eps): Eps {
  return (x, t) => {
    const v = model(x, t);
    const a = abar(t);
    return x.map((xv, j) => Math.sqrt(1 - a) * xv + Math.sqrt(a) * v[j]);
  };
}

const SD15_LEADING = (T: number) => ddimTimesteps(parseSchedulerConfig(JSON.parse(readFileSync(`${FIXTURES}/configs/sd15/scheduler/scheduler_config.json`, 'utf8'))), T, 'leading');

const base = (f: TinyFolder, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({
  model: f.dir,
  prompt: 'a photo of a cat',
  negativePrompt: 'blurry',
  width: 16,
  height: 16,
  steps: 4,
  seed: 7,
  guidance: 5.5,
  ...extra,
});

for (const variant of [
  { name: 'int64 [B] timestep', unet: { timestep: 'int64' as const } },
  { name: 'float32 scalar timestep', unet: { timestep: 'float32-scalar' as const } },
  { name: 'fp16 IO', unet: { io: 'float16' as const, timestep: 'float16' as const } },
]) {
  test(`txt2img SD 1.x (${variant.name}): latents match an independent DDIM + CFG over the same networks`, async () => {
    const f = folder({ family: 'sd1', unet: variant.unet });
    const r = await generate(base(f));
    assert.deepEqual(r.latentShape, [1, 4, 8, 8]);
    const T = SD15_LEADING(4);
    assert.deepEqual(T, [751, 501, 251, 1]);
    const eps = guidedEps(f, 5.5, await sd1Embeds(f.dir, 'a photo of a cat'), await sd1Embeds(f.dir, 'blurry'));
    const expected = referenceSample(T, 250, batchGaussian(7, [1, 4, 8, 8]), { main: eps });
    assertClose(r.latents, expected, variant.unet.io === 'float16' ? 2e-2 : 1e-4, 'final latent');
    assert.equal(r.evaluations, 4);
    assert.deepEqual(Object.values(r.unetRuns), [4]); // CFG halves in one batch: one UNet run per step
  });
}

test('txt2img SD 2.x: v-prediction is read off the network as diffusers does', async () => {
  const f = folder({ family: 'sd2' });
  const r = await generate(base(f, { negativePrompt: undefined }));
  assert.equal(r.family, 'sd2');
  const eps = vToEps(guidedEps(f, 5.5, await sd1Embeds(f.dir, 'a photo of a cat'), await sd1Embeds(f.dir, '')));
  assertClose(r.latents, referenceSample(SD15_LEADING(4), 250, batchGaussian(7, [1, 4, 8, 8]), { main: eps }), 1e-4, 'final latent');
});

test('txt2img SDXL: penultimate layers of both encoders, pooled text_embeds, time_ids, zeros for an absent negative prompt', async () => {
  for (const ids of ['int32', 'int64'] as const) {
    const f = folder({ family: 'sdxl', ids });
    const r = await generate(base(f, { negativePrompt: undefined, width: 32, height: 16, steps: 3 }));
    assert.equal(r.family, 'sdxl');
    assert.deepEqual(r.latentShape, [1, 4, 8, 16]);
    const [e1, e2] = f.encoders!;
    const tok1 = loadClipTokenizer(join(f.dir, 'tokenizer'));
    const tok2 = loadClipTokenizer(join(f.dir, 'tokenizer_2'));
    const ids1 = Array.from(tok1.encode('a photo of a cat').ids);
    const ids2 = Array.from(tok2.encode('a photo of a cat').ids);
    assert.equal(ids2[10], 0, 'tokenizer_2 pads with "!" = 0');
    const h1 = referenceTextEncoder(e1)(ids1, e1.layers - 1);
    const h2 = referenceTextEncoder(e2)(ids2, e2.layers - 1);
    const hidden = new Float32Array(77 * 10);
    for (let s = 0; s < 77; s++) {
      hidden.set(h1.subarray(s * 4, s * 4 + 4), s * 10);
      hidden.set(h2.subarray(s * 6, s * 6 + 6), s * 10 + 4);
    }
    const timeIds = Float32Array.of(16, 32, 0, 0, 16, 32); // (height, width, top, left, height, width)
    const c = { textEmbeds: referenceTextEmbeds(e2)(ids2), timeIds };
    const u = { textEmbeds: new Float32Array(5), timeIds };
    const net = referenceUnet(f.unet);
    const eps: Eps = (x, t) => {
      const dims = [1, 4, 8, 16];
      const cc = net(x, dims, [t], hidden, c);
      const uu = net(x, dims, [t], new Float32Array(hidden.length), u);
      return uu.map((v, j) => v + 5.5 * (cc[j] - v));
    };
    // sdxl-turbo's config: trailing spacing; DDIM lands at t − 1000//3 and the next step starts at the next timestep
    const expected = referenceSample([999, 666, 332], 333, batchGaussian(7, [1, 4, 8, 16]), { main: eps });
    assertClose(r.latents, expected, 1e-4, `final latent (${ids} ids)`);
  }
});

test('txt2img: batch items have their own noise; item 0 of a batch equals the single image', async () => {
  const f = folder({ family: 'sd1' });
  const one = await generate(base(f, { steps: 3 }));
  const two = await generate(base(f, { steps: 3, batch: 2 }));
  assert.deepEqual(two.latentShape, [2, 4, 8, 8]);
  assertClose(two.latents.subarray(0, 256), one.latents, 1e-5, 'item 0');
  let diff = 0;
  for (let i = 0; i < 256; i++) diff += Math.abs(two.latents[i] - two.latents[256 + i]);
  assert.ok(diff > 1, 'item 1 differs');
  assert.equal(two.images.length, 2);
  assert.equal(two.evaluations, 3);
});

test('txt2img: VAE decode with the folder scaling factor, PNG with parameters in tEXt, written atomically', async () => {
  const f = folder({ family: 'sd1' });
  const out = join(tmp, 'out', 'img.png');
  const r = await generate(base(f, { steps: 2, output: out, batch: 2 }));
  assert.deepEqual(r.files, [join(tmp, 'out', 'img-0.png'), join(tmp, 'out', 'img-1.png')]);
  assert.deepEqual(readdirSync(join(tmp, 'out')).sort(), ['img-0.png', 'img-1.png']);
  // decode by hand: latents / 0.18215 through the real tiny VAE, then (x/2 + 0.5)·255
  const vae = await openSession(join(f.dir, 'vae_decoder/model.onnx'));
  const z = r.latents.subarray(256, 512).map((v) => v / 0.18215);
  const img = (await vae.run({ latent_sample: { data: z, dims: [1, 4, 8, 8] } })).sample;
  assert.deepEqual([...img.dims], [1, 3, 16, 16]);
  const png = PNG.sync.read(readFileSync(r.files[1]));
  assert.equal(png.width, 16);
  assert.equal(png.height, 16);
  // exact: the same VAE output through diffusers' float32 conversion
  assert.deepEqual(rgbOf(png.data), diffusersPixels(img.data, 16, 16));
  const text = pngText(readFileSync(r.files[1]), r.files[1]);
  assert.match(text.parameters, /^a photo of a cat\nNegative prompt: blurry\nSteps: 2, Sampler: ddim, CFG scale: 5\.5, Seed: 7, Batch item: 1, Size: 16x16/);
  const meta = JSON.parse(text.w2sd) as Record<string, unknown>;
  assert.equal(meta.method, 'cfg');
  assert.equal(meta.seed, 7);
  assert.equal(meta.batchItem, 1);
});


test('txt2img: a non-Latin-1 prompt goes to iTXt and reads back as UTF-8', async () => {
  const f = folder({ family: 'sd1' });
  const out = join(tmp, 'utf8.png');
  await generate(base(f, { steps: 1, output: out, prompt: 'ein Kätzchen 猫', method: 'plain' }));
  const text = pngText(readFileSync(out), out);
  assert.match(text.parameters, /^ein Kätzchen 猫\n/);
  assert.equal((JSON.parse(text.w2sd) as { legs: { main: { prompt: string } } }).legs.main.prompt, 'ein Kätzchen 猫');
});

test('W2SD cumulative pair: latents match Algorithm 1 over two weights at CFG 5.5 vs 0; weak runs only in the window', async () => {
  const strong = folder({ family: 'sd1', unet: { seed: 1 } });
  const weak = folder({ family: 'sd1', unet: { seed: 2 } });
  const weakUnet = await openSession(join(weak.dir, 'unet/model.onnx'));
  const seen: number[] = [];
  const T = 5;
  const lambda = 3;
  const r = await generate(
    base(strong, {
      steps: T,
      pair: 'cumulative',
      weakModel: weak.dir,
      lambda,
      onProgress: () => seen.push(weakUnet.stats.runs),
    }),
  );
  assert.equal(r.method, 'w2sd');
  const runs0 = seen[0] - 1;
  assert.deepEqual(seen.map((n) => n - runs0), [1, 2, 3, 3, 3], 'weak UNet runs after each step');
  assert.equal(r.evaluations, T + 2 * lambda);
  assert.deepEqual(r.evaluationsByLeg, { main: T, strong: lambda, weak: lambda });
  assert.equal(r.unetRuns[join(strong.dir, 'unet/model.onnx')], T + lambda);
  assert.equal(r.unetRuns[join(weak.dir, 'unet/model.onnx')], lambda);
  const c = await sd1Embeds(strong.dir, 'a photo of a cat');
  const u = await sd1Embeds(strong.dir, 'blurry');
  const legs = { main: guidedEps(strong, 5.5, c, u), strong: guidedEps(strong, 5.5, c, u), weak: guidedEps(weak, 0, c, u) };
  // guidance 0 = the unconditional half alone
  legs.weak = ((net) => (x: Float32Array, t: number) => net(x, [1, 4, 8, 8], [t], u))(referenceUnet(weak.unet));
  const expected = referenceSample(SD15_LEADING(T), 200, batchGaussian(7, [1, 4, 8, 8]), legs, lambda);
  assertClose(r.latents, expected, 1e-4, 'W2SD latent');
  // …and reflection changed something: plain CFG on the same noise differs
  const cfgOnly = await generate(base(strong, { steps: T }));
  let d = 0;
  for (let i = 0; i < 256; i++) d += Math.abs(cfgOnly.latents[i] - r.latents[i]);
  assert.ok(d > 1e-2, `reflection moved the result (${d})`);
});

test('W2SD guidance pair (Z-Sampling) on one folder: one UNet session, T + 2λ runs, λ = 49 of T = 50 by default', async () => {
  const f = folder({ family: 'sd1' });
  const r = await generate(base(f, { steps: 50, pair: 'guidance', width: 16, height: 16 }));
  assert.equal(r.lambda, 49);
  assert.equal(r.evaluations, 50 + 2 * 49);
  assert.equal(r.expectedEvaluations, 148);
  assert.deepEqual(Object.keys(r.unetRuns), [join(f.dir, 'unet/model.onnx')]);
  assert.equal(r.unetRuns[join(f.dir, 'unet/model.onnx')], 148);
  assert.deepEqual(r.legs.strong, { model: f.dir, guidance: 5.5, prompt: 'a photo of a cat', negativePrompt: 'blurry' });
  assert.equal(r.legs.weak.guidance, 0);
});

test('W2SD prompt pair shares the model; equal compute spends what CFG\'s T steps cost, a CFG batch counting twice', async () => {
  const f = folder({ family: 'sd1' });
  const r = await generate(base(f, { steps: 10, pair: 'prompt', weakPrompt: 'cat', equalCompute: true }));
  // CFG at 5.5 costs 2 per step: budget 20. Main 2, strong and weak at CFG 1 cost 1 each: 2T′ + 2λ = 20 with λ
  // closest to T′/2 is T′ = 7, λ = 3 (T′ = 6, λ = 4 is further from T′/2)
  assert.equal(r.steps, 7);
  assert.equal(r.lambda, 3);
  assert.equal(r.evaluations, 7 + 2 * 3);
  assert.equal(Object.keys(r.unetRuns).length, 1);
  assert.equal(r.legs.strong.guidance, 1);
  assert.equal(r.legs.weak.prompt, 'cat');
  assert.equal(r.legs.main.guidance, 5.5);
});

test('baselines on the same folders: plain, self-reflection, S2WD, autoguidance', async () => {
  const strong = folder({ family: 'sd1', unet: { seed: 1 } });
  const weak = folder({ family: 'sd1', unet: { seed: 2 } });
  const p = await generate(base(strong, { steps: 3, method: 'plain' }));
  assert.equal(p.legs.main.guidance, 1);
  const self = await generate(base(strong, { steps: 3, method: 'self-reflection', pair: 'weights', weakModel: weak.dir }));
  assert.deepEqual(self.evaluationsByLeg, { main: 3, strong: 4 });
  assert.equal(self.unetRuns[join(weak.dir, 'unet/model.onnx')], undefined);
  const w = await generate(base(strong, { steps: 3, pair: 'weights', weakModel: weak.dir }));
  const s = await generate(base(strong, { steps: 3, method: 's2wd', pair: 'weights', weakModel: weak.dir }));
  assert.equal(s.evaluations, 7);
  let d = 0;
  for (let i = 0; i < 256; i++) d += Math.abs(w.latents[i] - s.latents[i]);
  assert.ok(d > 1e-3, 'S2WD reverses the reflection');
  const ag = await generate(base(strong, { steps: 3, method: 'autoguidance', pair: 'weights', weakModel: weak.dir }));
  assert.deepEqual(ag.evaluationsByLeg, { strong: 3, weak: 3 });
});

test('errors: bad sizes, incomplete or mismatched pairs, missing files, output name', async () => {
  const f = folder({ family: 'sd1' });
  await assert.rejects(generate(base(f, { width: 24 })), /width 24: expected a positive multiple of 16 \(8 × the VAE factor 2\)/);
  await assert.rejects(generate(base(f, { height: 0 })), /height 0/);
  await assert.rejects(generate(base(f, { pair: 'weights' })), /weights pair needs a weak model folder \(--weak-model\)/);
  await assert.rejects(generate(base(f, { pair: 'prompt' })), /prompt pair needs the raw prompt/);
  await assert.rejects(generate(base(f, { method: 'w2sd' })), /method w2sd needs a pair/);
  const xl = folder({ family: 'sdxl' });
  await assert.rejects(generate(base(f, { pair: 'weights', weakModel: xl.dir })), /weak model .* does not share the main model's latent space .*VAE scaling_factor 0\.13025 vs 0\.18215/);
  const wide = folder({ family: 'sd1', vae: { latent_channels: 8 }, unet: { seed: 4, channels: 8 } });
  rmSync(join(wide.dir, 'unet/config.json'));
  await assert.rejects(generate(base(f, { pair: 'cumulative', weakModel: wide.dir })), /8 latent channels vs 4/);
  const broken = folder({ family: 'sd1' });
  rmSync(join(broken.dir, 'unet/model.onnx'));
  await assert.rejects(generate(base(broken)), /is missing: unet \(.*unet\/model\.onnx\)/);
  await assert.rejects(generate(base(f, { output: join(tmp, 'x.jpg') })), /expected a \.png file name/);
});

test('abort: nothing is written when sampling is cancelled', async () => {
  const f = folder({ family: 'sd1' });
  const dir = join(tmp, 'abort');
  const ac = new AbortController();
  await assert.rejects(
    generate(base(f, { steps: 6, output: join(dir, 'a.png'), signal: ac.signal, onProgress: (p) => p.step === 2 && ac.abort() })),
    (err: Error) => err.name === 'AbortError',
  );
  assert.ok(!existsSync(dir) || readdirSync(dir).length === 0);
});

test('W2SD weights pair: strong and weak folders without a VAE decoder are accepted (only the main leg decodes)', async () => {
  const main = folder({ family: 'sd1', unet: { seed: 1 } });
  const strong = folder({ family: 'sd1', unet: { seed: 1 }, noVae: true });
  const weak = folder({ family: 'sd1', unet: { seed: 2 }, noVae: true });
  const r = await generate(base(main, { steps: 3, pair: 'weights', strongModel: strong.dir, weakModel: weak.dir }));
  assert.equal(r.evaluations, 3 + 2 * 2);
  assert.equal(r.unetRuns[join(weak.dir, 'unet/model.onnx')], 2);
  assert.equal(r.images.length, 1);
});

test('presets: the guidance and cumulative pairs and legs without a preset reflect at the main scale unless told otherwise', async () => {
  const f = folder({ family: 'sd1' });
  const weak = folder({ family: 'sd1', unet: { seed: 2 } });
  const g = await generate(base(f, { steps: 2, pair: 'guidance', guidance: 7.5 }));
  assert.deepEqual([g.legs.main.guidance, g.legs.strong.guidance, g.legs.weak.guidance], [7.5, 7.5, 0]);
  const c = await generate(base(f, { steps: 2, pair: 'cumulative', weakModel: weak.dir, guidance: 3 }));
  assert.deepEqual([c.legs.main.guidance, c.legs.strong.guidance, c.legs.weak.guidance], [3, 3, 0]);
  // self-reflection (weak := strong) must reflect with the main leg itself: one leg, one CFG scale
  const s = await generate(base(f, { steps: 2, method: 'self-reflection', guidance: 7.5 }));
  assert.equal(s.legs.strong.guidance, 7.5);
  // the weights and prompt pairs keep the paper's 1.0 / 1.0 whatever the main scale
  const w = await generate(base(f, { steps: 2, pair: 'weights', weakModel: weak.dir, guidance: 7.5 }));
  assert.deepEqual([w.legs.strong.guidance, w.legs.weak.guidance], [1, 1]);
  const o = await generate(base(f, { steps: 2, pair: 'guidance', guidance: 7.5, strongGuidance: 4 }));
  assert.equal(o.legs.strong.guidance, 4);
});

test('txt2img: the CFG batch is [uncond; cond], as diffusers concatenates it', async () => {
  const f = folder({ family: 'sd1' });
  const unet = await openSession(join(f.dir, 'unet/model.onnx'));
  const seen: Float32Array[] = [];
  const run = unet.run.bind(unet);
  unet.run = (feeds, names) => {
    seen.push(Float32Array.from(feeds.encoder_hidden_states.data as Float32Array));
    return run(feeds, names);
  };
  try {
    await generate(base(f, { steps: 1 }));
  } finally {
    unet.run = run;
  }
  assert.equal(seen.length, 1);
  const per = 77 * 32;
  assert.equal(seen[0].length, 2 * per);
  assertClose(seen[0].subarray(0, per), await sd1Embeds(f.dir, 'blurry'), 1e-6, 'first half = negative prompt');
  assertClose(seen[0].subarray(per), await sd1Embeds(f.dir, 'a photo of a cat'), 1e-6, 'second half = prompt');
});

test('txt2img: a VAE config with latents_mean / latents_std decodes latents·std/scaling + mean (diffusers SDXL)', async () => {
  const mean = [0.5, -0.25, 1, 0];
  const std = [2, 0.5, 1.5, 1];
  const f = folder({ family: 'sd1', vae: { latents_mean: mean, latents_std: std } });
  const r = await generate(base(f, { steps: 2, output: join(tmp, 'stats.png') }));
  const vae = await openSession(join(f.dir, 'vae_decoder/model.onnx'));
  const z = r.latents.map((v, i) => (v * std[Math.floor(i / 64)]) / 0.18215 + mean[Math.floor(i / 64)]);
  const img = (await vae.run({ latent_sample: { data: z, dims: [1, 4, 8, 8] } })).sample;
  const png = PNG.sync.read(readFileSync(r.files[0]));
  assert.deepEqual(rgbOf(png.data), diffusersPixels(img.data, 16, 16));
  // without the statistics (none, or latents_mean alone: diffusers needs both) the decode is latents / scaling only
  for (const vae of [undefined, { latents_mean: mean }]) {
    const g = folder({ family: 'sd1', vae });
    const plainR = await generate(base(g, { steps: 2, output: join(tmp, 'nostats.png') }));
    const gVae = await openSession(join(g.dir, 'vae_decoder/model.onnx'));
    const zPlain = plainR.latents.map((v) => v / 0.18215);
    const imgPlain = (await gVae.run({ latent_sample: { data: zPlain, dims: [1, 4, 8, 8] } })).sample;
    assert.deepEqual(rgbOf(PNG.sync.read(readFileSync(plainR.files[0])).data), diffusersPixels(imgPlain.data, 16, 16), `VAE config ${JSON.stringify(vae)}`);
  }
  // the statistics are part of the latent space: a pair whose VAE lacks them is refused
  const plainVae = folder({ family: 'sd1', unet: { seed: 2 } });
  await assert.rejects(generate(base(f, { pair: 'weights', weakModel: plainVae.dir })), /does not share the main model's latent space .*latents_mean\/latents_std/);
});

test('txt2img: fractional timesteps (Euler, linspace) reach an int64-timestep UNet truncated, as optimum casts them', async () => {
  const f = folder({ family: 'sd1', scheduler: { timestep_spacing: 'linspace' } });
  const unet = await openSession(join(f.dir, 'unet/model.onnx'));
  const fed: number[] = [];
  const run = unet.run.bind(unet);
  unet.run = (feeds, names) => {
    fed.push(feeds.timestep.data[0]);
    return run(feeds, names);
  };
  try {
    await generate(base(f, { steps: 7, sampler: 'euler' }));
  } finally {
    unet.run = run;
  }
  // np.linspace(0, 999, 7)[::-1] = 999, 832.5, 666, 499.5, 333, 166.5, 0; numpy's float → int64 cast truncates
  assert.deepEqual(fed, [999, 832, 666, 499, 333, 166, 0]);
});

test('counts: expected evaluations hold for Heun (2T − 1 main calls) and an explicit λ under equal compute is reported', async () => {
  const f = folder({ family: 'sd1' });
  const h = await generate(base(f, { steps: 3, pair: 'guidance', sampler: 'heun' }));
  assert.equal(h.evaluations, 2 * 3 - 1 + 2 * 2);
  assert.equal(h.expectedEvaluations, h.evaluations);
  const ag = await generate(base(f, { steps: 3, method: 'autoguidance', pair: 'guidance', sampler: 'heun' }));
  assert.equal(ag.evaluations, 2 * (2 * 3 - 1));
  assert.equal(ag.expectedEvaluations, ag.evaluations);
  // guidance pair: main and strong at 5.5 cost 2, weak at 0 costs 1; 2T′ + 3λ = 20: T′ = 7, λ = 2 (T′ = 10, λ = 0 is further from T′/2)
  const ec = await generate(base(f, { steps: 10, pair: 'guidance', equalCompute: true, lambda: 7 }));
  assert.equal(ec.lambda, 2);
  assert.equal(ec.steps, 7);
  assert.match(ec.warnings.join('\n'), /lambda 7 ignored: equal compute sets λ = 2 \(T′ = 7\)/);
});
