import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { pngText } from '../src/eval/scorers/image.js';
import { generate, type GenerateOptions } from '../src/pipelines/index.js';
import { screenshotPath, startWebSession, type WebSession } from './helpers/browser.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';

// The Stable Diffusion page in Debian's Chromium on test model folders (optimum layout, built here), against
// `generate` in Node on the same folders: the page runs the CLI's pipeline on onnxruntime-web.

let web: WebSession;
let root: string;
let served: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'w2sd-web-sd-'));
  served = join(root, 'served');
  // the helper links the real tiny components; the server serves nothing that leaves its folder, so copy them
  // tiny-sd-fp16: a UNet with float16 inputs and outputs (timestep too), as fp16 exports have; tiny-sd-external:
  // its UNet weights in model.onnx_data beside the graph, as large exports keep them; tiny-sdxl: two encoders
  const folders = [
    ['tiny-sd', 'sd1', { seed: 1 }],
    ['tiny-sd-weak', 'sd1', { seed: 5 }],
    ['tiny-sd-fp16', 'sd1', { seed: 1, io: 'float16', timestep: 'float16' }],
    ['tiny-sd-external', 'sd1', { seed: 3, external: 'model.onnx_data' }],
    ['tiny-sdxl', 'sdxl', { seed: 4 }],
  ] as const;
  for (const [name, family, unet] of folders) {
    writeTinySdFolder(join(root, 'built', name), { family, unet });
    cpSync(join(root, 'built', name), join(served, name), { recursive: true, dereference: true });
  }
  // a UNet too large for WebAssembly's memory: a sparse file, so its size costs no disk
  cpSync(join(served, 'tiny-sd'), join(served, 'huge-sd'), { recursive: true });
  truncateSync(join(served, 'huge-sd', 'unet', 'model.onnx'), 3.5 * 2 ** 30);
  web = await startWebSession({ sdModelsDir: served });
});
after(async () => {
  await web?.close();
  rmSync(root, { recursive: true, force: true });
});

interface PageSd {
  label: string;
  png: Record<string, number>;
  latents: Record<string, number>;
  parameters: string;
  evaluations: number;
  expectedEvaluations: number;
  width: number;
  height: number;
}

/** PNG pixels (pngjs) and text chunks (the scorers' PNG reader), decoded independently of either writer. */
function readPng(bytes: Uint8Array): { width: number; height: number; rgb: number[]; text: Record<string, string> } {
  const png = PNG.sync.read(Buffer.from(bytes));
  const rgb: number[] = [];
  for (let i = 0; i < png.width * png.height; i++) rgb.push(png.data[4 * i], png.data[4 * i + 1], png.data[4 * i + 2]);
  return { width: png.width, height: png.height, rgb, text: pngText(Buffer.from(bytes), 'page PNG') };
}

async function fillForm(page: Page, o: { steps: number; seed: number; method: string; pair: string; prompt: string; compare?: string }): Promise<void> {
  await page.waitForSelector('#results[data-ready=true]');
  await page.fill('#prompt', o.prompt);
  await page.fill('#steps', String(o.steps));
  await page.fill('#seed', String(o.seed));
  await page.selectOption('#method', o.method);
  await page.selectOption('#pair', o.pair);
  await page.selectOption('#compare', o.compare ?? 'none');
}

/** The page's images: the chosen method's, then the comparison's. */
async function generateOnPage(page: Page): Promise<PageSd[]> {
  await page.click('#run');
  await page.waitForSelector('#results:is([data-state=done], [data-state=failed])', { timeout: 240_000 });
  const error = await page.textContent('#error');
  assert.equal(error, '', 'the page reported an error');
  return (await page.evaluate(() => (globalThis as unknown as { w2sdSdResults: unknown }).w2sdSdResults)) as PageSd[];
}

/** The page's image against `generate`'s PNG: the same parameters, latents within 1e-3, pixels within one level. */
async function compareWithNode(got: PageSd, o: GenerateOptions, tol = { latents: 1e-3, levels: 1 }): Promise<{ latents: number; levels: number }> {
  const out = join(root, `node-${Date.now()}.png`);
  const node = await generate({ ...o, output: out });
  assert.equal(got.evaluations, node.evaluations);
  assert.equal(got.expectedEvaluations, node.expectedEvaluations);
  const latents = Object.values(got.latents);
  assert.equal(latents.length, node.latents.length);
  let worst = 0;
  for (let i = 0; i < latents.length; i++) worst = Math.max(worst, Math.abs(latents[i] - node.latents[i]));
  assert.ok(worst < tol.latents, `latents differ by ${worst}`);
  const mine = readPng(Uint8Array.from(Object.values(got.png)));
  const theirs = readPng(readFileSync(out));
  assert.deepEqual([mine.width, mine.height], [theirs.width, theirs.height]);
  let levels = 0;
  for (let i = 0; i < mine.rgb.length; i++) levels = Math.max(levels, Math.abs(mine.rgb[i] - theirs.rgb[i]));
  assert.ok(levels <= tol.levels, `pixels differ by ${levels} levels`);
  assert.equal(mine.text.parameters, theirs.text.parameters);
  assert.equal(got.parameters, theirs.text.parameters);
  const record = (t: string) => ({ ...(JSON.parse(t) as Record<string, unknown>), model: undefined, legs: undefined });
  assert.deepEqual(record(mine.text.w2sd), record(theirs.text.w2sd));
  return { latents: worst, levels };
}

/**
 * A float16 output moves by one float16 step (2^-11 relative, 1e-3 at magnitude 2) wherever the two runtimes'
 * float32 sums straddle a rounding boundary; a few such steps per evaluation carry through the sampler.
 */
const FP16_TOLERANCE = { latents: 1e-2, levels: 2 };

test('SD page, served folder: W2SD with the guidance pair and CFG beside it give the PNGs generate writes (pixels, parameters, latents)', async () => {
  const { page, errors } = await web.open('sd.html');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const o = { steps: 5, seed: 7, method: 'w2sd', pair: 'guidance', prompt: 'a red cube on a table', compare: 'cfg' };
  await fillForm(page, o);
  await page.selectOption('#source', 'tiny-sd');
  const [got, baseline] = await generateOnPage(page);
  assert.deepEqual([got.label, baseline.label], ['w2sd', 'cfg']);
  await page.screenshot({ path: screenshotPath('sd'), fullPage: true });
  // the Download link saves exactly the PNG the page made, under a name that says what it is
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.sd-card >> nth=0 >> a.download')]);
  assert.equal(download.suggestedFilename(), 'w2sd-w2sd-seed7.png');
  const saved = join(root, 'downloaded.png');
  await download.saveAs(saved);
  assert.deepEqual(readFileSync(saved), Buffer.from(Object.values(got.png)));
  assert.deepEqual(errors, []);
  await page.close();
  const common = { model: join(served, 'tiny-sd'), prompt: o.prompt, steps: o.steps, seed: o.seed, pair: 'guidance' } as const;
  await compareWithNode(got, { ...common, method: 'w2sd' });
  await compareWithNode(baseline, { ...common, method: 'cfg' });
});

test('SD page, an fp16 export (float16 UNet inputs and outputs) on WebAssembly: the same image as generate', async () => {
  const { page, errors } = await web.open('sd.html');
  const o = { steps: 4, seed: 2, method: 's2wd', pair: 'guidance', prompt: 'a cat' };
  await fillForm(page, o);
  await page.selectOption('#source', 'tiny-sd-fp16');
  const [got] = await generateOnPage(page);
  assert.deepEqual(errors, []);
  await page.close();
  const diff = await compareWithNode(got, { model: join(served, 'tiny-sd-fp16'), prompt: o.prompt, steps: o.steps, seed: o.seed, method: 's2wd', pair: 'guidance' }, FP16_TOLERANCE);
  console.log(`wasm fp16 UNet vs onnxruntime-node: latents within ${diff.latents.toExponential(2)}, pixels within ${diff.levels} level(s)`);
});

test('SD page, an SDXL folder and a UNet with external weights (model.onnx_data): the images generate writes', async () => {
  const { page, errors } = await web.open('sd.html');
  for (const [folder, method] of [['tiny-sdxl', 'w2sd'], ['tiny-sd-external', 'cfg']] as const) {
    const o = { steps: 3, seed: 9, method, pair: 'guidance', prompt: 'a bowl of soup' };
    await fillForm(page, o);
    await page.selectOption('#source', folder);
    const [got] = await generateOnPage(page);
    await compareWithNode(got, { model: join(served, folder), prompt: o.prompt, steps: o.steps, seed: o.seed, method, pair: 'guidance' });
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('SD page, picked folders: the weights pair (main picked, weak served) equals generate --weak-model', async () => {
  const { page, errors } = await web.open('sd.html');
  const o = { steps: 4, seed: 3, method: 'w2sd', pair: 'weights', prompt: 'an owl' };
  await fillForm(page, o);
  await page.selectOption('#source', 'pick a folder…');
  await page.setInputFiles('#folder', join(served, 'tiny-sd'));
  await page.selectOption('#weak-source', 'tiny-sd-weak');
  const [got] = await generateOnPage(page);
  assert.deepEqual(errors, []);
  await page.close();
  await compareWithNode(got, { model: join(served, 'tiny-sd'), weakModel: join(served, 'tiny-sd-weak'), prompt: o.prompt, steps: o.steps, seed: o.seed, method: 'w2sd', pair: 'weights' });
});

test('SD page: bad input is refused with a message, and a run can be cancelled and followed by another', async () => {
  const { page, errors } = await web.open('sd.html');
  await fillForm(page, { steps: 4, seed: 0, method: 'w2sd', pair: 'guidance', prompt: 'x' });
  await page.selectOption('#source', 'tiny-sd');
  const refused = async (field: string, value: string, message: RegExp) => {
    const before = await page.inputValue(field);
    await page.fill(field, value);
    await page.click('#run');
    assert.match((await page.textContent('#error')) ?? '', message);
    assert.equal(await page.getAttribute('#results', 'data-state'), 'idle');
    await page.fill(field, before);
  };
  await refused('#steps', '0', /T \(steps\): must be ≥ 1/);
  await refused('#seed', '-1', /seed: must be ≥ 0/);
  await refused('#width', '12.5', /width: expected an integer/);
  // a size the VAE cannot make: refused by the pipeline before any step
  await page.fill('#width', '12');
  await page.click('#run');
  await page.waitForSelector('#results[data-state=failed]');
  assert.match((await page.textContent('#error')) ?? '', /width 12: expected a positive multiple of 16/);
  await page.fill('#width', '');
  // no folder picked; then a folder that is not a model
  await page.selectOption('#source', 'pick a folder…');
  await page.click('#run');
  assert.match((await page.textContent('#error')) ?? '', /main model: pick a model folder/);
  await page.setInputFiles('#folder', join(root, 'built', 'tiny-sd', 'unet'));
  await page.click('#run');
  assert.match((await page.textContent('#error')) ?? '', /has no model_index\.json/);
  const webgpu = await page.evaluate(async () => Boolean(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
  if (!webgpu) {
    await page.selectOption('#provider', 'webgpu');
    await page.click('#run');
    assert.match((await page.textContent('#error')) ?? '', /WebGPU is not available in this browser/);
    await page.selectOption('#provider', 'wasm');
  }
  // a model that cannot fit is refused by its size, before its bytes are fetched
  await page.selectOption('#source', 'huge-sd');
  await page.click('#run');
  await page.waitForSelector('#results[data-state=failed]');
  assert.match((await page.textContent('#error')) ?? '', /huge-sd\/unet\/model\.onnx: the models need 3\.50 GiB, more than WebAssembly's memory holds here .* use an fp16 export, or WebGPU/);
  // cancel a long run between steps, then run again on the loaded models
  await page.selectOption('#source', 'tiny-sd');
  await page.fill('#steps', '900');
  await page.click('#run');
  await page.waitForFunction(() => /step \d+ of/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 120_000 });
  await page.click('#cancel');
  await page.waitForSelector('#results[data-state=failed]');
  assert.equal(await page.textContent('#status'), 'cancelled');
  assert.equal(await page.textContent('#error'), '');
  await page.fill('#steps', '2');
  await page.selectOption('#method', 'cfg');
  const [got] = await generateOnPage(page);
  assert.equal(got.evaluations, 2);
  assert.deepEqual(errors, []);
  await page.close();
});

test('SD page without served folders: loads clean and offers the folder picker', async () => {
  const bare = await startWebSession();
  try {
    const { page, errors } = await bare.open('sd.html');
    await page.waitForSelector('#results[data-ready=true]');
    assert.deepEqual(await page.$$eval('#source option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['pick a folder…']);
    assert.equal(await page.isVisible('#folder'), true);
    assert.match((await page.textContent('#model-info')) ?? '', /No served folders/);
    assert.deepEqual(errors, []);
  } finally {
    await bare.close();
  }
});

test('SD page on WebGPU (Chromium\'s software adapter, --enable-unsafe-webgpu): the same image as generate', async () => {
  const gpu = await startWebSession({ sdModelsDir: served }, ['--enable-unsafe-webgpu']);
  try {
    const { page, errors } = await gpu.open('sd.html');
    await page.waitForSelector('#results[data-ready=true]');
    // the software adapter is what this test is about: without it there is nothing to test, and that must show
    assert.match((await page.textContent('#env')) ?? '', /WebGPU yes/, 'Chromium offered no WebGPU adapter with --enable-unsafe-webgpu');
    const o = { steps: 3, seed: 11, method: 'w2sd', pair: 'guidance', prompt: 'a lighthouse' };
    await fillForm(page, o);
    await page.selectOption('#source', 'tiny-sd');
    await page.selectOption('#provider', 'webgpu');
    const [got] = await generateOnPage(page);
    const diff = await compareWithNode(got, { model: join(served, 'tiny-sd'), prompt: o.prompt, steps: o.steps, seed: o.seed, method: 'w2sd', pair: 'guidance' });
    console.log(`WebGPU vs onnxruntime-node: latents within ${diff.latents.toExponential(2)}, pixels within ${diff.levels} level(s)`);
    // an fp16 export on WebGPU needs the adapter's shader-f16, which SwiftShader lacks: refused, not run wrong
    const f16 = await page.evaluate(async () => (await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ features: Set<string> }> } }).gpu.requestAdapter()).features.has('shader-f16'));
    await page.selectOption('#source', 'tiny-sd-fp16');
    if (f16) {
      const [half] = await generateOnPage(page);
      const halfDiff = await compareWithNode(half, { model: join(served, 'tiny-sd-fp16'), prompt: o.prompt, steps: o.steps, seed: o.seed, method: 'w2sd', pair: 'guidance' }, FP16_TOLERANCE);
      console.log(`WebGPU fp16 UNet vs onnxruntime-node: latents within ${halfDiff.latents.toExponential(2)}, pixels within ${halfDiff.levels} level(s)`);
    } else {
      await page.click('#run');
      await page.waitForSelector('#results[data-state=failed]', { timeout: 120_000 });
      assert.match((await page.textContent('#error')) ?? '', /tiny-sd-fp16\/unet\/model\.onnx: an fp16 model .* lacks the shader-f16 feature/);
    }
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await gpu.close();
  }
});
