/** Class-level statistics of generated images, read off an evaluation classifier's logits. */

export function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  if (!Number.isInteger(classes) || classes <= 0 || logits.length % classes !== 0) {
    throw new Error(`logits: ${logits.length} values are not rows of ${classes} classes`);
  }
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

/** Share of samples the classifier assigns to the class they were generated for. */
export function classAccuracy(predicted: Int32Array, intended: ArrayLike<number>): number {
  if (predicted.length !== intended.length) throw new Error(`class accuracy: ${predicted.length} predictions for ${intended.length} intended labels`);
  if (predicted.length === 0) throw new Error('class accuracy: no samples');
  let hits = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === intended[i]) hits++;
  return hits / predicted.length;
}

export interface PairShare {
  /** Share of all samples classified as the minority class (ideal 0.5 for a balanced pair). */
  readonly minority: number;
  readonly majority: number;
  /** Share classified as neither class of the pair (off-distribution samples). */
  readonly other: number;
  /** Minority among the samples classified as either class: the paper's horse:car reading (NaN if none). */
  readonly ofPair: number;
  readonly count: number;
}

/**
 * Where samples of an unconditional two-class model land. Both readings are kept: the share among samples of
 * the pair (`ofPair`, what the paper's class ratio means) and the shares over *all* samples with `other`, so
 * a method cannot look better by turning majority samples into garbage unnoticed.
 */
export function pairShare(predicted: Int32Array, minorityClass: number, majorityClass: number): PairShare {
  if (predicted.length === 0) throw new Error('minority share: no samples');
  if (minorityClass === majorityClass) throw new Error(`minority share: the two classes must differ (both ${minorityClass})`);
  let minority = 0;
  let majority = 0;
  for (const c of predicted) {
    if (c === minorityClass) minority++;
    else if (c === majorityClass) majority++;
  }
  const n = predicted.length;
  return { minority: minority / n, majority: majority / n, other: (n - minority - majority) / n, ofPair: minority / (minority + majority), count: n };
}

/** Normal-approximation 95 % half-width of a proportion: the error bar the tables print. */
export function proportionHalfWidth(p: number, n: number): number {
  return 1.96 * Math.sqrt(Math.max(p * (1 - p), 0) / n);
}

/** Per-class histogram of predictions (for the per-class table of conditional models). */
export function histogram(predicted: Int32Array, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  for (const c of predicted) out[c]++;
  return out;
}
