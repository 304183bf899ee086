import type { ClassCondModel } from '../models/classcond-core.js';
import { medianCallMs } from '../lab/mnist/compare.js';

/**
 * The median model call once calls are steady: V8 first runs WebAssembly in its baseline tier and optimises
 * hot functions only after some calls (measured in Chromium: a batch-4 call falls from ~400 ms to ~140 ms over
 * the first ~10), so a first median of 10 calls is discarded. The bench does the same on onnxruntime-node.
 */
export async function steadyCallMs(model: ClassCondModel, batch: number): Promise<number> {
  await medianCallMs(model, batch);
  return medianCallMs(model, batch);
}
