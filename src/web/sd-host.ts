import type { ModelHost } from '../models/host.js';
import type { ModelSession } from '../models/onnx/feeds.js';
import { WebSession, type WebRuntime } from './ort-web.js';
import type { SnapshotFiles } from './sd-files.js';

/** optimum's and older exporters' names for weights stored beside model.onnx. */
const EXTERNAL_DATA = /^(model\.onnx_data|.*\.onnx\.data|weights\.pb)$/;

/**
 * onnxruntime-web's WebAssembly heap is 32-bit: 4 GiB for weights and activations together. Files above this
 * total cannot load (an fp32 SD 1.5 UNet alone is 3.4 GB), so they are refused before anything is read.
 */
export const WASM_MODEL_LIMIT = 3 * 2 ** 30;

export interface WebHostOptions {
  /** Called after every network call (live progress). */
  readonly onRun?: () => void;
  /** The WebGPU adapter offers `shader-f16`; without it fp16 models are refused on WebGPU. */
  readonly shaderF16?: boolean;
}

/** The adapter's `shader-f16` feature, which onnxruntime-web's WebGPU kernels need for float16 tensors. */
export async function webgpuShaderF16(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ features: ReadonlySet<string> } | null> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  return adapter?.features.has('shader-f16') ?? false;
}

/** The pipeline's model host in a page: a mounted snapshot and onnxruntime-web, one session per file. */
export function webModelHost(files: SnapshotFiles, rt: WebRuntime, o: WebHostOptions = {}): ModelHost {
  const sessions = new Map<string, Promise<ModelSession>>();
  let loadedBytes = 0;
  const open = async (path: string): Promise<ModelSession> => {
    const parts = [path, ...files.siblings(path, EXTERNAL_DATA)].map((p) => ({ path: p, entry: files.entry(p) }));
    const size = parts.reduce((n, p) => n + p.entry.size, 0);
    if (rt.provider === 'wasm' && loadedBytes + size > WASM_MODEL_LIMIT) {
      throw new Error(
        `${path}: the models need ${gib(loadedBytes + size)} GiB, more than WebAssembly's memory holds here (${gib(WASM_MODEL_LIMIT)} GiB of its 4 GiB): use an fp16 export, or WebGPU`,
      );
    }
    loadedBytes += size;
    const [graph, ...external] = await Promise.all(parts.map(async (p) => ({ path: p.path.slice(p.path.lastIndexOf('/') + 1), data: await p.entry.read() })));
    const session = await WebSession.create(path, graph.data, rt, external);
    const half = [...session.inputs, ...session.outputs].some((t) => t.dtype === 'float16');
    if (rt.provider === 'webgpu' && half && !o.shaderF16) {
      await session.release();
      // measured on Chromium's SwiftShader adapter (no shader-f16): an fp16 UNet ran but its outputs were wrong
      throw new Error(`${path}: an fp16 model (float16 inputs or outputs), but this WebGPU adapter lacks the shader-f16 feature onnxruntime-web needs for float16 kernels; use WebAssembly, or an fp32 export`);
    }
    session.onRun = o.onRun;
    return session;
  };
  return {
    files,
    openSession(path) {
      let s = sessions.get(path);
      if (!s) {
        s = open(path);
        sessions.set(path, s);
        s.catch(() => sessions.delete(path));
      }
      return s;
    },
    readInitializer(path) {
      throw new Error(`${path}: clip skip reads weights from the ONNX file, which the page does not do; use the CLI for --clip-skip`);
    },
  };
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(2);
}
