import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { COMPARE_PAIRS, compareRows, compareSettings, type CompareOptions } from '../src/lab/mnist/compare.js';
import { ModelShelf } from '../src/lab/mnist/models.js';
import { runRow } from '../src/lab/mnist/run.js';
import { argmaxRows } from '../src/eval/classes.js';
import { screenshotPath, startWebSession, type WebSession } from './helpers/browser.js';

// Real Chromium (Debian's package, installed by .ci/run) against the built app on a loopback port.
// No skip when the browser is missing: CI installs it, and a silently skipped suite would prove nothing.
let web: WebSession;

before(async () => {
  web = await startWebSession();
});
after(async () => {
  await web?.close();
});

test('home page: loads clean and is cross-origin isolated', async () => {
  const { page, errors } = await web.open('index.html');
  await page.waitForFunction(() => document.getElementById('caps')!.children.length > 0);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.match((await page.textContent('#env'))!, /^isolated/);
  await page.screenshot({ path: screenshotPath('home'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

interface ToyJson {
  config: Record<string, unknown>;
  rows: { name: string; nfe: number; modeMass: number[]; meanLogLik: number; slicedW1: number }[];
}

/** `w2sd toy --json` in a child process: the CLI's numbers, computed by Node. */
function cliToy(args: string[]): ToyJson {
  const out = mkdtempSync(join(tmpdir(), 'w2sd-toy-'));
  try {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'toy', ...args, '--json', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as ToyJson;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function runLab(page: Page, fields: Record<string, string>): Promise<ToyJson> {
  for (const [id, v] of Object.entries(fields)) await page.fill(`#${id}`, v);
  await page.click('#run');
  await page.waitForSelector('#results[data-state=done]', { timeout: 120_000 });
  return JSON.parse((await page.textContent('#json'))!) as ToyJson;
}

function sameRows(page: ToyJson, cli: ToyJson): void {
  assert.deepEqual(page.config, cli.config);
  assert.deepEqual(page.rows.map((r) => r.name), cli.rows.map((r) => r.name));
  page.rows.forEach((r, i) => {
    const c = cli.rows[i];
    assert.equal(r.nfe, c.nfe, r.name);
    assert.deepEqual(r.modeMass, c.modeMass, `${r.name}: mode masses`);
    assert.ok(Math.abs(r.meanLogLik - c.meanLogLik) < 1e-9 && Math.abs(r.slicedW1 - c.slicedW1) < 1e-9, `${r.name}: metrics`);
  });
}

test('lab page: the 2-D paper toy gives the CLI mode masses for the same seed', async () => {
  const { page, errors } = await web.open('lab.html');
  const got = await runLab(page, { samples: '1500', steps: '16', seed: '7' });
  sameRows(got, cliToy(['--dim', '2', '--samples', '1500', '--steps', '16', '--seed', '7']));
  // W2SD moves mass onto the mode the strong model under-weights (ideal 25 %, strong 10 %)
  const mass = (n: string) => got.rows.find((r) => r.name.startsWith(n))!.modeMass[0];
  assert.ok(mass('W2SD (ddim)') > mass('plain strong') + 0.01, `${mass('W2SD (ddim)')} vs ${mass('plain strong')}`);
  assert.ok((await page.locator('#cards canvas').count()) >= 6);
  await page.screenshot({ path: screenshotPath('lab'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('lab page: a pasted 1-D mixture equals w2sd toy --mixture with that file', async () => {
  const triple = {
    ideal: { dim: 1, components: [{ weight: 0.3, mean: [-3], std: 0.8 }, { weight: 0.7, mean: [2.5], std: 1.2 }] },
    strong: { dim: 1, components: [{ weight: 0.2, mean: [-3], std: 0.8 }, { weight: 0.8, mean: [2.5], std: 1.2 }] },
    weak: { dim: 1, components: [{ weight: 0.05, mean: [-2.5], std: 1 }, { weight: 0.95, mean: [2.5], std: 1.5 }] },
  };
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-mix-'));
  const file = join(dir, 'mix.json');
  writeFileSync(file, JSON.stringify(triple));
  const { page, errors } = await web.open('lab.html');
  await page.click('details summary >> text=JSON');
  await page.fill('#mixture-json', JSON.stringify(triple));
  await page.click('#apply-json');
  assert.equal(await page.textContent('#mixture-error'), '');
  await page.selectOption('#inversion', 'fixed-point');
  const got = await runLab(page, { samples: '1000', steps: '12', seed: '3', lambda: '6' });
  sameRows(got, cliToy(['--mixture', file, '--samples', '1000', '--steps', '12', '--seed', '3', '--lambda', '6', '--inversion', 'fixed-point']));
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('lab page: bad input is refused with a message naming the field', async () => {
  const { page, errors } = await web.open('lab.html');
  await page.fill('#steps', '10');
  await page.fill('#lambda', '10');
  await page.click('#run');
  assert.match((await page.textContent('#error'))!, /λ: must be ≤ 9, got 10/);
  await page.click('details summary >> text=JSON');
  await page.fill('#mixture-json', '{"ideal": 1}');
  await page.click('#apply-json');
  assert.match((await page.textContent('#mixture-error'))!, /pasted JSON: missing field "strong"/);
  assert.deepEqual(errors, []);
  await page.close();
});

interface PageMnist {
  provider: string;
  threads: number;
  callMs: number;
  rows: { id: string; name: string; nfe: number; images: Record<string, number>; predicted: Record<string, number> }[];
}

test('small-models page: the grid equals Node (onnxruntime-node) for the same seeds: digits and latents', async () => {
  const options: CompareOptions = { count: 4, batch: 4, seed: 5, steps: 6, inversion: 'ddim', w: 2 };
  const { page, errors } = await web.open('mnist.html');
  await page.fill('#count', String(options.count));
  await page.fill('#batch', String(options.batch));
  await page.fill('#steps', String(options.steps));
  await page.fill('#seed', String(options.seed));
  await page.click('#run');
  await page.waitForSelector('#results[data-state=done]', { timeout: 240_000 });
  const got = (await page.evaluate(() => (globalThis as unknown as { w2sdMnistResult: unknown }).w2sdMnistResult)) as PageMnist;
  assert.equal(got.provider, 'wasm');
  assert.ok(got.threads >= 1);
  await page.screenshot({ path: screenshotPath('mnist'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();

  // Node: the same rows through onnxruntime-node
  const shelf = new ModelShelf();
  const [strong, weak, classifier] = await Promise.all([shelf.model(COMPARE_PAIRS.quality.strong), shelf.model(COMPARE_PAIRS.quality.weak), shelf.classifier()]);
  const rows = compareRows(strong, weak, options);
  assert.deepEqual(got.rows.map((r) => r.id), rows.map((r) => r.id));
  for (const [k, row] of rows.entries()) {
    const s = await runRow(row, compareSettings(strong, options));
    const predicted = argmaxRows((await classifier.classify(s.images, s.count)).logits, classifier.classes);
    const page = got.rows[k];
    assert.equal(page.nfe, s.nfe, row.name);
    assert.deepEqual(Array.from(Object.values(page.predicted)), Array.from(predicted), `${row.name}: predicted digits`);
    const img = Object.values(page.images);
    assert.equal(img.length, s.images.length);
    let worst = 0;
    for (let i = 0; i < img.length; i++) worst = Math.max(worst, Math.abs(img[i] - s.images[i]));
    assert.ok(worst < 1e-3, `${row.name}: latents differ by ${worst}`);
  }
});
