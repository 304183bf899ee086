import { existsSync, realpathSync, statSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { findSpec, prepareRun, specsOf, type ModelSession, type SessionStats } from './feeds.js';
import { fromOrtTensor, type FloatOutput, type HostTensor, type IoSpec } from './io.js';
import { checkProvider, type ProviderName, type RuntimeOptions } from './providers.js';

export type { SessionStats } from './feeds.js';

/** One loaded ONNX model with its declared signature. Shared by every leg that uses the same file. */
export class OnnxSession implements ModelSession {
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
    return findSpec(this.inputs, name, 'input', this.path);
  }

  output(name: string): IoSpec {
    return findSpec(this.outputs, name, 'output', this.path);
  }

  /** Runs with every declared input fed (see prepareRun) and returns the requested outputs as float32. */
  async run(feeds: Readonly<Record<string, HostTensor>>, outputNames?: readonly string[]): Promise<Record<string, FloatOutput>> {
    const { parts, wanted } = prepareRun(this, feeds, outputNames);
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(parts)) ortFeeds[name] = new Tensor(t.type, t.data, t.dims);
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
