import type { Denoiser } from '../../core/index.js';
import { eventLoopYielder } from '../../models/event-loop.js';

/**
 * The analytic models never wait for I/O, so a run made only of them would never let the event loop (and a
 * SIGINT handler) run. Wrapping each model evaluation with this gives the loop a turn every 50 ms and stops at
 * the next evaluation once `signal` is aborted: inside the sampler, the reflection and the fixed-point
 * inversion alike.
 */
export function cancellable(d: Denoiser, signal: AbortSignal): Denoiser {
  const turn = eventLoopYielder();
  return async (x, at) => {
    await turn();
    signal.throwIfAborted();
    return d(x, at);
  };
}
