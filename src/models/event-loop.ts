/**
 * Model evaluations that never wait for I/O (the analytic mixtures; ONNX Runtime's Node binding, which runs
 * inference on the calling thread) would keep the event loop from turning for a whole run, and with it every
 * signal handler: Ctrl-C would wait for the end. A yielder gives the loop one turn when at least `everyMs`
 * have passed since the last, at a cost of well under a millisecond per turn.
 */
export function eventLoopYielder(everyMs = 50): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < everyMs) return;
    await new Promise((r) => setTimeout(r, 0));
    last = performance.now();
  };
}

/** One yielder for all ONNX sessions of the process: what matters is the time since the loop last turned. */
export const yieldForSignals = eventLoopYielder();
