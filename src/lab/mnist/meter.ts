import type { Denoiser } from '../../core/types.js';
import type { GuidedDenoiser } from '../../core/denoiser.js';

/**
 * Counts what a row really costs. `calls` follows the paper's NFE (a CFG batch of 2B is one evaluation);
 * `rows` counts network rows, so CFG's doubled batch and autoguidance's two models show up as compute.
 */
export class Meter {
  calls = 0;
  rows = 0;

  wrap(d: Denoiser): Denoiser {
    return (x, at) => {
      this.calls++;
      this.rows += x.shape[0];
      return d(x, at);
    };
  }

  wrapGuided(g: GuidedDenoiser): GuidedDenoiser {
    return {
      both: (x, at) => {
        this.calls++;
        this.rows += 2 * x.shape[0];
        return g.both(x, at);
      },
      cond: this.wrap(g.cond),
      uncond: this.wrap(g.uncond),
    };
  }
}
