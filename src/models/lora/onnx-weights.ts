import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import onnxProto from 'onnx-proto';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../onnx/float16.js';

const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
const DT = onnx.TensorProto.DataType;

/**
 * The weights of an ONNX model as exported, indexed by the PyTorch module they belong to. Exports name Conv and
 * Gemm weights `<module>.weight` but fold most Linear weights into anonymous transposed initializers
 * (`onnx::MatMul_123`) that only the consuming node's name ties to a module: `/a.0/b/to_q/MatMul` belongs to
 * `a.0.b.to_q`. The orientation is read from the graph — MatMul takes Wᵀ ([in, out]); Gemm takes W ([out, in])
 * when transB = 1, else Wᵀ; Conv takes [out, in, kh, kw]; a Transpose node between flips it — never guessed
 * from which shape would fit, so a square weight is never patched transposed.
 */
export interface WeightTarget {
  readonly initializer: string;
  readonly node: string;
  readonly op: 'MatMul' | 'Gemm' | 'Conv';
  /** Stored as Wᵀ ([in, out]) rather than the module's [out, in]. */
  readonly transposed: boolean;
  /** The module's weight shape: [out, in] or [out, in, kh, kw]. */
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'float16';
  /** Cast nodes between the initializer and its consumer (fp16 weights upcast in the graph). */
  readonly viaCast: boolean;
}

type Long = { toNumber(): number };
export const num = (x: number | Long | null | undefined): number => (x === null || x === undefined ? 0 : typeof x === 'number' ? x : x.toNumber());

export function underscored(module: string): string {
  return module.replace(/\./g, '_');
}

function moduleOfNode(name: string): string | undefined {
  if (!name.startsWith('/')) return undefined;
  const parts = name.slice(1).split('/');
  if (parts.length < 2) return undefined;
  return parts.slice(0, -1).join('.');
}

function attrInt(node: onnxProto.onnx.INodeProto, name: string, dflt: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? num(a.i as number | Long) : dflt;
}

export class OnnxWeights {
  /** Module → the initializers holding its weight (copies of one weight in several initializers are all listed, each once). */
  readonly targets = new Map<string, WeightTarget[]>();
  /** kohya's underscored module names → dotted names. */
  readonly byUnderscored = new Map<string, string[]>();
  readonly initializers = new Map<string, TensorProto>();
  readonly dir: string;

  private constructor(
    readonly path: string,
    readonly model: ModelProto,
  ) {
    this.dir = dirname(path);
    for (const t of model.graph?.initializer ?? []) this.initializers.set(t.name!, t);
    this.index();
  }

  static load(path: string): OnnxWeights {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`ONNX model ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    let model: ModelProto;
    try {
      model = onnx.ModelProto.decode(bytes);
    } catch (err) {
      throw new Error(`ONNX model ${path}: not a valid ONNX file (${(err as Error).message})`);
    }
    if (!model.graph) throw new Error(`ONNX model ${path}: no graph`);
    return new OnnxWeights(path, model);
  }

  /** Follows a weight input back through Cast and 2-D Transpose nodes to an initializer. */
  private trace(input: string, producers: Map<string, onnxProto.onnx.INodeProto>): { init: string; flips: number; viaCast: boolean } | undefined {
    let name = input;
    let flips = 0;
    let viaCast = false;
    for (let depth = 0; depth < 4; depth++) {
      if (this.initializers.has(name)) return { init: name, flips, viaCast };
      const p = producers.get(name);
      if (!p || !p.input?.length) return undefined;
      if (p.opType === 'Cast') viaCast = true;
      else if (p.opType === 'Transpose') {
        const perm = p.attribute?.find((a) => a.name === 'perm')?.ints?.map((v) => num(v as number | Long));
        if (perm && !(perm.length === 2 && perm[0] === 1 && perm[1] === 0)) return undefined;
        flips++;
      } else return undefined;
      name = p.input[0];
    }
    return undefined;
  }

  private index(): void {
    const nodes = this.model.graph!.node ?? [];
    const producers = new Map<string, onnxProto.onnx.INodeProto>();
    for (const n of nodes) for (const o of n.output ?? []) producers.set(o, n);
    for (const n of nodes) {
      const op = n.opType;
      if ((op !== 'MatMul' && op !== 'Gemm' && op !== 'Conv') || (n.input?.length ?? 0) < 2) continue;
      const t = this.trace(n.input![1], producers);
      if (!t) continue;
      const init = this.initializers.get(t.init)!;
      const dims = (init.dims ?? []).map((d) => num(d as number | Long));
      const dtype = init.dataType === DT.FLOAT16 ? 'float16' : init.dataType === DT.FLOAT ? 'float32' : undefined;
      if (!dtype) continue;
      let module: string | undefined;
      let transposed: boolean;
      let shape: number[];
      if (op === 'Conv') {
        if (dims.length !== 4) continue;
        module = t.init.endsWith('.weight') ? t.init.slice(0, -7) : undefined;
        transposed = false;
        shape = dims;
      } else {
        if (dims.length !== 2 || attrInt(n, 'transA', 0) !== 0) continue;
        const storedTransposed = op === 'MatMul' ? true : attrInt(n, 'transB', 0) === 0;
        transposed = storedTransposed !== (t.flips % 2 === 1);
        // Gemm weights keep `<module>.weight`; MatMul weights are traced through the node's scope
        module = t.init.endsWith('.weight') ? t.init.slice(0, -7) : op === 'MatMul' ? moduleOfNode(n.name ?? '') : undefined;
        shape = transposed ? [dims[1], dims[0]] : dims;
      }
      if (!module) continue;
      const list = this.targets.get(module) ?? [];
      const same = list.find((x) => x.initializer === t.init);
      if (same) {
        if (same.transposed !== transposed) throw new Error(`${this.path}: initializer ${t.init} of ${module} is read both as W and as Wᵀ (nodes ${same.node}, ${n.name})`);
        continue; // shared by several nodes: patched once
      }
      list.push({ initializer: t.init, node: n.name ?? '', op, transposed, shape, dtype, viaCast: t.viaCast });
      this.targets.set(module, list);
    }
    for (const m of this.targets.keys()) {
      const u = underscored(m);
      this.byUnderscored.set(u, [...(this.byUnderscored.get(u) ?? []), m]);
    }
  }

  /** The location of an external initializer's bytes (ONNX external data: location, offset, length). */
  externalOf(t: TensorProto): { file: string; offset: number; length: number } | undefined {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
    const kv = new Map((t.externalData ?? []).map((e) => [e.key, e.value ?? '']));
    const loc = kv.get('location');
    if (!loc || isAbsolute(loc) || normalize(loc).startsWith('..')) throw new Error(`${this.path}: initializer ${t.name} has an invalid external data location ${JSON.stringify(loc)}`);
    const offset = Number(kv.get('offset') ?? 0);
    const count = (t.dims ?? []).reduce<number>((a, d) => a * num(d as number | Long), 1);
    const bytes = count * (t.dataType === DT.FLOAT16 ? 2 : 4);
    const length = kv.has('length') ? Number(kv.get('length')) : bytes;
    const file = join(this.dir, loc);
    if (!Number.isSafeInteger(offset) || offset < 0 || length !== bytes || offset + length > statSync(file).size) {
      throw new Error(`${this.path}: initializer ${t.name}: external data ${loc} offset ${offset} length ${length} does not fit its ${bytes} bytes or the file`);
    }
    return { file, offset, length };
  }

  /** The raw little-endian bytes of a float32/float16 initializer, wherever they are stored. */
  rawBytes(name: string): Uint8Array {
    const t = this.initializers.get(name);
    if (!t) throw new Error(`${this.path}: no initializer ${name}`);
    const ext = this.externalOf(t);
    if (ext) {
      const out = new Uint8Array(ext.length);
      const fd = openSync(ext.file, 'r');
      try {
        let done = 0;
        while (done < ext.length) {
          const n = readSync(fd, out, done, ext.length - done, ext.offset + done);
          if (n === 0) throw new Error(`${ext.file}: ended early`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    }
    if (t.rawData && t.rawData.length > 0) return Uint8Array.from(t.rawData);
    if (t.dataType === DT.FLOAT && t.floatData?.length) return new Uint8Array(Float32Array.from(t.floatData).buffer);
    if (t.dataType === DT.FLOAT16 && t.int32Data?.length) return new Uint8Array(Uint16Array.from(t.int32Data).buffer);
    const count = (t.dims ?? []).reduce<number>((a, d) => a * num(d as number | Long), 1);
    if (count === 0) return new Uint8Array(0);
    throw new Error(`${this.path}: initializer ${name} has no data`);
  }

  readFloats(name: string): Float32Array {
    const t = this.initializers.get(name)!;
    const bytes = this.rawBytes(name);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (t.dataType === DT.FLOAT16) return Float32Array.from({ length: bytes.length / 2 }, (_, i) => float16BitsToFloat32(dv.getUint16(2 * i, true)));
    return Float32Array.from({ length: bytes.length / 4 }, (_, i) => dv.getFloat32(4 * i, true));
  }
}

/** float32 values as the initializer's dtype in little-endian bytes (float16: one rounding, to nearest even). */
export function encodeFloats(values: Float32Array, dtype: 'float32' | 'float16'): Uint8Array {
  const out = new Uint8Array(values.length * (dtype === 'float16' ? 2 : 4));
  const dv = new DataView(out.buffer);
  if (dtype === 'float16') for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, float32ToFloat16Bits(values[i]), true);
  else for (let i = 0; i < values.length; i++) dv.setFloat32(4 * i, values[i], true);
  return out;
}
