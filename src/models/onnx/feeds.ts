import { fromFloat16, toFloat16 } from './float16.js';

/**
 * What the pipelines hand a session and get back, independent of which ONNX Runtime runs it (onnxruntime-node
 * in Node, onnxruntime-web in the browser): the dtype/rank adaptation and the feed checks live here, pure, so
 * both runtimes behave the same.
 */

/** A declared input or output of a session: exports differ in all three, so they are read, never assumed. */
export interface IoSpec {
  readonly name: string;
  readonly dtype: string;
  /** Numbers are fixed sizes, strings are symbolic (batch, sequence, ...). Length = rank. */
  readonly dims: readonly (number | string)[];
}

/**
 * Real values as Float32Array, integer ids as Int32Array, always with the batch shape. The session's declared
 * dtype and rank decide what ORT actually receives.
 */
export interface HostTensor {
  readonly data: Float32Array | Int32Array;
  readonly dims: readonly number[];
}

export interface FloatOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** The arguments of either runtime's `new Tensor(type, data, dims)`. */
export interface TensorParts {
  readonly type: 'float32' | 'float64' | 'float16' | 'int32' | 'int64';
  readonly data: Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array;
  readonly dims: number[];
}

/** Time and calls spent inside ORT, so benchmarks can split a step into network time and the rest. */
export interface SessionStats {
  runs: number;
  ms: number;
}

/** One loaded model with its declared signature, whichever runtime holds it. */
export interface ModelSession {
  readonly path: string;
  readonly inputs: readonly IoSpec[];
  readonly outputs: readonly IoSpec[];
  readonly stats: SessionStats;
  input(name: string): IoSpec;
  output(name: string): IoSpec;
  run(feeds: Readonly<Record<string, HostTensor>>, outputNames?: readonly string[]): Promise<Record<string, FloatOutput>>;
}

/** The declared input or output `name`; the message lists what the model has. */
export function findSpec(specs: readonly IoSpec[], name: string, kind: 'input' | 'output', path: string): IoSpec {
  const spec = specs.find((s) => s.name === name);
  if (!spec) throw new Error(`${path}: no ${kind} '${name}' (${kind}s: ${specs.map((s) => s.name).join(', ')})`);
  return spec;
}

const SUPPORTED = ['float32', 'float16', 'float64', 'int32', 'int64'];

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Adapts one host tensor to what the model declares. A rank-0 input (optimum ≥ 1.24 exports the UNet
 * timestep as a float scalar) takes a [B] host tensor whose entries agree: one timestep for the batch.
 */
export function tensorParts(spec: IoSpec, host: HostTensor, model: string): TensorParts {
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
      return { type: 'float32', data: values instanceof Float32Array ? values : Float32Array.from(values), dims: shape };
    case 'float64':
      return { type: 'float64', data: Float64Array.from(values), dims: shape };
    case 'float16':
      return { type: 'float16', data: toFloat16(values), dims: shape };
    case 'int32':
      return { type: 'int32', data: Int32Array.from(values, (v) => checkedInt(v, where)), dims: shape };
    default: {
      const out = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = BigInt(checkedInt(values[i], where));
      return { type: 'int64', data: out, dims: shape };
    }
  }
}

function checkedInt(v: number, where: string): number {
  if (!Number.isInteger(v)) throw new Error(`${where} is an integer input, got ${v}`);
  return v;
}

/** Any numeric ORT output as float32: fp16 models may declare fp16 outputs. */
export function floatOutput(t: { readonly type: string; readonly data: unknown; readonly dims: readonly number[] }, name: string, model: string): FloatOutput {
  const dims = [...t.dims];
  switch (t.type) {
    case 'float32':
      return { data: t.data as Float32Array, dims };
    case 'float16': {
      // ORT gives raw bits in a Uint16Array, or a Float16Array where the platform has one.
      const d = t.data as ArrayLike<number>;
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

/**
 * Every declared input fed and nothing else (a missing or unknown feed is an error, so a mis-wired pipeline
 * cannot silently rely on a default); returns the tensors to build and the outputs to fetch.
 */
export function prepareRun(
  s: Pick<ModelSession, 'path' | 'inputs' | 'outputs'>,
  feeds: Readonly<Record<string, HostTensor>>,
  outputNames?: readonly string[],
): { parts: Record<string, TensorParts>; wanted: string[] } {
  const parts: Record<string, TensorParts> = {};
  for (const spec of s.inputs) {
    const host = feeds[spec.name];
    if (!host) throw new Error(`${s.path}: input '${spec.name}' was not provided`);
    parts[spec.name] = tensorParts(spec, host, s.path);
  }
  for (const name of Object.keys(feeds)) {
    if (!s.inputs.some((i) => i.name === name)) throw new Error(`${s.path}: model has no input '${name}' (inputs: ${s.inputs.map((i) => i.name).join(', ')})`);
  }
  const wanted = [...(outputNames ?? s.outputs.map((o) => o.name))];
  for (const name of wanted) findSpec(s.outputs, name, 'output', s.path);
  return { parts, wanted };
}

/** Reads a session's declared inputs or outputs from either runtime's metadata. */
export function specsOf(metadata: readonly { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[], names: readonly string[], path: string): IoSpec[] {
  return names.map((name) => {
    const m = metadata.find((v) => v.name === name);
    if (!m || !m.isTensor) throw new Error(`${path}: '${name}' is not a tensor; only tensor inputs and outputs are supported`);
    return { name, dtype: m.type!, dims: (m.shape ?? []).map((d) => (typeof d === 'number' ? d : String(d))) };
  });
}
