import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { floatOutput, type FloatOutput } from './feeds.js';

export type { FloatOutput, HostTensor, IoSpec } from './feeds.js';

/** Any numeric ORT output as float32: fp16 models may declare fp16 outputs. */
export function fromOrtTensor(t: OrtTensor, name: string, model: string): FloatOutput {
  return floatOutput(t, name, model);
}

/** An expected output shape: a number is a size that must match, null any size (e.g. a model's width). */
export type ExpectedDims = readonly (number | null)[];

function showDims(dims: readonly (number | null)[]): string {
  return `[${dims.map((d) => (d === null ? '*' : d)).join(', ')}]`;
}

/**
 * Refuses a model output whose shape is not the one the caller needs, naming the model file and both shapes:
 * a wrong export otherwise surfaces far away (a broadcasting error, or silently misread values).
 */
export function checkOutputShape(out: FloatOutput, expected: ExpectedDims, name: string, model: string): FloatOutput {
  const ok = out.dims.length === expected.length && expected.every((d, i) => d === null || d === out.dims[i]);
  if (!ok) throw new Error(`${model}: output '${name}' has shape ${showDims(out.dims)}, expected ${showDims(expected)}`);
  return out;
}
