import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchGaussian, ddim, ddimSchedule, discreteDenoiser, parseSchedulerConfig, plain, tensor, x0ProcessingOf, type GuidedDenoiser } from '../src/core/index.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { rescaledCfg } from '../src/pipelines/guidance-rescale.js';
import { generate } from '../src/pipelines/txt2img.js';
import { FIXTURES, referenceUnet, writeTinySdFolder } from './helpers/onnx-graphs.js';
import { assertClose, sd1Embeds } from './helpers/sd-reference.js';

/*
 * diffusers' guidance_rescale (rescale_noise_cfg): r = φ·r_cfg·std(r_c)/std(r_cfg) + (1 − φ)·r_cfg per batch item
 * on the network's output. The values below are derived by hand.
 */
const DIFFUSERS_FIXTURES = fileURLToPath(new URL('../../test/fixtures/diffusers', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-rescale-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});

/** A guided denoiser that returns fixed halves (D_c, D_u), as a network would at one (x, σ). */
const fixed = (c: number[], u: number[]): GuidedDenoiser => ({
  both: async () => [Float32Array.from(c), Float32Array.from(u)],
  cond: async () => Float32Array.from(c),
  uncond: async () => Float32Array.from(u),
});

test('guidance rescale by hand, ε-prediction: two batch items, ratio √3 and ratio 0 (constant conditional output)', async () => {
  // x = 0, σ = 1, so ε = −D. Item 0: ε_c = (0, 0, 0, 4) (sample std 2), ε_u = (−1, −3, −1, 5), so CFG 2 gives
  // ε_cfg = (1, 3, 1, 3) (sample std 2/√3): k = φ·√3 + 1 − φ = 1.3660254 at φ = ½. Item 1: ε_c = (2, 2, 2, 2) has
  // std 0, ε_u = (4, 2, 4, 2), ε_cfg = (0, 2, 0, 2): k = 1 − φ = ½.
  const epsC = [0, 0, 0, 4, 2, 2, 2, 2];
  const epsU = [-1, -3, -1, 5, 4, 2, 4, 2];
  const d = rescaledCfg(fixed(epsC.map((v) => -v), epsU.map((v) => -v)), 2, 0.5, 'epsilon');
  const out = await d(tensor(new Float32Array(8), [2, 4]), { sigma: 1, timestep: 999 });
  const k = 1.3660254037844386;
  const want = [1 * k, 3 * k, 1 * k, 3 * k, 0, 1, 0, 1].map((e) => -e);
  assertClose(out, Float32Array.from(want), 1e-6, 'ε rescale');
});

test('guidance rescale by hand, v-prediction: the rescale acts on v, not on the denoised image', async () => {
  // σ = 1: D = x/2 − v/√2. x = (2, 2, 2, 2), so D = 1 − v/√2; v_c = (0, 0, 0, 4), v_cfg = (1, 3, 1, 3) as above.
  const vC = [0, 0, 0, 4];
  const vU = [-1, -3, -1, 5];
  const D = (v: number[]) => v.map((x) => 1 - x / Math.SQRT2);
  const out = await rescaledCfg(fixed(D(vC), D(vU)), 2, 0.5, 'v_prediction')(tensor(Float32Array.of(2, 2, 2, 2), [1, 4]), { sigma: 1, timestep: 999 });
  const k = 1.3660254037844386;
  assertClose(out, Float32Array.from(D([1, 3, 1, 3].map((v) => v * k))), 1e-6, 'v rescale');
  // φ = 0 is plain CFG
  const none = await rescaledCfg(fixed(D(vC), D(vU)), 2, 0, 'v_prediction')(tensor(Float32Array.of(2, 2, 2, 2), [1, 4]), { sigma: 1, timestep: 999 });
  assertClose(none, Float32Array.from(D([1, 3, 1, 3])), 1e-6, 'φ = 0');
});

test('guidance rescale equals diffusers\' rescale_noise_cfg as recorded from PyTorch (tools/reference/diffusers_guidance_rescale.py)', async () => {
  const fixture = JSON.parse(readFileSync(join(DIFFUSERS_FIXTURES, 'guidance_rescale.json'), 'utf8')) as {
    cases: { shape: number[]; guidance_scale: number; guidance_rescale: number; noise_pred_text: number[]; noise_pred_uncond: number[]; rescaled: number[] }[];
  };
  assert.equal(fixture.cases.length, 3);
  for (const c of fixture.cases) {
    // ε-prediction at σ = 0.8 around a non-zero latent: D = x − σ·ε, and back ε = (x − D)/σ
    const sigma = 0.8;
    const x = Float32Array.from(c.noise_pred_text, (_, i) => Math.sin(i));
    const D = (eps: number[]) => eps.map((e, i) => x[i] - sigma * e);
    const out = await rescaledCfg(fixed(D(c.noise_pred_text), D(c.noise_pred_uncond)), c.guidance_scale, c.guidance_rescale, 'epsilon')(tensor(x, c.shape), { sigma, timestep: 500 });
    const eps = Float32Array.from(out, (d, i) => (x[i] - d) / sigma);
    assertClose(eps, Float32Array.from(c.rescaled), 2e-5, `shape [${c.shape.join(', ')}], scale ${c.guidance_scale}, φ ${c.guidance_rescale}`);
  }
});

test('generate --guidance-rescale 0.7: latents equal DDIM over the test UNet with rescale_noise_cfg in ε-space', async () => {
  const f = writeTinySdFolder(join(tmp, 'm'), { family: 'sd1' });
  const r = await generate({ model: f.dir, prompt: 'a photo of a cat', negativePrompt: 'blurry', width: 16, height: 16, steps: 3, seed: 5, guidance: 7.5, guidanceRescale: 0.7 });
  const net = referenceUnet(f.unet);
  const c = await sd1Embeds(f.dir, 'a photo of a cat');
  const u = await sd1Embeds(f.dir, 'blurry');
  const std = (v: Float32Array) => {
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    return Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1));
  };
  const eps = (x: Float32Array, t: number) => {
    const ec = net(x, [1, 4, 8, 8], [t], c);
    const eu = net(x, [1, 4, 8, 8], [t], u);
    const ecfg = eu.map((v, j) => v + 7.5 * (ec[j] - v));
    const ratio = std(ec) / std(ecfg);
    return ecfg.map((v) => 0.7 * v * ratio + 0.3 * v);
  };
  const cfgJson = JSON.parse(readFileSync(`${FIXTURES}/configs/sd15/scheduler/scheduler_config.json`, 'utf8'));
  const sch = parseSchedulerConfig(cfgJson);
  const m = plain('rescaled', discreteDenoiser(async (xt, t) => eps(xt.data, t), 'epsilon'));
  const x = await m.run({ sampler: ddim(x0ProcessingOf(sch)), schedule: (n) => ddimSchedule(sch, n), steps: 3, noise: tensor(batchGaussian(5, [1, 4, 8, 8]), [1, 4, 8, 8]) });
  const sf = ddimSchedule(sch, 3).final.sigma;
  assertClose(r.latents, x.map((v) => v / Math.sqrt(1 + sf * sf)), 1e-4, 'rescaled CFG latent');
  // and the rescale is not a no-op here
  const plainCfg = await generate({ model: f.dir, prompt: 'a photo of a cat', negativePrompt: 'blurry', width: 16, height: 16, steps: 3, seed: 5, guidance: 7.5 });
  assert.ok(Math.abs(plainCfg.latents[0] - r.latents[0]) > 1e-3);
  await assert.rejects(generate({ model: f.dir, prompt: 'x', guidanceRescale: 1.5 }), /guidance rescale: expected a number in \[0, 1\], got 1\.5/);
});
