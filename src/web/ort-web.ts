import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { eventLoopYielder } from '../models/event-loop.js';
import { findSpec, floatOutput, prepareRun, specsOf, type FloatOutput, type HostTensor, type IoSpec, type ModelSession, type SessionStats } from '../models/onnx/feeds.js';

import type { WebProvider, WebRuntime } from './env.js';

export type { WebProvider, WebRuntime } from './env.js';

type Ort = typeof import('onnxruntime-web');

/*
 * Which onnxruntime-web build runs a provider. WebAssembly gets the plain SIMD-threaded build: the JSEP build
 * (WebGPU + WebAssembly) is asyncify-instrumented, and its wasm provider measured 2–4× slower per MNIST call at
 * batches 1 and 4 (no faster at 32; docs/BENCH.md, Web). WebGPU needs JSEP. Each build is a chunk of its own,
 * loaded on first use.
 */
const BUILDS: Record<WebProvider, () => Promise<Ort>> = {
  wasm: () => import('onnxruntime-web/wasm'),
  webgpu: () => import('onnxruntime-web'),
};
const loaded = new Map<WebProvider, Promise<Ort>>();

/**
 * The onnxruntime-web build for a provider, pointed at the wasm files `npm run build` copied to /ort/ (never a
 * CDN), with the thread count set before its first session (each build reads both when it first initialises,
 * so the first runtime asking for a build sets its threads).
 */
function ortFor(rt: WebRuntime): Promise<Ort> {
  let p = loaded.get(rt.provider);
  if (!p) {
    p = BUILDS[rt.provider]().then((ort) => {
      ort.env.wasm.wasmPaths = new URL('ort/', new URL('/', self.location.href)).href;
      ort.env.wasm.numThreads = rt.threads;
      ort.env.logLevel = 'error';
      return ort;
    });
    loaded.set(rt.provider, p);
    p.catch(() => loaded.delete(rt.provider));
  }
  return p;
}

/** An onnxruntime-web session behind the same interface as the Node one (src/models/onnx/feeds.ts). */
export class WebSession implements ModelSession {
  readonly stats: SessionStats = { runs: 0, ms: 0 };
  /** Called after every run (live progress counts network calls). */
  onRun?: () => void;

  private constructor(
    readonly path: string,
    readonly provider: WebProvider,
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    readonly inputs: readonly IoSpec[],
    readonly outputs: readonly IoSpec[],
  ) {}

  /** `externalData`: weights stored beside the graph (optimum's model.onnx_data), by the name the graph gives. */
  static async create(path: string, bytes: Uint8Array, rt: WebRuntime, externalData?: readonly { path: string; data: Uint8Array }[]): Promise<WebSession> {
    const ort = await ortFor(rt);
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: [rt.provider], graphOptimizationLevel: 'all', logSeverityLevel: 3, ...(externalData?.length ? { externalData: [...externalData] } : {}) });
    } catch (e) {
      throw new Error(`cannot load ONNX model ${path} with onnxruntime-web (${rt.provider}): ${e instanceof Error ? e.message : String(e)}`);
    }
    return new WebSession(path, rt.provider, ort, session, specsOf(session.inputMetadata, session.inputNames, path), specsOf(session.outputMetadata, session.outputNames, path));
  }

  input(name: string): IoSpec {
    return findSpec(this.inputs, name, 'input', this.path);
  }

  output(name: string): IoSpec {
    return findSpec(this.outputs, name, 'output', this.path);
  }

  /**
   * onnxruntime-web's WebAssembly backend refuses a run while any other is in flight ("Session already
   * started"), across sessions, so every session's runs go through one queue (the legs W2SD evaluates together
   * run one after the other; each call is multi-threaded inside).
   */
  private static queue: Promise<unknown> = Promise.resolve();

  run(feeds: Readonly<Record<string, HostTensor>>, outputNames?: readonly string[]): Promise<Record<string, FloatOutput>> {
    const next = WebSession.queue.then(() => this.runNow(feeds, outputNames));
    WebSession.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * onnxruntime-web may settle a run without the worker's event loop turning, so a whole generation would be one
   * chain of microtasks and a cancel message would wait for its end: runs give the loop a turn at least every
   * 50 ms (as Node's sessions do for signals).
   */
  private static yieldToMessages = eventLoopYielder(50);

  private async runNow(feeds: Readonly<Record<string, HostTensor>>, outputNames?: readonly string[]): Promise<Record<string, FloatOutput>> {
    await WebSession.yieldToMessages();
    const { parts, wanted } = prepareRun(this, feeds, outputNames);
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(parts)) ortFeeds[name] = new this.ort.Tensor(t.type, t.data, t.dims);
    const t0 = performance.now();
    const result = await this.session.run(ortFeeds, wanted);
    this.stats.ms += performance.now() - t0;
    this.stats.runs++;
    const out: Record<string, FloatOutput> = {};
    // copy: the denoisers write in place, and a GPU-backed output must be downloaded anyway
    for (const name of wanted) {
      const t = result[name];
      const data = t.location === 'cpu' ? t.data : await t.getData();
      out[name] = floatOutput({ type: t.type, data, dims: t.dims }, name, this.path);
    }
    this.onRun?.();
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Fetches a file of a served model folder; a missing file names the URL. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

export async function fetchJson(url: string): Promise<unknown> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  try {
    return await r.json();
  } catch (e) {
    throw new Error(`${url}: not valid JSON (${(e as Error).message})`);
  }
}
