import type { ImageSet } from '../../data/dataset.js';

/**
 * Moving-MNIST clips by the rule of training/moving_mnist.py: the central 20×20 box of an MNIST digit,
 * averaged over 2×2 blocks to 10×10, on a 16×16 canvas of −1, starting at a random offset and moving a
 * constant whole number of pixels per frame on each axis (±1 or ±2), bouncing off the borders. The
 * random draws differ from Python's; the law is the same. Used for the real-data reference of the video lab.
 */
export const CLIP_FRAMES = 8;
export const CLIP_SIDE = 16;
const BOX = 20;
const CROP = (28 - BOX) / 2;
const DIGIT = BOX / 2;
const SPEEDS = [-2, -1, 1, 2];

/** Positions 0..span visited by a point moving `velocity` px/frame and reflecting at both ends. */
export function bounce(start: number, velocity: number, frames: number, span: number): number[] {
  const out: number[] = [];
  let p = start;
  let v = velocity;
  for (let f = 0; f < frames; f++) {
    out.push(p);
    let next = p + v;
    if (next < 0 || next > span) {
      v = -v;
      next = p + v;
    }
    p = next;
  }
  return out;
}

/** mulberry32: a small seeded generator for the clips' draws (not the diffusion noise, which is Philox). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ClipSet {
  /** [count, 1, F, S, S] in [−1, 1]. */
  readonly clips: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
}

export function movingMnist(set: ImageSet, count: number, seed: number): ClipSet {
  if (set.height !== 28 || set.width !== 28) throw new Error(`moving MNIST: ${set.name} has ${set.height}×${set.width} images, expected 28×28`);
  const rand = uniform(seed);
  const int = (n: number) => Math.min(n - 1, Math.floor(rand() * n));
  const span = CLIP_SIDE - DIGIT;
  const per = CLIP_FRAMES * CLIP_SIDE * CLIP_SIDE;
  const clips = new Float32Array(count * per).fill(-1);
  const labels = new Int32Array(count);
  const digit = new Float32Array(DIGIT * DIGIT);
  for (let i = 0; i < count; i++) {
    const k = int(set.count);
    labels[i] = set.labels[k];
    for (let y = 0; y < DIGIT; y++) {
      for (let x = 0; x < DIGIT; x++) {
        let s = 0;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) s += set.pixels[k * 784 + (CROP + 2 * y + dy) * 28 + CROP + 2 * x + dx] / 127.5 - 1;
        digit[y * DIGIT + x] = s / 4;
      }
    }
    const ys = bounce(int(span + 1), SPEEDS[int(4)], CLIP_FRAMES, span);
    const xs = bounce(int(span + 1), SPEEDS[int(4)], CLIP_FRAMES, span);
    for (let f = 0; f < CLIP_FRAMES; f++) {
      const base = i * per + f * CLIP_SIDE * CLIP_SIDE;
      for (let y = 0; y < DIGIT; y++) for (let x = 0; x < DIGIT; x++) clips[base + (ys[f] + y) * CLIP_SIDE + xs[f] + x] = digit[y * DIGIT + x];
    }
  }
  return { clips, labels, count };
}
