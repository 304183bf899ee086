import type { ComponentSpec, MixtureSpec, MixtureTriple } from '../models/gmm-spec.js';

/** Edits on one component of a mixture; each returns a new mixture whose weights still sum to one. */
export type Which = keyof MixtureTriple;

function replace(m: MixtureSpec, k: number, c: ComponentSpec): MixtureSpec {
  return { dim: m.dim, components: m.components.map((old, i) => (i === k ? c : old)) };
}

export function moveMean(m: MixtureSpec, k: number, mean: readonly number[]): MixtureSpec {
  return replace(m, k, { ...m.components[k], mean: [...mean] });
}

/**
 * Sets component k's weight to w (clamped to [0, 1]) and rescales the others so the total stays one; when
 * the others have no mass left to scale, it is shared equally among them.
 */
export function setWeight(m: MixtureSpec, k: number, w: number): MixtureSpec {
  const n = m.components.length;
  if (n === 1) return m;
  const target = Math.min(1, Math.max(0, w));
  const rest = m.components.reduce((s, c, i) => (i === k ? s : s + c.weight), 0);
  const components = m.components.map((c, i) => {
    if (i === k) return { ...c, weight: target };
    const share = rest > 0 ? c.weight / rest : 1 / (n - 1);
    return { ...c, weight: (1 - target) * share };
  });
  return { dim: m.dim, components };
}

/** The component's spread as one number: the square root of its covariance's mean diagonal. */
export function spreadOf(c: ComponentSpec): number {
  const d = c.cov.length;
  let s = 0;
  for (let i = 0; i < d; i++) s += c.cov[i][i];
  return Math.sqrt(s / d);
}

/** Scales the covariance so spreadOf becomes `std` (shape and orientation kept). */
export function setSpread(m: MixtureSpec, k: number, std: number): MixtureSpec {
  if (!(std > 0) || !Number.isFinite(std)) throw new RangeError(`spread must be a finite number > 0, got ${std}`);
  const c = m.components[k];
  const f = (std / spreadOf(c)) ** 2;
  return replace(m, k, { ...c, cov: c.cov.map((row) => row.map((v) => v * f)) });
}

export function withModel(t: MixtureTriple, which: Which, m: MixtureSpec): MixtureTriple {
  return { ...t, [which]: m };
}
