import type { RuntimeOptions } from '../onnx/providers.js';
import { nodeHost } from '../node-host.js';
import { forgetSdModelsIn, openSdModelIn, type SdModel } from './sd-model.js';

export { SdModel } from './sd-model.js';

/** openSdModelIn on the file system with onnxruntime-node. */
export function openSdModel(dir: string, runtime: RuntimeOptions = {}, need: { vaeDecoder?: boolean } = {}): SdModel {
  return openSdModelIn(nodeHost, dir, runtime, need);
}

export function forgetSdModels(): void {
  forgetSdModelsIn(nodeHost);
}
