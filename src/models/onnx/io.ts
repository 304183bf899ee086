import { Tensor as OrtTensor } from 'onnxruntime-node';
import { floatOutput, tensorParts, type FloatOutput, type HostTensor, type IoSpec } from './feeds.js';

export type { FloatOutput, HostTensor, IoSpec } from './feeds.js';

/** Adapts one host tensor to what the model declares (see tensorParts) as an onnxruntime-node tensor. */
export function toOrtTensor(spec: IoSpec, host: HostTensor, model: string): OrtTensor {
  const t = tensorParts(spec, host, model);
  return new OrtTensor(t.type, t.data, t.dims);
}

/** Any numeric ORT output as float32: fp16 models may declare fp16 outputs. */
export function fromOrtTensor(t: OrtTensor, name: string, model: string): FloatOutput {
  return floatOutput(t, name, model);
}
