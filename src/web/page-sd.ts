import { INVERSIONS, SAMPLERS } from '../core/index.js';
import { METHODS, type MethodName } from '../pipelines/options.js';
import { PAIR_PRESETS, type PairPreset } from '../pipelines/presets.js';
import { GENERATE_RANGES as R } from '../pipelines/ranges.js';
import { defaultRuntime, showEnv, type BrowserEnv, type WebProvider } from './env.js';
import { COMPARISONS, type SdComparison, type SdFolderSource, type SdFromWorker, type SdRequest, type SdResult, type SdSettings } from './sd-protocol.js';
import { $, el, fillSelect, input, numberField, rgbaCanvas, select } from './ui.js';

/** The pairs a page can run: the lora pair needs a LoRA file merged into the model, which is the CLI's job. */
const PAGE_PAIRS = PAIR_PRESETS.filter((p) => p !== 'lora');
const PICK = 'pick a folder…';
const NONE = 'none';

/** The folder a select names: a served model, or the files of the folder picked beside it. */
function folderSource(sourceId: string, pickerId: string, what: string): SdFolderSource | undefined {
  const v = select(sourceId).value;
  if (v === NONE) return undefined;
  if (v !== PICK) return { kind: 'served', name: v };
  const list = input(pickerId).files;
  if (!list || list.length === 0) throw new Error(`${what}: pick a model folder (the one holding model_index.json)`);
  const files = Array.from(list, (file) => {
    // webkitRelativePath is "picked-folder/sub/file": paths inside the folder drop the first part
    const rel = file.webkitRelativePath || file.name;
    return { path: rel.slice(rel.indexOf('/') + 1), file };
  });
  const name = (list[0].webkitRelativePath || 'picked').split('/')[0];
  if (!files.some((f) => f.path === 'model_index.json')) throw new Error(`${what}: the picked folder "${name}" has no model_index.json (expected an optimum ONNX Stable Diffusion folder)`);
  return { kind: 'picked', name, files };
}

function settings(): SdSettings {
  const steps = numberField('steps', 'T (steps)', { integer: true, ...R.steps })!;
  const text = (id: string) => (input(id).value.trim() === '' ? undefined : input(id).value);
  const pair = select('pair').value;
  return {
    prompt: ($('prompt') as HTMLTextAreaElement).value,
    negativePrompt: text('negative'),
    method: select('method').value as MethodName,
    pair: pair === NONE ? undefined : (pair as PairPreset),
    weakPrompt: pair === 'prompt' ? input('weak-prompt').value : undefined,
    steps,
    lambda: numberField('lambda', 'λ', { integer: true, min: 0, max: Math.max(0, steps - 1), optional: true }),
    seed: numberField('seed', 'seed', { integer: true, ...R.seed })!,
    guidance: numberField('guidance', 'CFG scale', R.guidance)!,
    width: numberField('width', 'width', { integer: true, ...R.size, optional: true }),
    height: numberField('height', 'height', { integer: true, ...R.size, optional: true }),
    sampler: select('sampler').value as SdSettings['sampler'],
    inversion: select('inversion').value as SdSettings['inversion'],
    equalCompute: (input('equal-compute') as HTMLInputElement).checked || undefined,
  };
}

/** WebGPU refused up front with what to do, rather than as an onnxruntime error deep in loading. */
function checkProvider(provider: WebProvider, env: BrowserEnv): void {
  if (provider === 'webgpu' && !env.webgpu) {
    throw new Error('execution: WebGPU is not available in this browser (no navigator.gpu adapter); choose wasm (WebAssembly), or enable WebGPU (Chrome 113+, or --enable-unsafe-webgpu)');
  }
}

let nextId = 1;

/** The SD worker lives across runs (models load once); cancel asks it to stop between steps. */
class SdRunner {
  private worker = this.start();
  private pending?: { id: number; resolve: (r: readonly SdResult[] | undefined) => void };

  private start(): Worker {
    const w = new Worker(new URL('./worker-sd.js', import.meta.url), { type: 'module' });
    w.onmessage = (e: MessageEvent<SdFromWorker>) => this.receive(e.data);
    w.onerror = (e) => this.fail(`worker failed: ${e.message}`);
    return w;
  }

  private receive(m: SdFromWorker): void {
    if (!this.pending || m.id !== this.pending.id) return;
    if (m.type === 'progress') {
      const bar = $('bar') as HTMLProgressElement;
      bar.max = Math.max(1, m.steps);
      bar.value = m.step;
      $('status').textContent = m.step === 0 && m.evaluations === 0 ? m.label : `${m.label} · ${m.evaluations} network calls`;
      return;
    }
    const { resolve } = this.pending;
    this.pending = undefined;
    this.idle();
    if (m.type === 'done') {
      resolve(m.results);
    } else {
      if (m.cancelled) $('status').textContent = 'cancelled';
      else this.fail(m.message);
      resolve(undefined);
    }
  }

  private fail(message: string): void {
    $('error').textContent = message;
    $('status').textContent = 'failed';
    this.pending?.resolve(undefined);
    this.pending = undefined;
    this.idle();
  }

  private idle(): void {
    ($('run') as HTMLButtonElement).disabled = false;
    ($('cancel') as HTMLButtonElement).disabled = true;
  }

  run(request: Omit<SdRequest, 'id'>): Promise<readonly SdResult[] | undefined> {
    const id = nextId++;
    $('error').textContent = '';
    $('status').textContent = 'starting…';
    ($('run') as HTMLButtonElement).disabled = true;
    ($('cancel') as HTMLButtonElement).disabled = false;
    return new Promise((resolve) => {
      this.pending = { id, resolve };
      this.worker.postMessage({ type: 'run', request: { ...request, id } });
    });
  }

  cancel(): void {
    const p = this.pending;
    if (!p) return;
    $('status').textContent = 'cancelling…';
    this.worker.postMessage({ type: 'cancel', id: p.id });
    // a step can be one long network call: if the worker does not stop soon, replace it
    setTimeout(() => {
      if (this.pending?.id !== p.id) return;
      this.worker.terminate();
      this.worker = this.start();
      this.pending = undefined;
      $('status').textContent = 'cancelled';
      this.idle();
      p.resolve(undefined);
    }, 3000);
  }
}

let downloadUrls: string[] = [];

/** One image with its download link, parameters and cost. */
function card(r: SdResult): HTMLElement {
  const rgba = new Uint8ClampedArray(r.width * r.height * 4);
  for (let i = 0; i < r.width * r.height; i++) rgba.set([r.rgb[3 * i], r.rgb[3 * i + 1], r.rgb[3 * i + 2], 255], 4 * i);
  const url = URL.createObjectURL(new Blob([r.png as BlobPart], { type: 'image/png' }));
  downloadUrls.push(url);
  const summary = `${r.steps} steps${r.lambda !== undefined ? `, λ = ${r.lambda}` : ''}, ${r.evaluations} model evaluations (expected ${r.expectedEvaluations}), ${r.seconds.toFixed(1)} s` +
    (r.warnings.length ? ` · ${r.warnings.join(' · ')}` : '');
  return el('div', { className: 'sd-card' }, [
    el('h3', { textContent: r.label }),
    rgbaCanvas(r.width, r.height, rgba),
    el('div', { className: 'buttons' }, [el('a', { className: 'button download', href: url, download: r.fileName, textContent: 'Download PNG' })]),
    el('pre', { className: 'legend parameters', textContent: r.parameters }),
    el('div', { className: 'legend', textContent: summary }),
  ]);
}

function show(results: readonly SdResult[]): void {
  for (const u of downloadUrls) URL.revokeObjectURL(u);
  downloadUrls = [];
  $('images').replaceChildren(...results.map(card));
  (globalThis as { w2sdSdResults?: readonly SdResult[] }).w2sdSdResults = results;
}

async function listServed(): Promise<string[]> {
  const config = (await (await fetch('/config.json')).json()) as { sdModels?: boolean };
  if (!config.sdModels) return [];
  const r = await fetch('/sd-models/');
  return r.ok ? ((await r.json()) as { models: string[] }).models : [];
}

function togglePickers(): void {
  $('picker').hidden = select('source').value !== PICK;
  $('weak-picker').hidden = select('weak-source').value !== PICK;
  $('weak-prompt-row').hidden = select('pair').value !== 'prompt';
}

async function main(): Promise<void> {
  const env = await showEnv();
  const rt = defaultRuntime(env);
  const served = await listServed();
  fillSelect(select('source'), [...served, PICK], served[0] ?? PICK);
  fillSelect(select('weak-source'), [NONE, ...served, PICK], NONE);
  fillSelect(select('method'), METHODS, 'w2sd');
  fillSelect(select('pair'), [NONE, ...PAGE_PAIRS], 'guidance');
  fillSelect(select('sampler'), SAMPLERS, 'ddim');
  fillSelect(select('inversion'), INVERSIONS, 'ddim');
  fillSelect(select('provider'), ['wasm', 'webgpu'], rt.provider);
  fillSelect(select('compare'), [NONE, ...COMPARISONS], 'cfg');
  $('model-info').textContent = served.length ? `${served.length} folder(s) from w2sd serve --models.` : 'No served folders (start w2sd serve --models DIR to list some); pick one instead.';
  $('runtime').textContent = `onnxruntime-web: ${env.webgpu ? 'WebGPU available' : 'no WebGPU adapter, so WebAssembly'}; ${rt.threads} WebAssembly thread(s). ` +
    'WebAssembly holds at most 4 GiB: an fp32 SD 1.5 UNet (3.4 GB) does not fit; use an fp16 export, or WebGPU.';
  for (const id of ['source', 'weak-source', 'pair']) select(id).addEventListener('change', togglePickers);
  togglePickers();
  const runner = new SdRunner();
  ($('cancel') as HTMLButtonElement).disabled = true;
  $('cancel').addEventListener('click', () => runner.cancel());
  $('run').addEventListener('click', async () => {
    let request: Omit<SdRequest, 'id'>;
    try {
      const provider = select('provider').value as WebProvider;
      checkProvider(provider, env);
      const main = folderSource('source', 'folder', 'main model')!;
      const compare = select('compare').value;
      request = { main, weak: folderSource('weak-source', 'weak-folder', 'weak model'), settings: settings(), compare: compare === NONE ? undefined : (compare as SdComparison), provider, threads: rt.threads };
    } catch (e) {
      $('error').textContent = (e as Error).message;
      return;
    }
    $('results').dataset.state = 'running';
    const r = await runner.run(request);
    if (!r) {
      $('results').dataset.state = 'failed';
      return;
    }
    show(r);
    $('results').dataset.state = 'done';
    $('status').textContent = `done in ${r.reduce((t, x) => t + x.seconds, 0).toFixed(1)} s`;
  });
  $('results').dataset.ready = 'true';
}

await main();
