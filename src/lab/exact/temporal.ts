import { GaussianMixture } from '../../models/gmm.js';
import { frameMarginal, frameOf, frameSize, type SequenceSpec } from '../../models/gmm-sequence.js';

/** Per-frame and temporal measurements of a set of clips against the ideal sequence mixture. */
export interface TemporalMetrics {
  /** [frame][mode]: share of clips whose frame f is assigned to each mode by that frame's exact marginal. */
  readonly frameMass: number[][];
  /** Share of clips whose frames are all assigned to the same mode (the clip keeps its identity). */
  readonly consistency: number;
  /** Lag-1 correlation of the deviations from the assigned trajectory's mean (ideal: the mixture's ρ). */
  readonly lag1: number;
  /** Mean squared second difference per value, x_{f+1} − 2x_f + x_{f−1} (motion smoothness; lower is smoother). */
  readonly roughness: number;
}

/** E[(x_{f+1} − 2x_f + x_{f−1})²] of one AR(1) coordinate with variance std² and lag-1 correlation ρ (linear means cancel). */
export function expectedRoughness(std: number, rho: number): number {
  return std * std * (6 - 8 * rho + 2 * rho * rho);
}

function argmaxRow(v: Float64Array, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (v[offset + j] > v[offset + best]) best = j;
  return best;
}

export function temporalMetrics(ideal: SequenceSpec, clips: Float32Array): TemporalMetrics {
  const s = ideal.shape;
  const f = s.frames;
  const fs = frameSize(s);
  const d = fs * f;
  const n = clips.length / d;
  if (!Number.isInteger(n) || n === 0) throw new Error(`temporalMetrics: ${clips.length} values are not a non-empty batch of ${d}-value clips`);
  const k = ideal.trajectories.length;
  // frame-by-frame assignment through the exact per-frame marginals
  const frames = new Float32Array(n * fs);
  const assigned = new Int32Array(n * f);
  const frameMass: number[][] = [];
  const scratch = new Float64Array(fs);
  for (let t = 0; t < f; t++) {
    for (let b = 0; b < n; b++) frames.set(frameOf(s, clips, b * d, t, scratch), b * fs);
    const resp = new GaussianMixture(frameMarginal(ideal, t)).responsibilities(frames);
    const mass = new Array<number>(k).fill(0);
    for (let b = 0; b < n; b++) {
      const m = argmaxRow(resp, b * k, k);
      assigned[b * f + t] = m;
      mass[m] += 1 / n;
    }
    frameMass.push(mass);
  }
  let same = 0;
  for (let b = 0; b < n; b++) {
    let ok = true;
    for (let t = 1; t < f; t++) ok &&= assigned[b * f + t] === assigned[b * f];
    if (ok) same++;
  }
  // deviations from the trajectory of the clip's frame-0 mode, in every frame
  let cross = 0;
  let lead = 0;
  let lag = 0;
  let rough = 0;
  let roughCount = 0;
  const dev = new Float64Array(f * fs);
  for (let b = 0; b < n; b++) {
    const tr = ideal.trajectories[assigned[b * f]];
    for (let t = 0; t < f; t++) {
      frameOf(s, clips, b * d, t, scratch);
      for (let p = 0; p < fs; p++) dev[t * fs + p] = scratch[p] - tr.start[p] - t * tr.velocity[p];
    }
    for (let t = 0; t + 1 < f; t++) {
      for (let p = 0; p < fs; p++) {
        cross += dev[t * fs + p] * dev[(t + 1) * fs + p];
        lead += dev[t * fs + p] ** 2;
        lag += dev[(t + 1) * fs + p] ** 2;
      }
    }
    for (let t = 1; t + 1 < f; t++) {
      for (let p = 0; p < fs; p++) {
        rough += (dev[(t + 1) * fs + p] - 2 * dev[t * fs + p] + dev[(t - 1) * fs + p]) ** 2;
        roughCount++;
      }
    }
  }
  return { frameMass, consistency: same / n, lag1: cross / Math.sqrt(lead * lag), roughness: rough / roughCount };
}
