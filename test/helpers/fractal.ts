import type { MixtureSpec, MixtureTriple } from '../../src/models/gmm-spec.js';

/**
 * A 2-D fractal tree of thin components: each branch is one Gaussian stretched along it (variance
 * (len/2)²/3 along, (0.05·widen)² across), two children at ±0.5 rad with 0.7× the length, `depth` levels
 * (2^(depth+1) − 1 components). Weights ∝ len^power, so power ≠ 1 moves mass between trunk and twigs.
 */
export function fractalTree(depth: number, widen: number, power: number): MixtureSpec {
  const components: { weight: number; mean: number[]; cov: number[][] }[] = [];
  const grow = (x: number, y: number, angle: number, len: number, level: number): void => {
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    const [x2, y2] = [x + len * c, y + len * s];
    const along = (len / 2) ** 2 / 3;
    const across = (0.05 * widen) ** 2;
    components.push({
      weight: len ** power,
      mean: [(x + x2) / 2, (y + y2) / 2],
      cov: [
        [along * c * c + across * s * s, (along - across) * c * s],
        [(along - across) * c * s, along * s * s + across * c * c],
      ],
    });
    if (level > 0) {
      grow(x2, y2, angle + 0.5, len * 0.7, level - 1);
      grow(x2, y2, angle - 0.5, len * 0.7, level - 1);
    }
  };
  grow(0, -4, Math.PI / 2, 3, depth);
  const total = components.reduce((a, k) => a + k.weight, 0);
  return { dim: 2, components: components.map((k) => ({ ...k, weight: k.weight / total })) };
}

/**
 * Where blur and collapse pull apart: the strong model is 1.5× too wide and over-weights long branches
 * (len^1.5), the weak one is 4× too wide and over-weights twigs (len^0.5). Moving toward the weak model
 * fixes mass (what a distance sees) at the price of blur; pushing past the strong model sharpens and
 * concentrates (what mean log-likelihood rewards) at the price of coverage.
 */
export function fractalTriple(depth = 5): MixtureTriple {
  return { ideal: fractalTree(depth, 1, 1), strong: fractalTree(depth, 1.5, 1.5), weak: fractalTree(depth, 4, 0.5) };
}
