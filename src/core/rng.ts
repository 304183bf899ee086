import type { Schedule, StepNoise } from './types.js';
import { sizeOf } from './tensor.js';

/*
 * Counter-based Philox4x32-10 (Salmon et al., SC'11). A counter-based generator makes every number a pure
 * function of (seed, stream, index): a sample's noise does not depend on batch size or on how many numbers
 * other methods drew, which is what common random numbers across methods need, and the integer arithmetic
 * below gives the same bits in every JavaScript engine (Node and browsers alike).
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32, exact in doubles (no BigInt in the hot path). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const cross = (loLo >>> 16) + (hiLo & 0xffff) + loHi;
  return (aHi * bHi + (hiLo >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** One Philox4x32-10 block: 4 counter words and 2 key words in, 4 uint32 out (written to `out`). */
export function philox4x32(counter: readonly number[], key: readonly number[], out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** What the numbers are for: the starting latent, or the noise of a given step (stochastic samplers). */
export type NoisePurpose = 'initial' | { step: number };

function purposeWord(purpose: NoisePurpose): number {
  return purpose === 'initial' ? 0 : purpose.step + 1;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed: expected a non-negative safe integer, got ${seed}`);
}

const TWO_POW_32 = 4294967296;

/**
 * `length` standard normals for one batch item (`item`) and purpose, by Box–Muller on Philox uniforms.
 * Normal j comes from block ⌊j/4⌋, so a prefix of a longer draw equals a shorter draw.
 */
export function gaussian(seed: number, length: number, item = 0, purpose: NoisePurpose = 'initial'): Float32Array {
  checkSeed(seed);
  const out = new Float32Array(length);
  const key = [seed % TWO_POW_32, Math.floor(seed / TWO_POW_32)];
  const counter = [0, item, purposeWord(purpose), 0];
  const block = new Uint32Array(4);
  for (let j = 0; j < length; j += 4) {
    counter[0] = j / 4;
    philox4x32(counter, key, block);
    for (let pair = 0; pair < 2; pair++) {
      // (u + 0.5)/2^32 lies in (0, 1): log(0) cannot happen
      const u1 = (block[2 * pair] + 0.5) / TWO_POW_32;
      const u2 = (block[2 * pair + 1] + 0.5) / TWO_POW_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      const k = j + 2 * pair;
      if (k < length) out[k] = r * Math.cos(theta);
      if (k + 1 < length) out[k + 1] = r * Math.sin(theta);
    }
  }
  return out;
}

/** Normals for a whole batch [B, ...]: item b's values depend only on (seed, b, purpose). */
export function batchGaussian(seed: number, shape: readonly number[], purpose: NoisePurpose = 'initial'): Float32Array {
  const total = sizeOf(shape);
  const batch = shape[0] ?? 1;
  const per = batch === 0 ? 0 : total / batch;
  const out = new Float32Array(total);
  for (let b = 0; b < batch; b++) out.set(gaussian(seed, per, b, purpose), b * per);
  return out;
}

/** The starting latent of a schedule: standard normals scaled by the schedule's initial σ. */
export function initialLatent(seed: number, shape: readonly number[], schedule: Pick<Schedule, 'initSigma'>): Float32Array {
  const x = batchGaussian(seed, shape, 'initial');
  const s = schedule.initSigma;
  for (let i = 0; i < x.length; i++) x[i] *= s;
  return x;
}

/** Per-step noise for stochastic samplers, reproducible from the seed. */
export function stepNoise(seed: number): StepNoise {
  checkSeed(seed);
  return (i, shape) => batchGaussian(seed, shape, { step: i });
}
