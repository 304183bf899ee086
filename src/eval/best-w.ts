/**
 * Choosing a guidance weight. Blur (anti-guidance, w < 1 toward a wide weak model) keeps recall and loses
 * precision; collapse (large w) keeps precision and loses recall. A distance such as sliced W1 can reward
 * blur (it pays for mass in the right place, not for samples off the support), and mean log p_ideal rewards
 * collapse, so neither alone may pick w. Precision and recall (k-NN manifolds) are blind to how mass is split
 * between well-covered modes, so they cannot pick w alone either. The criterion: keep the weights whose
 * min(precision, recall) is within two binomial standard errors of the best (neither failure present beyond
 * sampling noise), and among those take the smallest distance (sliced W1 on the toys, FD on MNIST).
 */
export const BEST_W_CRITERION =
  'largest min(precision, recall) against ideal samples up to 2 binomial standard errors, then the smallest distance among those';

export interface Balanced {
  readonly precision: number;
  readonly recall: number;
}

export interface BalancedChoice<T> {
  readonly best: T;
  /** Candidates whose min(precision, recall) was within tolerance of the best. */
  readonly admissible: readonly T[];
  readonly tolerance: number;
}

/**
 * The candidate picked by BEST_W_CRITERION. `count` is how many samples precision and recall were measured
 * on (their standard error), `distance` the tie-break (lower is better).
 */
export function bestBalanced<T>(candidates: readonly T[], metrics: (c: T) => Balanced, distance: (c: T) => number, count: number): BalancedChoice<T> {
  if (candidates.length === 0) throw new Error('best w: no candidates');
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`best w: sample count must be a positive integer, got ${count}`);
  const floor = (c: T) => Math.min(metrics(c).precision, metrics(c).recall);
  const top = Math.max(...candidates.map(floor));
  const tolerance = 2 * Math.sqrt((top * (1 - top)) / count);
  const admissible = candidates.filter((c) => floor(c) >= top - tolerance);
  const best = admissible.reduce((a, b) => (distance(b) < distance(a) ? b : a));
  return { best, admissible, tolerance };
}
