/**
 * Exact 1-Wasserstein distance between two empirical distributions on the line, given sorted values:
 * ∫₀¹ |F⁻¹(u) − G⁻¹(u)| du, walking the merged quantile breakpoints (sizes may differ).
 */
export function wasserstein1Sorted(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) throw new Error('wasserstein1Sorted: both sample sets must be non-empty');
  let i = 0;
  let j = 0;
  let u = 0;
  let total = 0;
  while (i < n && j < m) {
    const ui = (i + 1) / n;
    const uj = (j + 1) / m;
    const next = Math.min(ui, uj);
    total += (next - u) * Math.abs(a[i] - b[j]);
    u = next;
    if (ui <= next) i++;
    if (uj <= next) j++;
  }
  return total;
}

/**
 * Unit directions for sliced distances: the axis in 1-D, `count` evenly spaced angles over [0, π) in 2-D
 * (deterministic, so the estimate has no Monte Carlo noise from the directions), and fixed pseudo-random
 * directions (Box–Muller over a seeded xorshift) in higher dimensions.
 */
export function sliceDirections(dim: number, count: number): Float64Array {
  if (dim === 1) return Float64Array.of(1);
  const out = new Float64Array(count * dim);
  if (dim === 2) {
    for (let l = 0; l < count; l++) {
      const t = (Math.PI * (l + 0.5)) / count;
      out[2 * l] = Math.cos(t);
      out[2 * l + 1] = Math.sin(t);
    }
    return out;
  }
  let s = 0x9e3779b9 >>> 0;
  const uniform = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  for (let l = 0; l < count; l++) {
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      const g = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      out[l * dim + i] = g;
      norm += g * g;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[l * dim + i] /= norm;
  }
  return out;
}

/** Sorted projections of a [n, dim] batch on each direction: [directions][n]. */
export function sortedProjections(x: Float32Array | Float64Array, dim: number, directions: Float64Array): Float64Array[] {
  const n = x.length / dim;
  const count = directions.length / dim;
  const out: Float64Array[] = [];
  for (let l = 0; l < count; l++) {
    const p = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      let v = 0;
      for (let i = 0; i < dim; i++) v += x[s * dim + i] * directions[l * dim + i];
      p[s] = v;
    }
    out.push(p.sort());
  }
  return out;
}

/** Sliced 1-Wasserstein distance: the mean over directions of W1 between projected samples. */
export function slicedWasserstein1(projA: readonly Float64Array[], projB: readonly Float64Array[]): number {
  if (projA.length !== projB.length) throw new Error('slicedWasserstein1: projections on different direction sets');
  let s = 0;
  for (let l = 0; l < projA.length; l++) s += wasserstein1Sorted(projA[l], projB[l]);
  return s / projA.length;
}
