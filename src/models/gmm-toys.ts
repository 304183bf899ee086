import type { ComponentSpec, MixtureSpec, MixtureTriple } from './gmm-spec.js';

/**
 * The paper's toys (§3.2, App. E.1) as exact mixtures. The paper trains small networks and gives no
 * training details, so here the models *are* mixtures that differ only in their mode weights; every
 * component has standard deviation TOY_STD (1.0: modes 8 apart stay well separated, as in the figures).
 *
 * 1-D: modes at −4 and +4. Ideal 50/50; strong puts 42 % on the left mode, weak 25 % (the peak heights
 * of the paper's figure). 2-D: modes at (±4, ±4); ideal 25 % each; strong puts 10 % on the bottom-left
 * mode and 30 % on each other; weak lacks the bottom-left mode (0 %, 1/3 on each other).
 */
export const TOY_STD = 1.0;
export const TOY_OFFSET = 4;

export const TOY1D = { idealLeft: 0.5, strongLeft: 0.42, weakLeft: 0.25 } as const;
export const TOY2D = { idealBottomLeft: 0.25, strongBottomLeft: 0.1, weakBottomLeft: 0 } as const;

function iso(dim: number, std: number): number[][] {
  return Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => (i === j ? std * std : 0)));
}

function mixture1d(left: number): MixtureSpec {
  checkMass(left, 'left-mode mass');
  const comp = (weight: number, m: number, name: string): ComponentSpec => ({ weight, mean: [m], cov: iso(1, TOY_STD), name });
  return { dim: 1, components: [comp(left, -TOY_OFFSET, 'left'), comp(1 - left, TOY_OFFSET, 'right')] };
}

/** Bottom-left gets `bottomLeft`, the other three modes share the rest equally. */
function mixture2d(bottomLeft: number): MixtureSpec {
  checkMass(bottomLeft, 'bottom-left mass');
  const rest = (1 - bottomLeft) / 3;
  const a = TOY_OFFSET;
  const comp = (weight: number, mean: number[], name: string): ComponentSpec => ({ weight, mean, cov: iso(2, TOY_STD), name });
  return {
    dim: 2,
    components: [
      comp(bottomLeft, [-a, -a], 'bottom-left'),
      comp(rest, [a, -a], 'bottom-right'),
      comp(rest, [-a, a], 'top-left'),
      comp(rest, [a, a], 'top-right'),
    ],
  };
}

function checkMass(m: number, what: string): void {
  if (!Number.isFinite(m) || m < 0 || m > 1) throw new RangeError(`${what} must be a number in [0, 1], got ${m}`);
}

/**
 * The toy triple for `dim`. `weakMass` overrides the weak model's mass on the under-weighted mode
 * (the gap sweep): equal to the strong model's value it gives the zero gap, above it a reversed gap.
 */
export function toyMixtures(dim: 1 | 2, weakMass?: number): MixtureTriple {
  if (dim === 1) {
    return { ideal: mixture1d(TOY1D.idealLeft), strong: mixture1d(TOY1D.strongLeft), weak: mixture1d(weakMass ?? TOY1D.weakLeft) };
  }
  return {
    ideal: mixture2d(TOY2D.idealBottomLeft),
    strong: mixture2d(TOY2D.strongBottomLeft),
    weak: mixture2d(weakMass ?? TOY2D.weakBottomLeft),
  };
}

/** The mode the weak model misses (index into the ideal's components) and the strong model's mass on it. */
export function toyTarget(dim: 1 | 2): { mode: number; strongMass: number; idealMass: number } {
  return dim === 1
    ? { mode: 0, strongMass: TOY1D.strongLeft, idealMass: TOY1D.idealLeft }
    : { mode: 0, strongMass: TOY2D.strongBottomLeft, idealMass: TOY2D.idealBottomLeft };
}
