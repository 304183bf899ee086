import { Tensor as OrtTensor } from 'onnxruntime-node';
import { fromFloat16, toFloat16 } from './float16.js';

/** A declared input or output of a session: exports differ in all three, so they are read, never assumed. */
export interface IoSpec {
  readonly name: string;
  readonly dtype: string;
  /** Numbers are fixed sizes, strings are symbolic (batch, sequence, ...). Length = rank. */
  readonly dims: readonly (number | string)[];
}

/**
 * What the pipeline hands a session: real values as Float32Array, integer ids as Int32Array, always with
 * the batch shape. The session's declared dtype and rank decide what ORT actually receives.
 */
export interface HostTensor {
  readonly data: Float32Array | Int32Array;
  readonly dims: readonly number[];
}

export interface FloatOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

const SUPPORTED = ['float32', 'float16', 'float64', 'int32', 'int64'];

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Adapts one host tensor to what the model declares. A rank-0 input (optimum ≥ 1.24 exports the UNet
 * timestep as a float scalar) takes a [B] host tensor whose entries agree: one timestep for the batch.
 */
export function toOrtTensor(spec: IoSpec, host: HostTensor, model: string): OrtTensor {
  const where = `${model}: input '${spec.name}'`;
  if (!SUPPORTED.includes(spec.dtype)) {
    throw new Error(`${where} has dtype ${spec.dtype}; supported: ${SUPPORTED.join(', ')}`);
  }
  if (host.data.length !== elementCount(host.dims)) {
    throw new Error(`${where}: ${host.data.length} values do not fill [${host.dims.join(', ')}]`);
  }
  let values: ArrayLike<number> = host.data;
  let dims: readonly number[] = host.dims;
  if (spec.dims.length === 0 && dims.length !== 0) {
    for (let i = 1; i < values.length; i++) {
      if (values[i] !== values[0]) {
        throw new Error(`${where} is a scalar: the whole batch must share one value, got ${values[0]} and ${values[i]}`);
      }
    }
    if (values.length === 0) throw new Error(`${where} is a scalar but got an empty tensor`);
    values = [values[0]];
    dims = [];
  }
  if (spec.dims.length !== dims.length) {
    throw new Error(`${where} expects rank ${spec.dims.length} [${spec.dims.join(', ')}], got [${dims.join(', ')}]`);
  }
  spec.dims.forEach((d, i) => {
    if (typeof d === 'number' && d >= 0 && d !== dims[i]) {
      throw new Error(`${where} expects [${spec.dims.join(', ')}], got [${dims.join(', ')}] (axis ${i})`);
    }
  });
  const shape = [...dims];
  switch (spec.dtype) {
    case 'float32':
      return new OrtTensor('float32', values instanceof Float32Array ? values : Float32Array.from(values), shape);
    case 'float64':
      return new OrtTensor('float64', Float64Array.from(values), shape);
    case 'float16':
      return new OrtTensor('float16', toFloat16(values), shape);
    case 'int32':
      return new OrtTensor('int32', Int32Array.from(values, (v) => checkedInt(v, where)), shape);
    default: {
      const out = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = BigInt(checkedInt(values[i], where));
      return new OrtTensor('int64', out, shape);
    }
  }
}

function checkedInt(v: number, where: string): number {
  if (!Number.isInteger(v)) throw new Error(`${where} is an integer input, got ${v}`);
  return v;
}

/** Any numeric ORT output as float32: fp16 models may declare fp16 outputs. */
export function fromOrtTensor(t: OrtTensor, name: string, model: string): FloatOutput {
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return { data: t.data as Float32Array, dims };
    case 'float16': {
      // ORT gives raw bits in a Uint16Array, or a Float16Array where the platform has one.
      const d = t.data as unknown as ArrayLike<number>;
      return { data: d instanceof Uint16Array ? fromFloat16(d) : Float32Array.from(d), dims };
    }
    case 'float64':
    case 'int32':
    case 'int8':
    case 'uint8':
      return { data: Float32Array.from(t.data as ArrayLike<number>), dims };
    case 'int64':
      return { data: Float32Array.from(t.data as BigInt64Array, (v) => Number(v)), dims };
    default:
      throw new Error(`${model}: output '${name}' has dtype ${t.type}, which is not numeric`);
  }
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
