import { INVERSIONS, type InversionKind } from '../core/reflection.js';
import { COMPARE_PAIRS, type CompareOptions, type ComparePair } from '../lab/mnist/compare.js';
import { imageGrid } from '../lab/mnist/grid-image.js';
import { defaultRuntime, showEnv, type WebProvider } from './env.js';
import type { MnistRequest, MnistResult, MnistRow } from './mnist-protocol.js';
import { $, JobRunner, wireRun, el, fillSelect, numberField, select } from './ui.js';

const DIGITS = 10;

function greyCanvas(images: Float32Array, count: number): HTMLCanvasElement {
  const g = imageGrid(images, count, 28, 28, { cols: Math.min(10, count), pad: 2, padValue: 60 });
  const rgba = new Uint8ClampedArray(g.width * g.height * 4);
  for (let i = 0; i < g.pixels.length; i++) rgba.set([g.pixels[i], g.pixels[i], g.pixels[i], 255], 4 * i);
  const c = el('canvas', { width: g.width, height: g.height });
  c.getContext('2d')!.putImageData(new ImageData(rgba, g.width, g.height), 0, 0);
  return c;
}

function histogram(predicted: Int32Array): HTMLElement {
  const counts = new Array<number>(DIGITS).fill(0);
  for (const p of predicted) counts[p]++;
  const max = Math.max(1, ...counts);
  return el('div', { className: 'hist', title: 'classifier: images per digit' }, counts.map((n, d) => {
    const bar = el('div', {}, [el('span', { textContent: String(d) })]);
    bar.style.height = `${(100 * n) / max}%`;
    bar.title = `${d}: ${n}`;
    return bar;
  }));
}

/** What the classifier says: accuracy for conditional rows, the 7-share for the 0/7 imbalance pair. */
function score(pair: ComparePair, r: MnistRow): string {
  const n = r.predicted.length;
  if (pair === 'imbalance') {
    let sevens = 0;
    let zeros = 0;
    for (const p of r.predicted) {
      if (p === 7) sevens++;
      else if (p === 0) zeros++;
    }
    return `7s ${((100 * sevens) / n).toFixed(0)} % · 0s ${((100 * zeros) / n).toFixed(0)} % (ideal 50 / 50)`;
  }
  let hits = 0;
  r.predicted.forEach((p, i) => (hits += p === r.labels[i] ? 1 : 0));
  return `class accuracy ${((100 * hits) / n).toFixed(0)} %`;
}

function showResult(q: MnistRequest, r: MnistResult): void {
  const pair = q.pair;
  $('title').textContent = r.title;
  const head = el('tr', {}, ['method', 'NFE', 'network rows / image', 'seconds', 'classifier'].map((h) => el('th', { textContent: h })));
  $('table').replaceChildren(el('thead', {}, [head]), el('tbody', {}, r.rows.map((row) =>
    el('tr', {}, [row.name, String(row.nfe), row.networkPerImage.toFixed(0), row.seconds.toFixed(1), score(pair, row)].map((c) => el('td', { textContent: c }))))));
  $('speed').textContent = `${r.provider}, ${r.threads} thread(s): one strong-model call on a batch of ${q.options.batch} takes ${r.callMs.toFixed(1)} ms (median of 9).`;
  $('cards').replaceChildren(...r.rows.map((row) => el('div', { className: 'card' }, [
    el('h3', { textContent: `${row.name} · NFE ${row.nfe}` }),
    greyCanvas(row.images, row.predicted.length),
    histogram(row.predicted),
    el('div', { className: 'legend', textContent: score(pair, row) }),
  ])));
  (globalThis as { w2sdMnistResult?: MnistResult }).w2sdMnistResult = r;
}

function request(provider: WebProvider, threads: number): MnistRequest {
  const steps = numberField('steps', 'T (steps)', { integer: true, min: 2, max: 1000 })!;
  const options: CompareOptions = {
    count: numberField('count', 'samples', { integer: true, min: 1, max: 1000 })!,
    batch: numberField('batch', 'batch', { integer: true, min: 1, max: 1000 })!,
    seed: numberField('seed', 'seed', { integer: true, min: 0 })!,
    steps,
    lambda: numberField('lambda', 'λ', { integer: true, min: 0, max: steps - 1, optional: true }),
    inversion: select('inversion').value as InversionKind,
    w: numberField('w', 'autoguidance w')!,
  };
  return { pair: select('pair').value as ComparePair, options, provider, threads };
}

async function main(): Promise<void> {
  const env = await showEnv();
  const rt = defaultRuntime(env);
  fillSelect(select('pair'), Object.keys(COMPARE_PAIRS), 'quality');
  fillSelect(select('inversion'), INVERSIONS.filter((i) => i !== 'official-lagged'), 'ddim');
  fillSelect(select('provider'), env.webgpu ? ['webgpu', 'wasm'] : ['wasm'], rt.provider);
  $('runtime').textContent = `onnxruntime-web: ${env.webgpu ? 'WebGPU available' : 'no WebGPU adapter, so WebAssembly'}; ` +
    `${rt.threads} WebAssembly thread(s) (${env.isolated ? 'cross-origin isolated' : 'not isolated: one thread'}).`;
  const runner = new JobRunner<MnistRequest, MnistResult>('./worker-mnist.js', {
    bar: $('bar') as HTMLProgressElement, status: $('status'), run: $('run') as HTMLButtonElement, cancel: $('cancel') as HTMLButtonElement, error: $('error'),
  });
  wireRun(runner, () => request(select('provider').value as WebProvider, rt.threads), showResult);
}

await main();
