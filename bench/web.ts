import { gzipSync } from 'node:zlib';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { tensor } from '../src/core/tensor.js';
import { COMPARE_PAIRS, type CompareOptions } from '../src/lab/mnist/compare.js';
import { ModelShelf, projectRoot } from '../src/lab/mnist/models.js';
import { defaultWebRoot } from '../src/server/app.js';
import { startWebSession } from '../test/helpers/browser.js';

/*
 * The web app's cost: (1) one call of the strong MNIST model in Chromium (onnxruntime-web, threaded
 * WebAssembly, navigator.hardwareConcurrency threads) against the same call in onnxruntime-node (default
 * threads = all cores) on this machine and batch, interleaved node / browser / node so load drifts show;
 * (2) the size of the core as a minified browser bundle, and of the built pages.
 */

const BATCHES = [4, 32];

async function nodeCallMs(batch: number): Promise<number> {
  const model = await new ModelShelf().model(COMPARE_PAIRS.quality.strong);
  const per = model.imageShape[0] * model.imageShape[1] * model.imageShape[2];
  const x = tensor(new Float32Array(batch * per).fill(0.1), [batch, ...model.imageShape]);
  const labels = new Int32Array(batch).fill(model.config.nullClass);
  await model.network(x, 500, labels);
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    await model.network(x, 500, labels);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[4];
}

async function browserCallMs(batches: readonly number[]): Promise<{ batch: number; ms: number; threads: number }[]> {
  const web = await startWebSession();
  try {
    const { page } = await web.open('mnist.html');
    await page.waitForFunction(() => document.getElementById('runtime')!.textContent !== '');
    const out: { batch: number; ms: number; threads: number }[] = [];
    for (const batch of batches) {
      const options: CompareOptions = { count: batch, batch, seed: 0, steps: 2, inversion: 'ddim', w: 2 };
      const r = (await page.evaluate(async (o) => {
        const threads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;
        const w = new Worker('./worker-mnist.js', { type: 'module' });
        const res = await new Promise<{ callMs: number; threads: number }>((resolve, reject) => {
          w.onmessage = (e) => {
            if (e.data.type === 'done') resolve(e.data.result);
            else if (e.data.type === 'error') reject(new Error(e.data.message));
          };
          w.postMessage({ pair: 'quality', options: o, provider: 'wasm', threads, timeOnly: true });
        });
        w.terminate();
        return res;
      }, options)) as { callMs: number; threads: number };
      out.push({ batch, ms: r.callMs, threads: r.threads });
    }
    return out;
  } finally {
    await web.close();
  }
}

async function coreBundleBytes(): Promise<{ minified: number; gzip: number }> {
  const r = await build({ entryPoints: [join(projectRoot(), 'src', 'core', 'index.ts')], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
  const bytes = r.outputFiles[0].contents;
  return { minified: bytes.length, gzip: gzipSync(bytes).length };
}

function webFiles(): { file: string; bytes: number; gzip: number }[] {
  const root = defaultWebRoot();
  return readdirSync(root)
    .filter((f) => f.endsWith('.js'))
    .map((f) => {
      const p = join(root, f);
      return { file: f, bytes: statSync(p).size, gzip: gzipSync(readFileSync(p)).length };
    });
}

export async function benchWeb(): Promise<unknown> {
  const before: number[] = [];
  for (const b of BATCHES) before.push(await nodeCallMs(b));
  const browser = await browserCallMs(BATCHES);
  const after: number[] = [];
  for (const b of BATCHES) after.push(await nodeCallMs(b));
  const core = await coreBundleBytes();
  const files = webFiles();
  console.log('\n## Web: one MNIST model call, Chromium (onnxruntime-web, threaded WASM) vs onnxruntime-node (ms, median of 9)\n');
  console.log('| batch | node before | browser | node after | browser / node | browser threads |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const rows = BATCHES.map((b, i) => {
    const node = (before[i] + after[i]) / 2;
    const br = browser[i];
    console.log(`| ${b} | ${before[i].toFixed(1)} | ${br.ms.toFixed(1)} | ${after[i].toFixed(1)} | ${(br.ms / node).toFixed(2)}× | ${br.threads} |`);
    return { batch: b, nodeBefore: before[i], browser: br.ms, nodeAfter: after[i], ratio: br.ms / node, threads: br.threads };
  });
  console.log(`\n## Web: bundle sizes\n\ncore (src/core/index.ts, esbuild minified, browser ESM): ${core.minified} bytes, ${core.gzip} gzip\n`);
  console.log('| file (dist/web) | bytes | gzip |\n| --- | --- | --- |');
  for (const f of files) console.log(`| ${f.file} | ${f.bytes} | ${f.gzip} |`);
  return { calls: rows, core, files };
}
