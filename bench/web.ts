import { gzipSync } from 'node:zlib';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { build } from 'esbuild';
import { COMPARE_PAIRS, type CompareOptions } from '../src/lab/mnist/compare.js';
import { ModelShelf, projectRoot } from '../src/lab/mnist/models.js';
import { defaultWebRoot } from '../src/server/app.js';
import { steadyCallMs } from '../src/web/steady.js';
import { startWebSession } from '../test/helpers/browser.js';

/*
 * The web app's cost: (1) one call of the strong MNIST model in Chromium (onnxruntime-web, threaded
 * WebAssembly) against the same call in onnxruntime-node, on this machine, per batch and per thread count
 * (the same intra-op threads on both sides: 1, and navigator.hardwareConcurrency), interleaved node / browser /
 * node so load drifts show; (2) the size of the core as a minified browser bundle, and of the built pages.
 * Both sides time steady calls (src/web/worker-mnist.ts: V8 optimises hot WebAssembly only after some calls).
 */

const BATCHES = [1, 4, 32, 128];

interface CallRow {
  batch: number;
  threads: number;
  nodeBefore: number;
  browser: number;
  nodeAfter: number;
  ratio: number;
}

async function nodeCallMs(threads: number, batches: readonly number[]): Promise<number[]> {
  const model = await new ModelShelf(undefined, { threads }).model(COMPARE_PAIRS.quality.strong);
  const out: number[] = [];
  for (const b of batches) out.push(await steadyCallMs(model, b));
  return out;
}

async function browserCallMs(threads: number, batches: readonly number[]): Promise<number[]> {
  const web = await startWebSession();
  try {
    const { page } = await web.open('mnist.html');
    await page.waitForFunction(() => document.getElementById('runtime')!.textContent !== '');
    const out: number[] = [];
    for (const batch of batches) {
      const options: CompareOptions = { count: batch, batch, seed: 0, steps: 2, inversion: 'ddim', w: 2 };
      const r = (await page.evaluate(async ({ o, threads }) => {
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
      }, { o: options, threads })) as { callMs: number; threads: number };
      out.push(r.callMs);
    }
    return out;
  } finally {
    await web.close();
  }
}

async function callRows(): Promise<CallRow[]> {
  const rows: CallRow[] = [];
  for (const threads of [1, cpus().length]) {
    const before = await nodeCallMs(threads, BATCHES);
    const browser = await browserCallMs(threads, BATCHES);
    const after = await nodeCallMs(threads, BATCHES);
    BATCHES.forEach((batch, i) => rows.push({ batch, threads, nodeBefore: before[i], browser: browser[i], nodeAfter: after[i], ratio: (2 * browser[i]) / (before[i] + after[i]) }));
  }
  return rows;
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
  const load = loadavg();
  const rows = await callRows();
  const core = await coreBundleBytes();
  const files = webFiles();
  console.log(`\n## Web: one MNIST model call, Chromium (onnxruntime-web, WebAssembly) vs onnxruntime-node (ms, median of 9 steady calls; load average ${load.map((l) => l.toFixed(2)).join(', ')} at the start)\n`);
  console.log('| batch | threads (both) | node before | browser | node after | browser / node |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.batch} | ${r.threads} | ${r.nodeBefore.toFixed(1)} | ${r.browser.toFixed(1)} | ${r.nodeAfter.toFixed(1)} | ${r.ratio.toFixed(2)}× |`);
  console.log(`\n## Web: bundle sizes\n\ncore (src/core/index.ts, esbuild minified, browser ESM): ${core.minified} bytes, ${core.gzip} gzip\n`);
  console.log('| file (dist/web) | bytes | gzip |\n| --- | --- | --- |');
  for (const f of files) console.log(`| ${f.file} | ${f.bytes} | ${f.gzip} |`);
  return { load, calls: rows, core, files };
}
