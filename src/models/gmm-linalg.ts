/**
 * Small dense linear algebra for the analytic mixtures: matrices are row-major Float64Array of n×n.
 * Dimensions are tiny (1–a few dozen), so plain loops are the right tool; everything here runs once per
 * (component, σ) and never inside the per-sample loop.
 */

/** Lower-triangular L with A = L Lᵀ, or null when A is not (numerically) positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        // A relative floor: a pivot that is rounding noise of the diagonal means A is singular in practice.
        if (!(s > 1e-12 * Math.abs(a[i * n + i])) || !Number.isFinite(s)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** log det A from its Cholesky factor. */
export function logDetFromCholesky(l: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(l[i * n + i]);
  return 2 * s;
}

/** A⁻¹ from the Cholesky factor of A (columns solved one by one: forward then back substitution). */
export function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  const y = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
      y[i] = s / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * inv[k * n + c];
      inv[i * n + c] = s / l[i * n + i];
    }
  }
  return inv;
}

export function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}
