#!/usr/bin/env node
/**
 * Writes a fractal-tree-like toy mixture file for `w2sd toy --mixture`: a binary tree of branches in 2-D,
 * each branch one thin Gaussian (long along the branch, 40× narrower across), weights ∝ branch length.
 * The strong model blurs every branch a little and under-weights the deepest twigs; the weak model blurs
 * more and under-weights them more (the gap W2SD reflects along).
 *
 *   node tools/fractal-mixture.mjs --components 1000 --out fractal.json
 */
import { writeFileSync } from 'node:fs';

export function fractalMixture(components) {
  if (!Number.isInteger(components) || components < 1) throw new Error(`components: expected a positive integer, got ${components}`);
  const branches = [];
  // breadth first from the trunk; each branch spawns two shorter ones at ±25° (turned a little per depth)
  const queue = [{ x: 0, y: -8, angle: Math.PI / 2, length: 6, depth: 0 }];
  while (branches.length < components) {
    const b = queue.shift();
    const ex = b.x + b.length * Math.cos(b.angle);
    const ey = b.y + b.length * Math.sin(b.angle);
    branches.push({ ...b, mx: (b.x + ex) / 2, my: (b.y + ey) / 2 });
    for (const turn of [-0.44, 0.44]) queue.push({ x: ex, y: ey, angle: b.angle + turn + 0.03 * b.depth, length: b.length * 0.72, depth: b.depth + 1 });
  }
  const maxDepth = branches[branches.length - 1].depth;
  const mixture = (blur, deepLoss) => ({
    components: branches.map((b) => {
      const along = (b.length / 4) ** 2 + blur;
      const across = (b.length / 160) ** 2 + blur;
      const c = Math.cos(b.angle);
      const s = Math.sin(b.angle);
      const cov = [
        [along * c * c + across * s * s, (along - across) * c * s],
        [(along - across) * c * s, along * s * s + across * c * c],
      ];
      const weight = b.length * (1 - deepLoss * (b.depth / Math.max(1, maxDepth)));
      return { weight, mean: [b.mx, b.my], cov };
    }),
  });
  const normalise = (m) => {
    const total = m.components.reduce((a, c) => a + c.weight, 0);
    for (const c of m.components) c.weight /= total;
    return m;
  };
  return { dim: 2, ideal: normalise(mixture(0, 0)), strong: normalise(mixture(0.002, 0.3)), weak: normalise(mixture(0.01, 0.6)) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : dflt;
  };
  const n = Number(arg('--components', '1000'));
  const out = arg('--out', 'fractal-mixture.json');
  writeFileSync(out, JSON.stringify(fractalMixture(n)));
  process.stdout.write(`wrote ${out} (${n} components per mixture)\n`);
}
