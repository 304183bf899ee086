import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { float16BitsToFloat32 } from '../onnx/float16.js';

/**
 * A reader for the safetensors format (8-byte little-endian header length, a JSON header, then raw tensor
 * bytes) that trusts nothing in the file: the header is bounded and validated entry by entry before any
 * tensor is touched, and tensors are read one at a time with positional reads, so a multi-gigabyte file never
 * enters the JS heap whole.
 */

/** What any malformed or unsupported file raises: a message naming the file and what is wrong. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

/** The header may not exceed this (the format's own reference implementation uses the same bound). */
export const MAX_HEADER_BYTES = 100_000_000;
export const SUPPORTED_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type SafetensorsDtype = (typeof SUPPORTED_DTYPES)[number];
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** Dtypes the format defines but LoRA weights never need: refused by name rather than as "unknown". */
const OTHER_DTYPES = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64', 'F64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];
const MAX_RANK = 8;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

/** Positional reads from a file or, for tests and fuzzing, from memory. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number, into: Uint8Array): void;
  close(): void;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length, into) {
      into.set(bytes.subarray(offset, offset + length));
    },
    close() {},
  };
}

export function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  let open = true;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SafetensorsError(`${path}: not a regular file`);
    return {
      size: stat.size,
      read(offset, length, into) {
        let done = 0;
        while (done < length) {
          const n = readSync(fd, into, done, length - done, offset + done);
          if (n === 0) throw new SafetensorsError(`${path}: file shrank while reading (offset ${offset + done})`);
          done += n;
        }
      },
      close() {
        if (open) closeSync(fd);
        open = false;
      },
    };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkEntry(where: string, name: string, v: unknown, dataSize: number, dataStart: number): TensorInfo {
  const at = `${where}: tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(v)) throw new SafetensorsError(`${at}: expected an object with dtype, shape and data_offsets`);
  const extra = Object.keys(v).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
  if (extra.length > 0) throw new SafetensorsError(`${at}: unexpected field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}`);
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string') throw new SafetensorsError(`${at}: dtype must be a string`);
  if (!(SUPPORTED_DTYPES as readonly string[]).includes(dtype)) {
    const kind = OTHER_DTYPES.includes(dtype) ? 'is not supported' : 'is not a safetensors dtype';
    throw new SafetensorsError(`${at}: dtype ${JSON.stringify(dtype.slice(0, 40))} ${kind} (supported: ${SUPPORTED_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(shape) || shape.length > MAX_RANK) throw new SafetensorsError(`${at}: shape must be an array of at most ${MAX_RANK} sizes`);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new SafetensorsError(`${at}: shape [${shape.map(String).join(', ')}] must hold non-negative integers`);
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) throw new SafetensorsError(`${at}: shape [${shape.join(', ')}] is too large`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2) throw new SafetensorsError(`${at}: data_offsets must be [begin, end]`);
  const [b, e] = offsets;
  if (typeof b !== 'number' || typeof e !== 'number' || !Number.isSafeInteger(b) || !Number.isSafeInteger(e) || b < 0 || e < b) {
    throw new SafetensorsError(`${at}: data_offsets [${String(b)}, ${String(e)}] must be integers with 0 ≤ begin ≤ end`);
  }
  if (e > dataSize) throw new SafetensorsError(`${at}: data_offsets end ${e} lies past the data section (${dataSize} bytes)`);
  const bytes = count * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (bytes !== e - b) {
    throw new SafetensorsError(`${at}: shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes but data_offsets span ${e - b}`);
  }
  // JSON's -0 is an integer too; keep sizes canonical
  return { name, dtype: dtype as SafetensorsDtype, shape: (shape as number[]).map((d) => d + 0), begin: dataStart + b, end: dataStart + e };
}

/** Validates the layout of a source: returns the tensors and `__metadata__`, or throws SafetensorsError. */
export function readLayout(src: ByteSource, where: string): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  if (src.size < 8) throw new SafetensorsError(`${where}: ${src.size} bytes is too short for a safetensors file (8-byte header length first)`);
  const lenBytes = new Uint8Array(8);
  src.read(0, 8, lenBytes);
  const len = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (len > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(`${where}: header of ${len} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  const n = Number(len);
  if (n < 2) throw new SafetensorsError(`${where}: header of ${n} bytes cannot hold a JSON object`);
  if (8 + n > src.size) throw new SafetensorsError(`${where}: header of ${n} bytes runs past the end of the ${src.size}-byte file`);
  const raw = new Uint8Array(n);
  src.read(8, n, raw);
  if (raw[0] !== 0x7b) throw new SafetensorsError(`${where}: header does not start with '{' (not a safetensors file?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new SafetensorsError(`${where}: header is not valid UTF-8`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(`${where}: header is not valid JSON (${(err as Error).message.slice(0, 200)})`);
  }
  if (!isPlainObject(header)) throw new SafetensorsError(`${where}: header must be a JSON object`);
  const dataStart = 8 + n;
  const dataSize = src.size - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(v)) throw new SafetensorsError(`${where}: __metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new SafetensorsError(`${where}: __metadata__ ${JSON.stringify(k.slice(0, 80))} must be a string, got ${typeof s}`);
        metadata[k] = s;
      }
      continue;
    }
    tensors.set(name, checkEntry(where, name, v, dataSize, dataStart));
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1];
    const c = sorted[i];
    if (c.begin < p.end) throw new SafetensorsError(`${where}: tensors ${JSON.stringify(p.name)} and ${JSON.stringify(c.name)} overlap`);
  }
  return { tensors, metadata };
}

/**
 * An open safetensors file: layout validated at open, tensor data read on demand and converted to float32.
 * Close it when done (it holds a file descriptor).
 */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly src: ByteSource,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static open(path: string): SafetensorsFile {
    let src: ByteSource;
    try {
      src = fileSource(path);
    } catch (err) {
      if (err instanceof SafetensorsError) throw err;
      throw new SafetensorsError(`${path}: cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return SafetensorsFile.fromSource(src, path);
  }

  static fromSource(src: ByteSource, where: string): SafetensorsFile {
    try {
      const { tensors, metadata } = readLayout(src, where);
      return new SafetensorsFile(where, src, tensors, metadata);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.path}: no tensor ${JSON.stringify(name)}`);
    return t;
  }

  /** The tensor's values as float32 (F16 and BF16 widened exactly). */
  read(name: string): Float32Array {
    const t = this.info(name);
    const count = (t.end - t.begin) / DTYPE_BYTES[t.dtype];
    if (t.dtype === 'F32') {
      const out = new Float32Array(count);
      this.src.read(t.begin, t.end - t.begin, new Uint8Array(out.buffer));
      return littleEndian ? out : swap32(out);
    }
    const bytes = new Uint8Array(t.end - t.begin);
    this.src.read(t.begin, bytes.length, bytes);
    const dv = new DataView(bytes.buffer);
    const out = new Float32Array(count);
    if (t.dtype === 'F16') {
      for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(dv.getUint16(2 * i, true));
    } else {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16;
    }
    return out;
  }

  close(): void {
    this.src.close();
  }
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swap32(a: Float32Array): Float32Array {
  const dv = new DataView(a.buffer);
  for (let i = 0; i < a.length; i++) dv.setUint32(4 * i, dv.getUint32(4 * i, true), false);
  return a;
}
