import type { Schedule, StepPoint } from '../types.js';

/** Where step i starts. */
export function startOf(s: Schedule, i: number): StepPoint {
  return s.points[i];
}

/** Where step i lands (see `Schedule.targets`). */
export function targetOf(s: Schedule, i: number): StepPoint {
  return s.targets?.[i] ?? s.points[i + 1] ?? s.final;
}

/**
 * Carry a latent that landed at `targetOf(s, i)` over to where step i+1 starts, keeping its VP value x_t
 * (what diffusers does implicitly when its DDIM landing and next timestep differ). In place; a no-op for
 * consistent schedules.
 */
export function handOff(s: Schedule, i: number, x: Float32Array): void {
  if (!s.targets) return;
  const from = targetOf(s, i).sigma;
  const to = (s.points[i + 1] ?? s.final).sigma;
  if (from === to) return;
  const k = Math.sqrt((1 + to * to) / (1 + from * from));
  for (let j = 0; j < x.length; j++) x[j] *= k;
}

/** Model evaluations a schedule of T steps costs per sampler kind, for equal-compute settings. */
export function stepsOf(s: Schedule): number {
  return s.points.length;
}
