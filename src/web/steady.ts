import type { ClassCondModel } from '../models/classcond-core.js';
import { medianCallMs } from '../lab/mnist/compare.js';

/** How long calls are discarded before the timed median. */
const WARM_MS = 2000;

/**
 * The median model call once calls are steady: V8 first runs WebAssembly in its baseline tier and optimises
 * hot functions only after some calls (measured in Chromium: a batch-4 call falls from ~400 ms to ~140 ms over
 * the first ~10), so medians of 10 calls are discarded for at least WARM_MS. The bench does the same on
 * onnxruntime-node.
 */
export async function steadyCallMs(model: ClassCondModel, batch: number): Promise<number> {
  const t0 = performance.now();
  do await medianCallMs(model, batch);
  while (performance.now() - t0 < WARM_MS);
  return medianCallMs(model, batch);
}
