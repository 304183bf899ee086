import { frechetDistance } from '../../eval/frechet.js';
import { featureStats, type FeatureStats } from '../../eval/linalg.js';
import { gaussian } from '../../core/rng.js';

/**
 * Paired statistics. Every row starts sample i from the same noise, so per-sample outcomes of two rows are
 * paired and their difference has a far smaller standard error than two independent proportions.
 */
export interface PairedDiff {
  readonly diff: number;
  /** 95 % half-width (normal approximation). */
  readonly halfWidth: number;
}

export function pairedProportionDiff(a: Uint8Array, b: Uint8Array): PairedDiff {
  if (a.length !== b.length || a.length < 2) throw new Error(`paired difference: ${a.length} vs ${b.length} outcomes`);
  const n = a.length;
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    sum += d;
    sum2 += d * d;
  }
  const mean = sum / n;
  const variance = (sum2 - n * mean * mean) / (n - 1);
  return { diff: mean, halfWidth: 1.96 * Math.sqrt(Math.max(0, variance) / n) };
}

function resampleStats(features: Float32Array, dim: number, idx: Int32Array): FeatureStats {
  const out = new Float32Array(idx.length * dim);
  for (let r = 0; r < idx.length; r++) out.set(features.subarray(idx[r] * dim, (idx[r] + 1) * dim), r * dim);
  return featureStats(out, dim, 'bootstrap resample');
}

/**
 * Paired bootstrap error bar for FD(a) − FD(b): the same resampled sample indices for both rows (they share
 * noise), drawn deterministically from the project's Philox generator; returns the 95 % half-width.
 */
export function pairedFrechetHalfWidth(a: Float32Array, b: Float32Array, dim: number, ref: FeatureStats, resamples: number, seed = 12345): number | undefined {
  if (resamples < 2) return undefined;
  if (b.length !== a.length) throw new Error('paired FD: rows differ in size');
  const n = a.length / dim;
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const u = gaussian(seed, n, r);
    // a uniform index from a normal draw through its CDF keeps everything on one generator
    const idx = Int32Array.from(u, (z) => Math.min(n - 1, Math.floor(normalCdf(z) * n)));
    diffs.push(frechetDistance(resampleStats(a, dim, idx), ref) - frechetDistance(resampleStats(b, dim, idx), ref));
  }
  const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (diffs.length - 1));
  return 1.96 * sd;
}

/**
 * Minority share among samples of the pair, a − b: the point estimate on all samples, the 95 % half-width
 * from a paired bootstrap (ratios of counts have no simple paired variance). Codes: 1 minority, 0 majority,
 * −1 neither.
 */
export function pairedShareDiff(a: Int8Array, b: Int8Array, resamples = 1000, seed = 4242): PairedDiff {
  if (a.length !== b.length || a.length < 2) throw new Error(`paired share: ${a.length} vs ${b.length} outcomes`);
  const n = a.length;
  const share = (codes: Int8Array, idx?: Int32Array): number => {
    let m = 0;
    let pair = 0;
    for (let k = 0; k < n; k++) {
      const c = codes[idx ? idx[k] : k];
      if (c >= 0) pair++;
      if (c === 1) m++;
    }
    return pair ? m / pair : NaN;
  };
  const diff = share(a) - share(b);
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const u = gaussian(seed, n, r);
    const idx = Int32Array.from(u, (z) => Math.min(n - 1, Math.floor(normalCdf(z) * n)));
    const d = share(a, idx) - share(b, idx);
    if (Number.isFinite(d)) diffs.push(d);
  }
  if (diffs.length < 2) return { diff, halfWidth: NaN };
  const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
  const sd = Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / (diffs.length - 1));
  return { diff, halfWidth: 1.96 * sd };
}

/** Φ(z) by the Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7): plenty for resampling indices. */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
