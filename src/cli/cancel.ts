import { abortOpenOutputSets } from '../pipelines/atomic.js';

/**
 * Ctrl-C and SIGTERM: the run's signal is aborted (loops that check it stop at the next model evaluation),
 * everything the open output sets staged is removed, and the process leaves at once with the conventional
 * status (128 + signal number). Compute loops yield to the event loop at their cancellation points, so the
 * handler runs within a fraction of a second even in pure-JS compute.
 */
const controller = new AbortController();

export const runSignal: AbortSignal = controller.signal;

export function installSignalHandlers(): void {
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      controller.abort(new Error(`interrupted by ${sig}`));
      abortOpenOutputSets();
      process.stderr.write(`\nw2sd: interrupted by ${sig}; this run's partial outputs were removed\n`);
      process.exit(code);
    });
  }
}
