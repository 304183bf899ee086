import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSession } from '../../src/models/onnx/session.js';
import { loadClipTokenizer } from '../../src/models/tokenizer/load.js';
import { referenceUnet, type TinyFolder } from './onnx-graphs.js';

/** A network in diffusers' VP form on one batch item: ε (or v) for x_t at timestep t. */
export type Eps = (x: Float32Array, t: number) => Float32Array;

/** SD 1.x conditioning straight from the real tiny text encoder session, ids from the folder's tokenizer. */
export async function sd1Embeds(dir: string, prompt: string): Promise<Float32Array> {
  const tok = loadClipTokenizer(join(dir, 'tokenizer'));
  const s = await openSession(join(dir, 'text_encoder/model.onnx'));
  const out = await s.run({ input_ids: { data: tok.encode(prompt).ids, dims: [1, 77] } }, ['last_hidden_state']);
  return Float32Array.from(out.last_hidden_state.data);
}

/**
 * The test UNet with classifier-free guidance u + w·(c − u) in its output space on one batch item, from its
 * formula (not the graph): w = 1 is the conditional half alone and w = 0 the unconditional one.
 */
export function guidedEps(f: TinyFolder, scale: number, cond: Float32Array, uncond: Float32Array, extras?: { c: Ex; u: Ex }): Eps {
  const net = referenceUnet(f.unet);
  return (x, t) => {
    const dims = [1, 4, Math.sqrt(x.length / 4), Math.sqrt(x.length / 4)];
    if (scale === 0) return net(x, dims, [t], uncond, extras?.u);
    const c = net(x, dims, [t], cond, extras?.c);
    if (scale === 1) return c;
    const u = net(x, dims, [t], uncond, extras?.u);
    return u.map((uv, j) => uv + scale * (c[j] - uv));
  };
}
export type Ex = { textEmbeds: Float32Array; timeIds: Float32Array };

export function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  assert.ok(worst <= tol * Math.max(1, scale), `${what}: max |Δ| ${worst} (scale ${scale})`);
}

/**
 * diffusers' image conversion written from its definition, each operation in float32: VaeImageProcessor's
 * denormalize (x / 2 + 0.5).clamp(0, 1) in torch float32, then numpy_to_pil's (images * 255).round() in numpy
 * float32, whose round is half to even. Planar [3, H, W] in, interleaved RGB out.
 */
export function diffusersPixels(planar: Float32Array, height: number, width: number): number[] {
  const f = Math.fround;
  const n = height * width;
  const out: number[] = [];
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.min(Math.max(f(f(planar[c * n + p] / 2) + 0.5), 0), 1);
      const s = f(v * 255);
      const fl = Math.floor(s);
      out.push(s - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(s));
    }
  }
  return out;
}

/** A PNG's RGB bytes (dropping pngjs's alpha channel). */
export function rgbOf(rgba: Uint8Array | Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < rgba.length; i += 4) out.push(rgba[i], rgba[i + 1], rgba[i + 2]);
  return out;
}

/** ᾱ of the scaled_linear schedule from its definition, in float64. */
const ALPHA = (() => {
  const a = new Float64Array(1000);
  let acc = 1;
  for (let i = 0; i < 1000; i++) {
    const sq = Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * i) / 999;
    acc *= 1 - sq * sq;
    a[i] = acc;
  }
  return a;
})();
export const abar = (t: number) => (t >= 0 ? ALPHA[t] : ALPHA[0]); // set_alpha_to_one: false in every test config

/**
 * diffusers' DDIM (η = 0, no clipping) in its own VP variables, with W2SD's reflection as Algorithm 1 and
 * PAPER-NOTES §3.5 write it: strong DDIM step t → t', weak model at (x', t) inverts t' → t, then the main step.
 * Written from the formulas, independently of src/core.
 */
export function referenceSample(timesteps: number[], ratio: number, x: Float32Array, legs: { main: Eps; strong?: Eps; weak?: Eps }, lambda = 0): Float32Array {
  const step = (eps: Eps, y: Float32Array, t: number, prev: number, evalT = t) => {
    const e = eps(y, evalT);
    const [a, ap] = [abar(t), abar(prev)];
    return y.map((v, j) => Math.sqrt(ap) * ((v - Math.sqrt(1 - a) * e[j]) / Math.sqrt(a)) + Math.sqrt(1 - ap) * e[j]);
  };
  let cur = Float32Array.from(x);
  timesteps.forEach((t, i) => {
    const prev = t - ratio;
    if (i < lambda) {
      const denoised = step(legs.strong!, cur, t, prev);
      // inversion: the weak model sees the denoised latent at the upper timestep t; the move maps prev → t
      const e = legs.weak!(denoised, t);
      const [a, ap] = [abar(t), abar(prev)];
      cur = denoised.map((v, j) => Math.sqrt(a) * ((v - Math.sqrt(1 - ap) * e[j]) / Math.sqrt(ap)) + Math.sqrt(1 - a) * e[j]);
    }
    cur = step(legs.main, cur, t, prev);
  });
  return cur;
}
