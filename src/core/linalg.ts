/**
 * Small dense linear algebra in float64 (row-major n × n Float64Arrays): what the analytic mixtures (Cholesky,
 * once per component and σ) and the Fréchet distance (symmetric eigendecomposition, n ≤ a few hundred) need.
 * Plain loops are the right tool at these sizes.
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

export interface Eigen {
  /** Eigenvalues, unsorted. */
  readonly values: Float64Array;
  /** Eigenvectors as columns: vectors[i * n + k] is component i of eigenvector k. */
  readonly vectors: Float64Array;
}

/**
 * Cyclic Jacobi rotations: slow (O(n³) per sweep) but unconditionally stable and accurate to working
 * precision for symmetric input, which is all the Fréchet distance needs at D ≤ a few hundred.
 */
export function symmetricEigen(matrix: Float64Array, n: number, maxSweeps = 100): Eigen {
  if (matrix.length !== n * n) throw new Error(`symmetricEigen: ${matrix.length} values are not a ${n} × ${n} matrix`);
  const a = Float64Array.from(matrix);
  let scale = 0;
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(a[i])) throw new Error(`symmetricEigen: non-finite entry ${a[i]} at (${Math.floor(i / n)}, ${i % n})`);
    scale = Math.max(scale, Math.abs(a[i]));
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-9 * Math.max(1, scale)) {
        throw new Error(`symmetricEigen: matrix is not symmetric at (${i}, ${j}): ${a[i * n + j]} vs ${a[j * n + i]}`);
      }
    }
  }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
    if (off <= 1e-30 * Math.max(1, scale * scale) || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // rotation angle that zeroes a[p][q]; the small root of t² + 2θt − 1 = 0 keeps |angle| ≤ π/4
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * Principal square root of a symmetric positive semi-definite matrix. Eigenvalues that rounding pushed
 * slightly below zero are clamped; clearly negative ones mean the input is not a covariance and are an error.
 */
export function sqrtPsd(matrix: Float64Array, n: number, what = 'matrix'): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const largest = Math.max(0, ...values);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    let lambda = values[k];
    if (lambda < 0) {
      if (lambda < -1e-6 * Math.max(1, largest)) throw new Error(`${what}: eigenvalue ${lambda} < 0, not positive semi-definite`);
      lambda = 0;
    }
    const r = Math.sqrt(lambda);
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * r;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

export function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i];
  return t;
}
