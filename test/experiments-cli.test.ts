import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerExperiment } from '../src/cli/experiment.js';
import { registerReport } from '../src/cli/report.js';
import { pngText } from '../src/eval/scorers/image.js';
import { closeContext, createContext, expandItems, runItem } from '../src/experiments/run.js';
import { SqliteStore } from '../src/experiments/store.js';
import { itemId } from '../src/experiments/types.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';
import { writeTestScorerFolder } from './helpers/scorers.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-exp-'));
writeTinySdFolder(join(tmp, 'model'), { family: 'sd1' });
writeTinySdFolder(join(tmp, 'weak'), { family: 'sd1', unet: { seed: 9 } });
writeTestScorerFolder(join(tmp, 'clip'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PROMPTS = ['a cat', 'a red car, by the sea', 'a "quoted" word'];
const config = {
  experiment: 'ci',
  model: 'model',
  weakModel: 'weak',
  prompts: { set: 'list', list: PROMPTS },
  seeds: [0, 1],
  steps: 12,
  width: 16,
  height: 16,
  methods: [
    { name: 'cfg', method: 'cfg', baseline: true },
    { name: 'w2sd', method: 'w2sd', pair: 'weights' },
  ],
  scorers: [
    { name: 'pickscore', kind: 'pickscore', path: 'clip' },
    { name: 'aesthetic', kind: 'aesthetic', path: 'clip' },
  ],
  threads: 1,
};
const cfgPath = join(tmp, 'exp.json');
writeFileSync(cfgPath, JSON.stringify(config));
const outDir = join(tmp, 'runs', 'ci');
const storePath = join(outDir, 'results.sqlite');

/** Starts `w2sd experiment`, kills it with SIGKILL after `afterItems` finished items (or `afterMs`), returns the items it reported. */
async function runAndKill(opts: { afterItems?: number; afterMs?: number }): Promise<number> {
  const child = spawn(process.execPath, [MAIN, 'experiment', cfgPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let seen = 0;
  let buf = '';
  await new Promise<void>((resolve) => {
    const kill = () => {
      child.kill('SIGKILL');
    };
    if (opts.afterMs !== undefined) setTimeout(kill, opts.afterMs);
    child.stderr.on('data', (d: Buffer) => {
      buf += d.toString();
      seen = (buf.match(/^\[\d+\/12\]/gm) ?? []).length;
      if (opts.afterItems !== undefined && seen >= opts.afterItems) kill();
    });
    child.once('exit', () => resolve());
  });
  return seen;
}

test('CI experiment (2 methods × 3 prompts × 2 seeds) killed with SIGKILL mid-run and resumed: complete, no duplicates, no corrupt row', async () => {
  const count = async () => {
    const s = SqliteStore.open(storePath, { readOnly: true });
    const n = (await s.query()).length;
    await s.close();
    return n;
  };
  const first = await runAndKill({ afterItems: 3 });
  assert.ok(first >= 3 && first < 12, `first run reported ${first} items before the kill`);
  const afterFirst = await count();
  assert.ok(afterFirst >= 3 && afterFirst < 12, `${afterFirst} rows after the first kill`);
  // kills at arbitrary moments (while loading, sampling, scoring or writing), then one more after an item
  await runAndKill({ afterMs: 700 });
  await runAndKill({ afterItems: 1 });
  const before = await count();
  assert.ok(before >= afterFirst, `${before} rows after the kills`);

  const program = new Command('w2sd').exitOverride();
  let out = '';
  registerExperiment(program, { out: (t) => (out += t), err: () => {} });
  await program.parseAsync(['node', 'w2sd', 'experiment', cfgPath, '--json']);
  const summary = JSON.parse(out) as { ran: number; skipped: number; total: number };
  assert.equal(summary.total, 12);
  assert.equal(summary.skipped, before);
  assert.equal(summary.ran, 12 - before);

  // no temporary PNG of a killed run is left behind, and every image file belongs to a row
  const files = ['cfg', 'w2sd'].flatMap((m) => readdirSync(join(outDir, 'images', m)).map((f) => `images/${m}/${f}`));
  assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), []);
  const store = SqliteStore.open(storePath);
  assert.equal(store.integrity(), 'ok');
  const rows = await store.query({ experiment: 'ci' });
  assert.equal(rows.length, 12);
  const expected = new Set(['cfg', 'w2sd'].flatMap((m) => ['0', '1', '2'].flatMap((p) => [0, 1].map((s) => itemId('ci', m, p, s)))));
  assert.deepEqual(new Set(rows.map((r) => r.id)), expected);
  assert.deepEqual(new Set(files), new Set(rows.map((r) => r.image)));
  for (const r of rows) {
    assert.equal(r.prompt, PROMPTS[Number(r.promptId)]);
    assert.deepEqual(Object.keys(r.scores).sort(), ['aesthetic', 'pickscore']);
    for (const v of Object.values(r.scores)) assert.ok(Number.isFinite(v));
    assert.equal(r.nfe, r.method === 'cfg' ? 12 : 12 + 2 * 11);
    assert.equal(r.settings.steps, 12);
    // the image is there and carries its generation parameters
    const png = readFileSync(join(outDir, r.image));
    const text = pngText(png, r.image);
    assert.ok(text.parameters.startsWith(`${r.prompt}\n`), text.parameters);
    assert.match(text.parameters, new RegExp(`Seed: ${r.seed},.*Method: ${r.method === 'cfg' ? 'cfg' : 'w2sd'}`));
  }
  await store.close();
  // a rerun has nothing left to do
  out = '';
  await program.parseAsync(['node', 'w2sd', 'experiment', cfgPath, '--json']);
  assert.equal((JSON.parse(out) as { ran: number }).ran, 0);

  // runs are deterministic: an item recomputed in-process gives the stored row's scores
  const ctx = await createContext(cfgPath);
  const item = expandItems(ctx).find((i) => i.method === 'w2sd' && i.promptId === '1' && i.seed === 1)!;
  const again = await runItem(ctx, item);
  const stored = rows.find((r) => r.id === item.id)!;
  for (const k of Object.keys(stored.scores)) assert.ok(Math.abs(again.scores[k] - stored.scores[k]) < 1e-5, k);
  await closeContext(ctx);
});

test('w2sd report on the CI experiment writes the table, win rates, plots and exports together', async () => {
  const program = new Command('w2sd').exitOverride();
  let out = '';
  registerReport(program, { out: (t) => (out += t), err: () => {} });
  const jsonl = join(tmp, 'rows.jsonl');
  await program.parseAsync(['node', 'w2sd', 'report', cfgPath, '--json', '--jsonl', jsonl, '--resamples', '500']);
  const r = JSON.parse(out) as { comparisons: { method: string; baseline: string; result: { pairs: number } }[]; files: string[] };
  assert.deepEqual(r.comparisons.map((c) => [c.method, c.baseline, c.result.pairs]), [['w2sd', 'cfg', 6], ['w2sd', 'cfg', 6]]);
  for (const f of r.files) assert.ok(existsSync(f), f);
  assert.ok(readdirSync(join(outDir, 'report')).includes('diff-pickscore.png'));
  assert.equal(readFileSync(jsonl, 'utf8').trim().split('\n').length, 12);
  await assert.rejects(program.parseAsync(['node', 'w2sd', 'report', cfgPath, '--resamples', 'many']), /--resamples: expected a positive integer/);
});

test('w2sd experiment refuses a bad config before any work, and a changed method under an old name', async () => {
  const program = new Command('w2sd').exitOverride();
  registerExperiment(program, { out: () => {}, err: () => {} });
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...config, experiment: 'bad', scorers: [{ name: 'p', kind: 'pickscore', path: 'nowhere' }] }));
  await assert.rejects(program.parseAsync(['node', 'w2sd', 'experiment', bad]), /scorer model folder .*nowhere: not found/);
  assert.ok(!existsSync(join(tmp, 'runs', 'bad')));
  writeFileSync(bad, '{ "experiment": ');
  await assert.rejects(program.parseAsync(['node', 'w2sd', 'experiment', bad]), /bad\.json: not valid JSON/);
  const changed = join(tmp, 'changed.json');
  writeFileSync(changed, JSON.stringify({ ...config, methods: [{ name: 'cfg', method: 'cfg', guidance: 7 }] }));
  await assert.rejects(program.parseAsync(['node', 'w2sd', 'experiment', changed]), /has rows of method cfg made with other settings/);
});

test('temporaries of killed writers are removed on resume, a live writer’s are kept', async () => {
  const { removeStaleTemporaries } = await import('../src/experiments/run.js');
  const dir = join(tmp, 'stale', 'images', 'cfg');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  // pid 2^22 + 7 is above Linux's pid_max default range for this test machine: no such process
  writeFileSync(join(dir, `.0-1.png.${2 ** 22 + 7}.lq3k2.tmp`), 'x');
  writeFileSync(join(dir, `.0-2.png.${process.pid}.lq3k2.tmp`), 'x');
  writeFileSync(join(dir, '0-3.png'), 'x');
  assert.equal(removeStaleTemporaries(join(tmp, 'stale')), 1);
  assert.deepEqual(readdirSync(dir).sort(), [`.0-2.png.${process.pid}.lq3k2.tmp`, '0-3.png']);
});
