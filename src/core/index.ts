export * from './types.js';
export * from './tensor.js';
export * from './rng.js';
export * from './schedules/config.js';
export * from './schedules/betas.js';
export * from './schedules/karras.js';
export * from './schedules/discrete.js';
export * from './schedules/walk.js';
export * from './denoiser.js';
export * from './counter.js';
export * from './finite.js';
export * from './guidance.js';
export * from './samplers/loop.js';
export * from './samplers/ddim.js';
export * from './samplers/euler.js';
export * from './reflection.js';
export * from './fixed-point-summary.js';
export * from './methods.js';

import type { Sampler } from './types.js';
import { ddim } from './samplers/ddim.js';
import { dpmpp2m, euler, eulerAncestral, heun } from './samplers/euler.js';

export const SAMPLERS = ['ddim', 'euler', 'heun', 'euler-ancestral', 'dpmpp-2m'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** A sampler by its CLI name; `eta` applies to DDIM only. */
export function samplerByName(name: string, opts: { eta?: number } = {}): Sampler {
  switch (name) {
    case 'ddim':
      return ddim({ eta: opts.eta });
    case 'euler':
      return euler();
    case 'heun':
      return heun();
    case 'euler-ancestral':
      return eulerAncestral();
    case 'dpmpp-2m':
      return dpmpp2m();
    default:
      throw new Error(`sampler: expected one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(name)}`);
  }
}
