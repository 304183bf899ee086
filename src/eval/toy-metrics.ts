import type { GaussianMixture } from '../models/gmm.js';
import { manifold, precisionRecallOf, type Manifold } from './precision-recall.js';
import { sliceDirections, slicedWasserstein1, sortedProjections } from './wasserstein.js';

/** Directions for the sliced distance in dim ≥ 2. */
export const SLICES = 64;
/** The outlier threshold is this quantile of the ideal's own log-density. */
export const OUTLIER_QUANTILE = 0.01;
/** Precision/recall (exact k-NN, O(n²)) use this many samples of each set, and k = 3 as Kynkäänniemi et al. */
export const PR_SAMPLES = 2000;
export const PR_K = 3;

/** What every sample set is compared with: the ideal mixture and an exact sample set drawn from it. */
export interface ToyReference {
  readonly ideal: GaussianMixture;
  readonly samples: Float32Array;
  /** The ideal's 1 % log-density quantile, estimated on `samples`. */
  readonly outlierLogDensity: number;
  readonly directions: Float64Array;
  readonly projections: readonly Float64Array[];
  /** The first PR_SAMPLES reference samples as a k-NN manifold (the "real" side of precision/recall). */
  readonly manifold: Manifold;
}

export interface ToyMetrics {
  readonly n: number;
  /** Share of samples per ideal mode (assigned by the ideal's responsibilities at σ = 0). */
  readonly modeMass: number[];
  /** Mean of log p_ideal(x). */
  readonly meanLogLik: number;
  /** Share of samples with log p_ideal below the ideal's 1 % quantile (1 % for exact samples). */
  readonly outlierRate: number;
  /** Sliced 1-Wasserstein distance to the ideal reference set (exact W1 in 1-D). */
  readonly slicedW1: number;
  /** Per ideal mode: the mean of the samples assigned to it (NaN for an empty mode). */
  readonly modeMean: number[][];
  /** Per ideal mode: Euclidean distance of that mean from the ideal component's mean μ_k. */
  readonly modeShift: number[];
  /**
   * Per ideal mode: RMS distance of its samples from their mean, per dimension, divided by the ideal
   * component's (√(tr Σ_k / d)); 1 for exact samples, below 1 when a method sharpens the mode.
   */
  readonly modeSpread: number[];
  /**
   * Improved precision and recall (Kynkäänniemi et al. 2019, k = 3) against ideal samples, on the first
   * PR_SAMPLES of each set: precision falls when samples leave the ideal's support (blur), recall when they
   * leave parts of it empty (collapse).
   */
  readonly precision: number;
  readonly recall: number;
}

/** The index of the largest of `count` values starting at `offset` (first on ties). */
function argmax(v: Float64Array, offset: number, count: number): number {
  let best = 0;
  for (let k = 1; k < count; k++) if (v[offset + k] > v[offset + best]) best = k;
  return best;
}

/** The q-quantile of values (linear interpolation between order statistics). */
export function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) throw new Error('quantile: no values');
  const s = Float64Array.from(values).sort();
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (pos - lo) * (s[hi] - s[lo]);
}

/** The first PR_SAMPLES points, as float32. */
function prefix(samples: Float32Array | Float64Array, dim: number): Float32Array {
  return Float32Array.from(samples.subarray(0, Math.min(PR_SAMPLES * dim, samples.length)));
}

export function toyReference(ideal: GaussianMixture, samples: Float32Array): ToyReference {
  if (samples.length === 0 || samples.length % ideal.dim !== 0) {
    throw new Error(`toyReference: ${samples.length} values are not a non-empty batch of ${ideal.dim}-dimensional points`);
  }
  const directions = sliceDirections(ideal.dim, SLICES);
  return {
    ideal,
    samples,
    outlierLogDensity: quantile(ideal.logDensity(samples), OUTLIER_QUANTILE),
    directions,
    projections: sortedProjections(samples, ideal.dim, directions),
    manifold: manifold(prefix(samples, ideal.dim), ideal.dim, PR_K, 'reference samples'),
  };
}

/** Every toy metric of a [n, dim] sample set against the reference. */
export function toyMetrics(ref: ToyReference, samples: Float32Array | Float64Array): ToyMetrics {
  const ideal = ref.ideal;
  const d = ideal.dim;
  const k = ideal.size;
  const n = samples.length / d;
  if (!Number.isInteger(n) || n === 0) throw new Error(`toyMetrics: ${samples.length} values are not a non-empty batch of ${d}-dimensional points`);
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) throw new Error(`toyMetrics: non-finite sample value ${samples[i]} at index ${i}`);
  }
  const logp = ideal.logDensity(samples);
  const resp = ideal.responsibilities(samples);
  const count = new Float64Array(k);
  const sum = new Float64Array(k * d);
  const assigned = new Int32Array(n);
  let ll = 0;
  let outliers = 0;
  for (let s = 0; s < n; s++) {
    ll += logp[s];
    if (logp[s] < ref.outlierLogDensity) outliers++;
    const m = argmax(resp, s * k, k);
    assigned[s] = m;
    count[m]++;
    for (let i = 0; i < d; i++) sum[m * d + i] += samples[s * d + i];
  }
  const modeMean: number[][] = [];
  const modeShift: number[] = [];
  for (let m = 0; m < k; m++) {
    const mean = Array.from({ length: d }, (_, i) => (count[m] > 0 ? sum[m * d + i] / count[m] : NaN));
    const mu = ideal.componentMean(m);
    modeMean.push(mean);
    modeShift.push(Math.hypot(...mean.map((v, i) => v - mu[i])));
  }
  const sq = new Float64Array(k);
  for (let s = 0; s < n; s++) {
    const m = assigned[s];
    for (let i = 0; i < d; i++) sq[m] += (samples[s * d + i] - modeMean[m][i]) ** 2;
  }
  const pr = precisionRecallOf(ref.manifold, manifold(prefix(samples, d), d, PR_K, 'samples'));
  const modeSpread = Array.from(sq, (v, m) => {
    let tr = 0;
    for (let i = 0; i < d; i++) tr += ideal.covs[m * d * d + i * d + i];
    return count[m] > 0 ? Math.sqrt(v / count[m] / d) / Math.sqrt(tr / d) : NaN;
  });
  return {
    n,
    modeMass: Array.from(count, (c) => c / n),
    meanLogLik: ll / n,
    outlierRate: outliers / n,
    slicedW1: slicedWasserstein1(sortedProjections(samples, d, ref.directions), ref.projections),
    modeMean,
    modeShift,
    modeSpread,
    precision: pr.precision,
    recall: pr.recall,
  };
}
