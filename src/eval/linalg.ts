/** Feature statistics for the Fréchet distance, in float64 (row-major n × n covariance). */

export interface FeatureStats {
  readonly dim: number;
  readonly count: number;
  readonly mean: Float64Array;
  /** Unbiased (n − 1) covariance, as numpy's `cov` and pytorch-fid use. */
  readonly cov: Float64Array;
}

/** Mean and covariance of `count` feature rows of length `dim`. */
export function featureStats(features: Float32Array | Float64Array, dim: number, what = 'features'): FeatureStats {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`${what}: dimension ${dim} must be a positive integer`);
  if (features.length % dim !== 0) throw new Error(`${what}: ${features.length} values are not rows of ${dim}`);
  const count = features.length / dim;
  if (count < 2) throw new Error(`${what}: a covariance needs at least 2 rows, got ${count}`);
  const mean = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= count;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let r = 0; r < count; r++) {
    for (let j = 0; j < dim; j++) {
      const v = features[r * dim + j];
      if (!Number.isFinite(v)) throw new Error(`${what}: non-finite value ${v} in row ${r}`);
      centred[j] = v - mean[j];
    }
    for (let i = 0; i < dim; i++) {
      const ci = centred[i];
      const row = i * dim;
      for (let j = i; j < dim; j++) cov[row + j] += ci * centred[j];
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = cov[i * dim + j] / (count - 1);
      cov[i * dim + j] = v;
      cov[j * dim + i] = v;
    }
  }
  return { dim, count, mean, cov };
}
