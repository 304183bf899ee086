import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerExperiment } from '../src/cli/experiment.js';
import { closeContext, createContext, runExperiment } from '../src/experiments/run.js';
import { SqliteStore } from '../src/experiments/store.js';
import type { ResultRow } from '../src/experiments/types.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';
import { startRedis } from './helpers/redis.js';
import { writeTestScorerFolder } from './helpers/scorers.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-jobs-exp-'));
writeTinySdFolder(join(tmp, 'model'), { family: 'sd1' });
writeTinySdFolder(join(tmp, 'weak'), { family: 'sd1', unet: { seed: 9 } });
writeTestScorerFolder(join(tmp, 'clip'));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const config = (out: string) => ({
  experiment: 'queued',
  model: 'model',
  weakModel: 'weak',
  prompts: { set: 'list', list: ['a cat', 'a red car, by the sea', 'a dog'] },
  seeds: [0, 1],
  steps: 4,
  width: 16,
  height: 16,
  methods: [
    { name: 'cfg', method: 'cfg', baseline: true },
    { name: 'w2sd', method: 'w2sd', pair: 'weights' },
  ],
  scorers: [{ name: 'pickscore', kind: 'pickscore', path: 'clip' }],
  out,
  threads: 1,
});
const queuedCfg = join(tmp, 'queued.json');
writeFileSync(queuedCfg, JSON.stringify(config('runs/queued')));
const localCfg = join(tmp, 'local.json');
writeFileSync(localCfg, JSON.stringify(config('runs/local')));
const redis = await startRedis();
after(async () => {
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ out: string; err: string }> {
  const program = new Command('w2sd').exitOverride();
  let out = '';
  let err = '';
  registerExperiment(program, { out: (t) => (out += t), err: (t) => (err += t) });
  await program.parseAsync(['node', 'w2sd', 'experiment', ...args]);
  return { out, err };
}

const comparable = (r: ResultRow) => ({ id: r.id, method: r.method, promptId: r.promptId, seed: r.seed, nfe: r.nfe, image: r.image, scores: r.scores, settings: r.settings });

test('queued experiment: a worker process runs the 12 items; rows equal a local run; queuing again adds nothing; status reports done', { timeout: 180_000 }, async () => {
  const worker = spawn(process.execPath, [CLI, 'worker', '--queue', redis.url, '--results', join(tmp, 'results'), '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => worker.on('exit', (c) => r(c)));
  try {
    const first = await cli([queuedCfg, '--queue', redis.url, '--json']);
    assert.match(first.err, /queued: 12 items, 12 newly queued/);
    const summary = JSON.parse(first.out) as { done: number; failed: number; total: number; imported: number };
    assert.deepEqual([summary.total, summary.done, summary.failed], [12, 12, 0]);

    const again = await cli([queuedCfg, '--queue', redis.url, '--no-wait']);
    assert.match(again.err, /12 items, 0 newly queued, 12 already queued or done/);
    const status = JSON.parse((await cli(['status', queuedCfg, '--queue', redis.url, '--json'])).out) as { done: number; running: number; failed: number; waiting: number; etaSeconds: number; imported: number };
    assert.deepEqual([status.done, status.running, status.waiting, status.failed, status.etaSeconds, status.imported], [12, 0, 0, 0, 0, 0]);
    assert.match((await cli(['status', queuedCfg, '--queue', redis.url])).out, /^queued: 12\/12 done, 0 running, 0 waiting, 0 failed; 1 workers, ETA 0h00m00s/);
  } finally {
    worker.kill('SIGTERM');
  }
  assert.equal(await exited, 0, log);
  assert.equal((log.match(/ start exp-/g) ?? []).length, 12, 'each item ran once');

  // the same experiment run in this process, the way issue 11 runs it, gives the same rows
  const ctx = await createContext(localCfg);
  const local = SqliteStore.open(join(tmp, 'runs/local/results.sqlite'));
  await runExperiment(ctx, local);
  await closeContext(ctx);
  const queued = SqliteStore.open(join(tmp, 'runs/queued/results.sqlite'), { readOnly: true });
  const [a, b] = [await queued.query(), await local.query()];
  await queued.close();
  await local.close();
  assert.equal(a.length, 12);
  assert.deepEqual(a.map(comparable), b.map(comparable));
  for (const r of a) assert.deepEqual(readFileSync(join(tmp, 'runs/queued', r.image)), readFileSync(join(tmp, 'runs/local', r.image)));
});
