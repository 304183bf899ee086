import { existsSync, realpathSync, statSync } from 'node:fs';
import { InferenceSession } from 'onnxruntime-node';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { fromOrtTensor, toOrtTensor, type FloatOutput, type HostTensor, type IoSpec } from './io.js';
import { yieldForSignals } from '../event-loop.js';
import { checkProvider, type ProviderName, type RuntimeOptions } from './providers.js';

/** Time and calls spent inside ORT, so benchmarks can split a step into network time and the rest. */
export interface SessionStats {
  runs: number;
  ms: number;
}

/** One loaded ONNX model with its declared signature. Shared by every leg that uses the same file. */
export class OnnxSession {
  readonly stats: SessionStats = { runs: 0, ms: 0 };

  constructor(
    readonly path: string,
    readonly provider: ProviderName,
    private readonly session: InferenceSession,
    readonly inputs: readonly IoSpec[],
    readonly outputs: readonly IoSpec[],
  ) {}

  hasInput(name: string): boolean {
    return this.inputs.some((s) => s.name === name);
  }

  input(name: string): IoSpec {
    const spec = this.inputs.find((s) => s.name === name);
    if (!spec) throw new Error(`${this.path}: no input '${name}' (inputs: ${this.inputs.map((s) => s.name).join(', ')})`);
    return spec;
  }

  output(name: string): IoSpec {
    const spec = this.outputs.find((s) => s.name === name);
    if (!spec) throw new Error(`${this.path}: no output '${name}' (outputs: ${this.outputs.map((s) => s.name).join(', ')})`);
    return spec;
  }

  /**
   * Runs with every declared input fed (a missing or unknown feed is an error, so a mis-wired pipeline
   * cannot silently rely on a default) and returns the requested outputs as float32.
   */
  async run(feeds: Readonly<Record<string, HostTensor>>, outputNames?: readonly string[]): Promise<Record<string, FloatOutput>> {
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const spec of this.inputs) {
      const host = feeds[spec.name];
      if (!host) throw new Error(`${this.path}: input '${spec.name}' was not provided`);
      ortFeeds[spec.name] = toOrtTensor(spec, host, this.path);
    }
    for (const name of Object.keys(feeds)) {
      if (!this.hasInput(name)) throw new Error(`${this.path}: model has no input '${name}' (inputs: ${this.inputs.map((s) => s.name).join(', ')})`);
    }
    const wanted = outputNames ?? this.outputs.map((s) => s.name);
    for (const name of wanted) this.output(name);
    // inference blocks this thread: let signal handlers (Ctrl-C) run between calls
    await yieldForSignals();
    const t0 = performance.now();
    const result = await this.session.run(ortFeeds, [...wanted]);
    this.stats.ms += performance.now() - t0;
    this.stats.runs++;
    const out: Record<string, FloatOutput> = {};
    for (const name of wanted) out[name] = fromOrtTensor(result[name], name, this.path);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function specsOf(metadata: readonly InferenceSession.ValueMetadata[], names: readonly string[], path: string): IoSpec[] {
  return names.map((name) => {
    const m = metadata.find((v) => v.name === name);
    if (!m || !m.isTensor) throw new Error(`${path}: '${name}' is not a tensor; only tensor inputs and outputs are supported`);
    return { name, dtype: m.type, dims: m.shape.map((d) => (typeof d === 'number' ? d : String(d))) };
  });
}

const cache = new Map<string, Promise<OnnxSession>>();

function cacheKey(path: string, opts: RuntimeOptions): string {
  return JSON.stringify([path, opts.provider ?? 'cpu', opts.threads ?? 0]);
}

/**
 * Opens a model from its path (so ORT finds external weights, `model.onnx_data` or legacy `weights.pb`,
 * beside it) once per resolved path and runtime options: legs pointing at the same folder share it.
 */
export function openSession(path: string, opts: RuntimeOptions = {}): Promise<OnnxSession> {
  if (!existsSync(path)) return Promise.reject(new Error(`ONNX model not found: ${path}`));
  if (!statSync(path).isFile()) return Promise.reject(new Error(`ONNX model ${path} is not a file`));
  const real = realpathSync(path);
  const key = cacheKey(real, opts);
  let pending = cache.get(key);
  if (!pending) {
    pending = createSession(real, opts);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

async function createSession(path: string, opts: RuntimeOptions): Promise<OnnxSession> {
  const provider = opts.provider ?? 'cpu';
  checkProvider(provider);
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new Error(`threads: expected a positive integer, got ${opts.threads}`);
  }
  const options: InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(path, options);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const hint = /external|data file|weights\.pb|onnx_data/i.test(msg)
      ? ' (its external weights, model.onnx_data or weights.pb, must sit beside it)'
      : '';
    throw new Error(`cannot load ONNX model ${path} with provider '${provider}': ${msg.trim()}${hint}`);
  }
  return new OnnxSession(path, provider, session, specsOf(session.inputMetadata, session.inputNames, path), specsOf(session.outputMetadata, session.outputNames, path));
}

export async function releaseAllSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const p of all) {
    try {
      await (await p).release();
    } catch {
      // A session that failed to load has nothing to release.
    }
  }
}
