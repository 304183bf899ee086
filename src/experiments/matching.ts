import { ddimSchedule, eulerSchedule, type Schedule, type SchedulerConfig } from '../core/index.js';

/*
 * The CFG scale that matches a reflection method to first order ("Guidance Matters", arXiv 2602.22570, asks
 * for it; derivation in docs/EVAL.md and PAPER-NOTES §3.5).
 *
 * In σ space a DDIM step from σ_i to σ_{i+1} moves x by (σ_{i+1} − σ_i)·ε. One reflection (denoise with the
 * strong leg, invert with the weak one, both across the same gap) moves x by (σ_{i+1} − σ_i)(ε_s − ε_w) to
 * first order (ε evaluated at nearly the same point), so the step that follows behaves like a step with
 * ε_main + r·(ε_s − ε_w) for r repeats. With CFG legs ε = u + w·g on one model, ε_s − ε_w = (w_s − w_w)·g:
 * a reflected step is a CFG step at w_main + r·(w_s − w_w). Only steps i < λ reflect, so over the whole
 * trajectory the matched constant scale weights the extra guidance by the σ travelled in reflected steps:
 *
 *   w_matched = w_main + r·(w_s − w_w)·ρ,   ρ = (σ_0 − σ_λ) / (σ_0 − σ_final).
 *
 * Guidance pair (Z-Sampling, 5.5 / 0): ≈ 5.5 + 5.5·ρ ≈ 11 at λ = T − 1. Weights and prompt pairs reflect at
 * CFG 1 on both legs: no guidance difference, so the matched CFG scale is the main scale (the weight
 * difference term is autoguidance-like and is matched by the autoguidance rows instead).
 */

export interface MatchRequest {
  readonly mainGuidance: number;
  readonly strongGuidance: number;
  readonly weakGuidance: number;
  readonly steps: number;
  readonly lambda: number;
  readonly repeats?: number;
}

/** ρ: the share of the σ travel made in reflected steps (0 ≤ ρ ≤ 1). */
export function reflectedShare(s: Schedule, lambda: number): number {
  const first = s.points[0].sigma;
  const total = first - s.final.sigma;
  const reflectedEnd = lambda >= s.points.length ? s.final.sigma : s.points[lambda].sigma;
  return (first - reflectedEnd) / total;
}

export function matchedGuidance(r: MatchRequest, schedule: Schedule): { guidance: number; rho: number } {
  const rho = reflectedShare(schedule, r.lambda);
  return { guidance: r.mainGuidance + (r.repeats ?? 1) * (r.strongGuidance - r.weakGuidance) * rho, rho };
}

export function scheduleFor(cfg: SchedulerConfig, sampler: string, steps: number): Schedule {
  return sampler === 'ddim' ? ddimSchedule(cfg, steps) : eulerSchedule(cfg, steps);
}
