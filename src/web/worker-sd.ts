import { encode as encodePngRgb } from 'fast-png';
import type { ModelHost } from '../models/host.js';
import { withTextChunks } from '../pipelines/png-text.js';
import { render, warningsCollector } from '../pipelines/render.js';
import type { GenerateOptions } from '../pipelines/options.js';
import { resolveRequest, type Request } from '../pipelines/request.js';
import { fetchBytes, fetchJson } from './ort-web.js';
import { webgpuShaderF16, webModelHost } from './sd-host.js';
import { SnapshotFiles, type FolderEntry } from './sd-files.js';
import { comparisonSettings, type SdFolderSource, type SdFromWorker, type SdRequest, type SdResult, type SdToWorker } from './sd-protocol.js';

/*
 * The Stable Diffusion page's worker: mounts the chosen folders, runs the CLI's own pipeline (render) on them
 * with onnxruntime-web, and returns the PNG the CLI would write. It stays alive between runs, so models load
 * once per folder set and provider; a run is cancelled between steps through its AbortSignal.
 */

const scope = self as unknown as { onmessage: ((e: MessageEvent<SdToWorker>) => void) | null; postMessage(m: SdFromWorker, t?: Transferable[]): void };

/** Where a folder is mounted; the name is kept as is, so the PNG's "Model:" is the folder's own name. */
function mountPoint(src: SdFolderSource): string {
  return `/${src.kind === 'served' ? 'sd-models' : 'picked'}/${src.name}`;
}

async function folderEntries(src: SdFolderSource): Promise<Map<string, FolderEntry>> {
  if (src.kind === 'picked') {
    return new Map(src.files.map((f) => [f.path, { size: f.file.size, read: async () => new Uint8Array(await f.file.arrayBuffer()) }]));
  }
  const base = `/sd-models/${encodeURIComponent(src.name)}`;
  const listing = (await fetchJson(`${base}/`)) as { files?: unknown };
  if (!Array.isArray(listing.files)) throw new Error(`${base}/: not a folder listing`);
  const entries = new Map<string, FolderEntry>();
  for (const f of listing.files as { path: unknown; size: unknown }[]) {
    if (typeof f.path !== 'string' || typeof f.size !== 'number') throw new Error(`${base}/: malformed entry ${JSON.stringify(f)}`);
    const url = `${base}/${f.path.split('/').map(encodeURIComponent).join('/')}`;
    entries.set(f.path, { size: f.size, read: () => fetchBytes(url) });
  }
  return entries;
}

function sourceKey(src: SdFolderSource | undefined): unknown {
  if (!src) return null;
  // a picked folder is known by its files: picking the same folder again reuses the loaded sessions
  return src.kind === 'served' ? ['served', src.name] : ['picked', src.name, src.files.map((f) => [f.path, f.file.size, f.file.lastModified])];
}

let onRun: (() => void) | undefined;
const hosts = new Map<string, Promise<ModelHost>>();

function hostFor(q: SdRequest): Promise<ModelHost> {
  const key = JSON.stringify([sourceKey(q.main), sourceKey(q.weak), q.provider, q.threads]);
  let h = hosts.get(key);
  if (!h) {
    h = (async () => {
      const roots = [q.main, ...(q.weak ? [q.weak] : [])];
      const files = await SnapshotFiles.mount(await Promise.all(roots.map(async (src) => ({ root: mountPoint(src), entries: await folderEntries(src) }))));
      const shaderF16 = q.provider === 'webgpu' && (await webgpuShaderF16());
      return webModelHost(files, { provider: q.provider, threads: q.threads }, { onRun: () => onRun?.(), shaderF16 });
    })();
    hosts.set(key, h);
    h.catch(() => hosts.delete(key));
  }
  return h;
}

/** Both requests are resolved (checked) before either image starts. */
async function run(q: SdRequest, signal: AbortSignal): Promise<SdResult[]> {
  const folders = { model: mountPoint(q.main), weakModel: q.weak ? mountPoint(q.weak) : undefined, batch: 1 };
  const jobs = [{ label: q.settings.method ?? 'cfg', settings: q.settings }, ...(q.compare ? [{ label: q.compare, settings: comparisonSettings(q.settings, q.compare) }] : [])];
  const reqs = jobs.map((j) => resolveRequest({ ...j.settings, ...folders }));
  const out: SdResult[] = [];
  for (const [k, job] of jobs.entries()) out.push(await runOne(q, job.label, { ...job.settings, ...folders }, reqs[k], signal));
  return out;
}

async function runOne(q: SdRequest, label: string, settings: GenerateOptions, req: Request, signal: AbortSignal): Promise<SdResult> {
  const { warnings, warn } = warningsCollector({});
  const post = (m: Omit<Extract<SdFromWorker, { type: 'progress' }>, 'type' | 'id'>) => scope.postMessage({ type: 'progress', id: q.id, ...m });
  post({ step: 0, steps: req.steps, evaluations: 0, expected: 0, label: `${label}: loading the models` });
  const host = await hostFor(q);
  let last = { step: 0, steps: req.steps, expected: 0 };
  let calls = 0;
  onRun = () => post({ ...last, evaluations: ++calls, label: `${label}: step ${last.step + 1} of ${last.steps}` });
  const t0 = performance.now();
  const r = await render(req, { ...settings, signal, onProgress: (p) => (last = { step: p.step, steps: p.steps, expected: p.expectedEvaluations }) }, host, warn);
  onRun = undefined;
  const img = r.images[0];
  const png = withTextChunks(encodePngRgb({ width: img.width, height: img.height, data: img.rgb, channels: 3, depth: 8 }), r.texts[0]);
  return {
    label,
    png,
    fileName: `w2sd-${label.replace(/ /g, '-')}-seed${r.seed}.png`,
    width: img.width,
    height: img.height,
    rgb: img.rgb,
    latents: r.latents,
    parameters: r.texts[0].parameters,
    method: r.method,
    steps: r.steps,
    lambda: r.lambda,
    evaluations: r.evaluations,
    expectedEvaluations: r.expectedEvaluations,
    seconds: (performance.now() - t0) / 1000,
    warnings,
  };
}

let current: { id: number; controller: AbortController } | undefined;

scope.onmessage = async (e) => {
  const m = e.data;
  if (m.type === 'cancel') {
    if (current?.id === m.id) current.controller.abort();
    return;
  }
  const controller = new AbortController();
  current = { id: m.request.id, controller };
  try {
    const results = await run(m.request, controller.signal);
    scope.postMessage({ type: 'done', id: m.request.id, results }, results.flatMap((r) => [r.png.buffer as ArrayBuffer, r.latents.buffer as ArrayBuffer]));
  } catch (err) {
    const cancelled = controller.signal.aborted;
    scope.postMessage({ type: 'error', id: m.request.id, cancelled, message: cancelled ? 'cancelled' : err instanceof Error ? err.message : String(err) });
  } finally {
    onRun = undefined;
    if (current?.controller === controller) current = undefined;
  }
};
