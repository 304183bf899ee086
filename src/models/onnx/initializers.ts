import { openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { fromFloat16 } from './float16.js';

const { onnx } = onnxProto;

/**
 * A model's weight by its training-time name, read from the ONNX file: torch's exporter keeps parameter names
 * as initializer names, but folds identical tensors into one and points the other names at it through Identity
 * nodes, so those are followed. Float32 and float16 weights, inline or in external data, come back as float32.
 * Reads (and parses) the whole graph file: for occasional use, not per call.
 */
export function readInitializer(path: string, name: string): Float32Array | undefined {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph;
  if (!graph) return undefined;
  const source = new Map<string, string>();
  for (const n of graph.node ?? []) {
    if (n.opType === 'Identity' && n.input?.length === 1 && n.output?.length === 1) source.set(n.output[0], n.input[0]);
  }
  let current = name;
  for (let hops = 0; hops < 64; hops++) {
    const t = graph.initializer?.find((i) => i.name === current);
    if (t) return tensorData(t, path, name);
    const next = source.get(current);
    if (next === undefined) return undefined;
    current = next;
  }
  return undefined;
}

function tensorData(t: onnxProto.onnx.ITensorProto, path: string, name: string): Float32Array {
  const DT = onnx.TensorProto.DataType;
  const count = (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
  let bytes: Uint8Array | undefined = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    const fd = openSync(join(dirname(path), String(kv.location)), 'r');
    try {
      const length = Number(kv.length ?? 0) || count * (t.dataType === DT.FLOAT16 ? 2 : 4);
      bytes = new Uint8Array(length);
      readSync(fd, bytes, 0, length, Number(kv.offset ?? 0));
    } finally {
      closeSync(fd);
    }
  }
  if (t.dataType === DT.FLOAT) {
    if (bytes) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 4));
    return Float32Array.from(t.floatData ?? []);
  }
  if (t.dataType === DT.FLOAT16) {
    // float16 without raw data is stored one value per int32_data entry (the low 16 bits)
    const bits = bytes ? new Uint16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 2)) : Uint16Array.from(t.int32Data ?? []);
    return fromFloat16(bits);
  }
  throw new Error(`${path}: weight ${name} has ONNX data type ${t.dataType}; expected float32 or float16`);
}
