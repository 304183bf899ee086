import { matMul, sqrtPsd, symmetricEigen, trace } from '../core/linalg.js';
import { featureStats, type FeatureStats } from './linalg.js';

/**
 * Fréchet distance between Gaussians fitted to two feature sets (the statistic behind FID, Heusel et al.
 * 2017): ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^{1/2}. The cross term is computed as
 * tr (√Σ₁ Σ₂ √Σ₁)^{1/2}, which has the same eigenvalues as (Σ₁Σ₂)^{1/2} but is symmetric, so two symmetric
 * eigendecompositions suffice and no complex parts appear.
 * With features of a small MNIST classifier this is *not* comparable to Inception-based FID numbers.
 */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  if (a.dim !== b.dim) throw new Error(`Fréchet distance: feature dimensions differ (${a.dim} vs ${b.dim})`);
  const n = a.dim;
  let meanTerm = 0;
  for (let i = 0; i < n; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;
  const rootA = sqrtPsd(a.cov, n, 'Fréchet distance: first covariance');
  const middle = matMul(matMul(rootA, b.cov, n), rootA, n);
  // symmetrise against rounding before the eigendecomposition
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const m = 0.5 * (middle[i * n + j] + middle[j * n + i]);
      middle[i * n + j] = m;
      middle[j * n + i] = m;
    }
  }
  const { values } = symmetricEigen(middle, n);
  let crossTrace = 0;
  for (const lambda of values) crossTrace += Math.sqrt(Math.max(0, lambda));
  const d = meanTerm + trace(a.cov, n) + trace(b.cov, n) - 2 * crossTrace;
  // the exact value is ≥ 0; rounding can leave a tiny negative for identical inputs
  return Math.max(0, d);
}

export function frechetFromFeatures(a: Float32Array, b: Float32Array, dim: number): number {
  return frechetDistance(featureStats(a, dim, 'first feature set'), featureStats(b, dim, 'second feature set'));
}
