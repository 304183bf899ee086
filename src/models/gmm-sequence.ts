import type { ComponentSpec, MixtureSpec } from './gmm-spec.js';

/**
 * Sequence-shaped exact models: every item is a clip [C, F, H, W] (F frames of a C×H×W "frame"), and
 * the data are a Gaussian mixture whose component k is a trajectory: frame f has mean start_k + f·velocity_k
 * and the deviations from it are an AR(1) process in time, Cov(x_f, x_g) = std² ρ^|f−g| for the same
 * pixel and 0 across pixels. The covariance is Σ_time ⊗ std²·I, a full positive-definite matrix, so
 * the mixture's denoiser stays exact and the core runs on video-shaped latents [B, C, F, H, W].
 *
 * Values are laid out in memory order (c, f, h, w), so the mixture's dimension i is element i of the item.
 */
export interface ClipShape {
  readonly channels: number;
  readonly frames: number;
  readonly height: number;
  readonly width: number;
}

export interface TrajectorySpec {
  readonly weight: number;
  /** The mean frame at f = 0, C·H·W values in (c, h, w) order. */
  readonly start: readonly number[];
  /** Added to the mean frame per frame. */
  readonly velocity: readonly number[];
  readonly name?: string;
}

export interface SequenceSpec {
  readonly shape: ClipShape;
  /** Per-pixel standard deviation around the trajectory (every frame). */
  readonly std: number;
  /** Lag-1 temporal correlation ρ in [0, 1): 0 = frames independent, near 1 = frames nearly equal. */
  readonly rho: number;
  readonly trajectories: readonly TrajectorySpec[];
}

export function clipSize(s: ClipShape): number {
  return s.channels * s.frames * s.height * s.width;
}

export function frameSize(s: ClipShape): number {
  return s.channels * s.height * s.width;
}

/** Element index of (c, f, h, w) inside one item. */
export function clipIndex(s: ClipShape, c: number, f: number, h: number, w: number): number {
  return ((c * s.frames + f) * s.height + h) * s.width + w;
}

/** Frame f of one item as a C·H·W vector in (c, h, w) order. */
export function frameOf(s: ClipShape, item: Float32Array | Float64Array, offset: number, f: number, out: Float64Array): Float64Array {
  let j = 0;
  for (let c = 0; c < s.channels; c++) for (let h = 0; h < s.height; h++) for (let w = 0; w < s.width; w++) out[j++] = item[offset + clipIndex(s, c, f, h, w)];
  return out;
}

function checkShape(s: ClipShape): void {
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`sequence shape: ${k} must be a positive integer, got ${v}`);
  }
  if (s.frames < 2) throw new RangeError(`sequence shape: frames must be at least 2, got ${s.frames}`);
  if (clipSize(s) > 256) throw new RangeError(`sequence shape: ${clipSize(s)} values per clip; the exact model allows at most 256 (its covariances are dense)`);
}

/** The mixture over whole clips (dimension C·F·H·W). */
export function sequenceMixture(spec: SequenceSpec): MixtureSpec {
  const s = spec.shape;
  checkShape(s);
  if (!(spec.std > 0) || !Number.isFinite(spec.std)) throw new RangeError(`sequence mixture: std must be > 0, got ${spec.std}`);
  if (!(spec.rho >= 0 && spec.rho < 1)) throw new RangeError(`sequence mixture: rho must be in [0, 1), got ${spec.rho}`);
  const fs = frameSize(s);
  const d = clipSize(s);
  // cov[i][j] = std² ρ^|f_i − f_j| when i and j are the same pixel of different (or the same) frames
  const coords = Array.from({ length: d }, () => ({ f: 0, p: 0 }));
  for (let c = 0; c < s.channels; c++) {
    for (let f = 0; f < s.frames; f++) {
      for (let h = 0; h < s.height; h++) {
        for (let w = 0; w < s.width; w++) coords[clipIndex(s, c, f, h, w)] = { f, p: (c * s.height + h) * s.width + w };
      }
    }
  }
  const cov = coords.map((a) => coords.map((b) => (a.p === b.p ? spec.std ** 2 * spec.rho ** Math.abs(a.f - b.f) : 0)));
  const components: ComponentSpec[] = spec.trajectories.map((t, k) => {
    if (t.start.length !== fs || t.velocity.length !== fs) {
      throw new RangeError(`sequence mixture: trajectory ${k} needs start and velocity of ${fs} values (C·H·W), got ${t.start.length} and ${t.velocity.length}`);
    }
    const mean = coords.map(({ f, p }) => t.start[p] + f * t.velocity[p]);
    return { weight: t.weight, mean, cov, ...(t.name ? { name: t.name } : {}) };
  });
  return { dim: d, components };
}

/** The exact law of frame f alone: the same weights, frame means start + f·velocity, covariance std²·I. */
export function frameMarginal(spec: SequenceSpec, f: number): MixtureSpec {
  const fs = frameSize(spec.shape);
  const cov = Array.from({ length: fs }, (_, i) => Array.from({ length: fs }, (_, j) => (i === j ? spec.std ** 2 : 0)));
  return {
    dim: fs,
    components: spec.trajectories.map((t) => ({ weight: t.weight, mean: t.start.map((v, i) => v + f * t.velocity[i]), cov, ...(t.name ? { name: t.name } : {}) })),
  };
}
