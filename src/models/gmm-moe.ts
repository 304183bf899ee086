import type { Denoiser } from '../core/types.js';
import { GaussianMixture, veDenoiser } from './gmm.js';
import type { MixtureSpec } from './gmm-spec.js';

/**
 * A mixture-of-experts denoiser whose experts and router are exact: expert e is a Gaussian mixture with
 * prior π_e, and the router weighs the experts by their posterior given the noisy point,
 * g_e(x; σ) ∝ π_e p_{e,σ}(x) — what a perfectly trained gate would learn. With every expert used,
 * Σ_e g_e D_e(x; σ) is the exact posterior mean of the mixture Σ_e π_e p_e (the law of total expectation).
 *
 * Routing restricts the sum to k experts per row and renormalises their gate weights, as a top-k MoE
 * layer does: `top` keeps the k largest g_e (how the network runs: the strong leg), `bottom` the k
 * smallest (W2SD's weak leg, paper §5.4 "bad experts").
 */
export type Routing = { readonly kind: 'all' } | { readonly kind: 'top' | 'bottom'; readonly k: number };

export interface ExpertSpec {
  readonly prior: number;
  readonly mixture: MixtureSpec;
  readonly name?: string;
}

export class MixtureOfExperts {
  readonly experts: readonly GaussianMixture[];
  readonly priors: Float64Array;
  readonly dim: number;
  readonly names: readonly string[];

  constructor(specs: readonly ExpertSpec[]) {
    if (specs.length < 2) throw new RangeError(`MixtureOfExperts: needs at least 2 experts, got ${specs.length}`);
    this.experts = specs.map((s) => new GaussianMixture(s.mixture));
    this.dim = this.experts[0].dim;
    this.experts.forEach((e, i) => {
      if (e.dim !== this.dim) throw new RangeError(`MixtureOfExperts: expert ${i} has dimension ${e.dim}, expert 0 has ${this.dim}`);
    });
    const sum = specs.reduce((a, s) => a + s.prior, 0);
    specs.forEach((s, i) => {
      if (!(s.prior > 0) || !Number.isFinite(s.prior)) throw new RangeError(`MixtureOfExperts: expert ${i} prior must be > 0, got ${s.prior}`);
    });
    if (Math.abs(sum - 1) > 1e-6) throw new RangeError(`MixtureOfExperts: priors must sum to 1, they sum to ${sum}`);
    this.priors = Float64Array.from(specs, (s) => s.prior);
    this.names = specs.map((s, i) => s.name ?? `expert ${i}`);
  }

  get size(): number {
    return this.experts.length;
  }

  /** Gate weights g_e(x; σ), [B, E], each row summing to 1. */
  gates(x: Float32Array | Float64Array, sigma: number): Float64Array {
    const e = this.size;
    const logs = this.experts.map((m, i) => {
      const lp = m.logDensity(x, sigma);
      for (let b = 0; b < lp.length; b++) lp[b] += Math.log(this.priors[i]);
      return lp;
    });
    const rows = logs[0].length;
    const g = new Float64Array(rows * e);
    for (let b = 0; b < rows; b++) {
      let max = -Infinity;
      for (let i = 0; i < e; i++) max = Math.max(max, logs[i][b]);
      let z = 0;
      for (let i = 0; i < e; i++) z += g[b * e + i] = Math.exp(logs[i][b] - max);
      for (let i = 0; i < e; i++) g[b * e + i] /= z;
    }
    return g;
  }

  /** Which experts each row uses under `routing`, as a 0/1 mask [B, E] (ties broken by expert index). */
  chosen(gates: Float64Array, routing: Routing): Uint8Array {
    const e = this.size;
    const mask = new Uint8Array(gates.length);
    if (routing.kind === 'all') return mask.fill(1);
    checkK(routing.k, e);
    const order = Array.from({ length: e }, (_, i) => i);
    const sign = routing.kind === 'top' ? -1 : 1;
    for (let b = 0; b < gates.length / e; b++) {
      order.sort((i, j) => sign * (gates[b * e + i] - gates[b * e + j]) || i - j);
      for (let r = 0; r < routing.k; r++) mask[b * e + order[r]] = 1;
    }
    return mask;
  }

  /** Σ over the chosen experts of g_e D_e(x; σ), divided by the chosen gates' sum; [B, dim]. */
  denoise(x: Float32Array | Float64Array, sigma: number, routing: Routing): Float32Array {
    const e = this.size;
    const d = this.dim;
    const g = this.gates(x, sigma);
    const mask = this.chosen(g, routing);
    const outs = this.experts.map((m) => m.denoise(x, sigma));
    const out = new Float32Array(x.length);
    for (let b = 0; b < g.length / e; b++) {
      let z = 0;
      for (let i = 0; i < e; i++) if (mask[b * e + i]) z += g[b * e + i];
      for (let j = 0; j < d; j++) {
        let acc = 0;
        for (let i = 0; i < e; i++) if (mask[b * e + i]) acc += g[b * e + i] * outs[i][b * d + j];
        // bottom-k can pick experts whose gates all underflow to 0: fall back to their plain average
        out[b * d + j] = z > 0 ? acc / z : averageChosen(outs, mask, b, e, d, j);
      }
    }
    return out;
  }

  denoiser(routing: Routing): Denoiser {
    if (routing.kind !== 'all') checkK(routing.k, this.size);
    return veDenoiser((x, sigma) => this.denoise(x, sigma, routing), this.dim, `MoE denoiser (${describeRouting(routing)})`);
  }
}

function averageChosen(outs: readonly Float32Array[], mask: Uint8Array, b: number, e: number, d: number, j: number): number {
  let acc = 0;
  let n = 0;
  for (let i = 0; i < e; i++) {
    if (mask[b * e + i]) {
      acc += outs[i][b * d + j];
      n++;
    }
  }
  return acc / n;
}

function checkK(k: number, experts: number): void {
  if (!Number.isInteger(k) || k < 1 || k > experts) throw new RangeError(`MoE routing: k must be an integer in 1..${experts}, got ${k}`);
}

export function describeRouting(r: Routing): string {
  return r.kind === 'all' ? 'all experts' : `${r.kind}-${r.k}`;
}
