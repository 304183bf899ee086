/**
 * Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019). Each feature set defines a manifold:
 * the union of balls around its points, each ball reaching that point's k-th nearest neighbour within
 * the same set. Precision is the share of generated samples inside the real manifold (fidelity); recall is
 * the share of real samples inside the generated manifold (coverage). The paper uses k = 3.
 * Exact O(N²·D) neighbour search: fine for the few thousand samples of the lab.
 */
export interface PrecisionRecall {
  readonly precision: number;
  readonly recall: number;
  readonly k: number;
}

/** A point set with each point's k-th-neighbour radius: one side of the comparison, reusable across many. */
export interface Manifold {
  readonly points: Float32Array;
  readonly n: number;
  readonly dim: number;
  readonly k: number;
  /** Squared k-th-neighbour distances. */
  readonly radii: Float64Array;
}

export function manifold(points: Float32Array, dim: number, k = 3, what = 'features'): Manifold {
  const n = rows(points, dim, what);
  if (!Number.isInteger(k) || k < 1) throw new Error(`precision/recall: k = ${k} must be a positive integer`);
  if (n <= k) throw new Error(`precision/recall: each set needs more than k = ${k} rows (got ${n} ${what})`);
  return { points, n, dim, k, radii: kthNeighbourDistances(points, n, dim, k) };
}

/** Precision and recall of `generated` against a prepared real manifold (its radii computed once). */
export function precisionRecallOf(real: Manifold, generated: Manifold): PrecisionRecall {
  if (real.dim !== generated.dim || real.k !== generated.k) throw new Error(`precision/recall: sets differ in dimension or k (${real.dim}/${generated.dim}, ${real.k}/${generated.k})`);
  return {
    precision: coveredShare(generated.points, generated.n, real.points, real.n, real.radii, real.dim),
    recall: coveredShare(real.points, real.n, generated.points, generated.n, generated.radii, real.dim),
    k: real.k,
  };
}

export function precisionRecall(real: Float32Array, generated: Float32Array, dim: number, k = 3): PrecisionRecall {
  if (!Number.isInteger(k) || k < 1) throw new Error(`precision/recall: k = ${k} must be a positive integer`);
  const realRows = rows(real, dim, 'real features');
  const genRows = rows(generated, dim, 'generated features');
  if (realRows <= k || genRows <= k) throw new Error(`precision/recall: each set needs more than k = ${k} rows (got ${realRows} real, ${genRows} generated)`);
  return precisionRecallOf(manifold(real, dim, k, 'real'), manifold(generated, dim, k, 'generated'));
}

function rows(x: Float32Array, dim: number, what: string): number {
  if (!Number.isInteger(dim) || dim <= 0 || x.length % dim !== 0) throw new Error(`${what}: ${x.length} values are not rows of ${dim}`);
  return x.length / dim;
}

function squaredDistance(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  const ai = i * dim;
  const bj = j * dim;
  for (let d = 0; d < dim; d++) {
    const diff = a[ai + d] - b[bj + d];
    s += diff * diff;
  }
  return s;
}

/** Squared distance from each row to its k-th nearest other row. */
export function kthNeighbourDistances(x: Float32Array, n: number, dim: number, k: number): Float64Array {
  const out = new Float64Array(n);
  const best = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = squaredDistance(x, i, x, j, dim);
      if (d >= best[k - 1]) continue;
      // insertion into the sorted list of the k smallest
      let p = k - 1;
      while (p > 0 && best[p - 1] > d) {
        best[p] = best[p - 1];
        p--;
      }
      best[p] = d;
    }
    out[i] = best[k - 1];
  }
  return out;
}

function coveredShare(query: Float32Array, nq: number, ref: Float32Array, nr: number, radii: Float64Array, dim: number): number {
  let inside = 0;
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nr; j++) {
      if (squaredDistance(query, i, ref, j, dim) <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / nq;
}
