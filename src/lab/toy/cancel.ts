import type { Denoiser } from '../../core/index.js';

/** Longest stretch of pure-JS compute between two turns of the event loop (where signal handlers run). */
const YIELD_EVERY_MS = 50;

/**
 * The analytic models never wait for I/O, so a run made only of them would never let the event loop (and a
 * SIGINT handler) run. Wrapping each model evaluation with this gives the loop a turn every 50 ms and stops at
 * the next evaluation once `signal` is aborted: inside the sampler, the reflection and the fixed-point
 * inversion alike.
 */
export function cancellable(d: Denoiser, signal: AbortSignal): Denoiser {
  let last = performance.now();
  return async (x, at) => {
    if (performance.now() - last > YIELD_EVERY_MS) {
      await new Promise((r) => setTimeout(r, 0));
      last = performance.now();
    }
    signal.throwIfAborted();
    return d(x, at);
  };
}
