import type { Tensor } from '../../core/tensor.js';
import type { Denoiser, Sampler, Schedule } from '../../core/types.js';
import { startOf } from '../../core/schedules/walk.js';

/**
 * Paper App. E.1: per timestep, the cosine between the estimable weak-to-strong difference
 * Δ1 = ε_s − ε_w and the unobservable strong-to-ideal difference Δ2 = ε_ideal − ε_s, taken along the strong
 * model's own sampling path. W2SD rests on Δ1 ≈ Δ2; a cosine near 0 or below says the pair cannot help.
 * In σ space ε = (x − D)/σ, so Δ1 ∝ D_w − D_s and Δ2 ∝ D_s − D_ideal with the same positive factor 1/σ.
 */
export interface CosinePoint {
  readonly step: number;
  readonly sigma: number;
  readonly timestep: number;
  /** Mean over samples of the per-sample cosine. */
  readonly meanCosine: number;
  /** Share of samples with a positive cosine. */
  readonly positive: number;
  /** Mean ‖Δ1‖ and ‖Δ2‖ per sample in ε units, to show where the differences are large. */
  readonly normWeakToStrong: number;
  readonly normStrongToIdeal: number;
}

export interface CosineLegs {
  readonly strong: Denoiser;
  readonly weak: Denoiser;
  readonly ideal: Denoiser;
}

/** Runs the sampler with `legs.strong` on x and records the cosine curve before each step. */
export async function cosineCurve(legs: CosineLegs, sampler: Sampler, x: Tensor, s: Schedule): Promise<CosinePoint[]> {
  const points: CosinePoint[] = [];
  const batch = x.shape[0];
  const per = x.data.length / batch;
  await sampler(legs.strong, x, s, {
    beforeStep: async (xi, i) => {
      const at = startOf(s, i);
      const [ds, dw, di] = await Promise.all([legs.strong(xi, at), legs.weak(xi, at), legs.ideal(xi, at)]);
      let sumCos = 0;
      let positive = 0;
      let n1 = 0;
      let n2 = 0;
      for (let b = 0; b < batch; b++) {
        let dot = 0;
        let a2 = 0;
        let b2 = 0;
        for (let j = b * per; j < (b + 1) * per; j++) {
          const d1 = dw[j] - ds[j];
          const d2 = ds[j] - di[j];
          dot += d1 * d2;
          a2 += d1 * d1;
          b2 += d2 * d2;
        }
        const c = a2 > 0 && b2 > 0 ? dot / Math.sqrt(a2 * b2) : 0;
        sumCos += c;
        if (c > 0) positive++;
        n1 += Math.sqrt(a2) / at.sigma;
        n2 += Math.sqrt(b2) / at.sigma;
      }
      points.push({
        step: i,
        sigma: at.sigma,
        timestep: at.timestep,
        meanCosine: sumCos / batch,
        positive: positive / batch,
        normWeakToStrong: n1 / batch,
        normStrongToIdeal: n2 / batch,
      });
      return xi.data;
    },
  });
  return points;
}

/** Averages curves from several batches (weighted by batch size). */
export function mergeCurves(curves: readonly { points: CosinePoint[]; weight: number }[]): CosinePoint[] {
  if (curves.length === 0) return [];
  const total = curves.reduce((w, c) => w + c.weight, 0);
  return curves[0].points.map((p, k) => {
    const avg = (f: (q: CosinePoint) => number) => curves.reduce((s, c) => s + f(c.points[k]) * c.weight, 0) / total;
    return { ...p, meanCosine: avg((q) => q.meanCosine), positive: avg((q) => q.positive), normWeakToStrong: avg((q) => q.normWeakToStrong), normStrongToIdeal: avg((q) => q.normStrongToIdeal) };
  });
}
