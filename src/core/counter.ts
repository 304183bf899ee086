import type { Denoiser } from './types.js';
import type { GuidedDenoiser } from './denoiser.js';

/**
 * One counter for every model call of a run, so NFE is reported, not estimated. A batched call (CFG's two
 * halves in one batch of 2B) is one evaluation, as the paper's T + 2λ counts it.
 */
export class CallCounter {
  private counts = new Map<string, number>();

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Calls per label (e.g. per model folder or leg). */
  byLabel(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }

  private tick(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
  }

  wrap(denoise: Denoiser, label = 'model'): Denoiser {
    return (x, at) => {
      this.tick(label);
      return denoise(x, at);
    };
  }

  wrapGuided(model: GuidedDenoiser, label = 'model'): GuidedDenoiser {
    return {
      both: (x, at) => {
        this.tick(label);
        return model.both(x, at);
      },
      cond: this.wrap(model.cond, label),
      uncond: this.wrap(model.uncond, label),
    };
  }
}
