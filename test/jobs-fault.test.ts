/**
 * The fault drill of docs/SCALE.md, on loopback with real processes: 200 generation jobs on the test SD
 * model, two `w2sd worker` processes, one killed with SIGKILL in the middle of a job, Redis restarted once
 * mid-run. Every job's result must be present exactly once, every file whole, no job lost or failed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { parseQueueUrl } from '../src/jobs/connection.js';
import { jobIdOf, type GenerateJob } from '../src/jobs/payload.js';
import { JobQueue } from '../src/jobs/queue.js';
import { JobStore, type ResultRecord } from '../src/jobs/store.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-fault-'));
let redis: RedisServer | undefined;
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface WorkerProc {
  readonly child: ChildProcess;
  readonly started: string[];
  readonly done: Set<string>;
  log: string;
  exit: Promise<number | null>;
}

function spawnWorker(url: string, results: string): WorkerProc {
  const child = spawn(process.execPath, [CLI, 'worker', '--queue', url, '--results', results, '--lock-ms', '2000', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const w: WorkerProc = { child, started: [], done: new Set(), log: '', exit: new Promise((r) => child.on('exit', (code) => r(code))) };
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    w.log += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const m = /: (start|done) ([a-z]+-[0-9a-f]{32})/.exec(line);
      if (m?.[1] === 'start') w.started.push(m[2]);
      if (m?.[1] === 'done') w.done.add(m[2]);
    }
  });
  return w;
}

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms: number) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

test('fault drill: 2 workers, 200 jobs, one worker SIGKILLed mid-job, Redis restarted: every result once, whole', { timeout: 240_000 }, async () => {
  redis = await startRedis();
  const model = writeTinySdFolder(join(tmp, 'model'), { family: 'sd1' }).dir;
  const store = new JobStore(join(tmp, 'results'));
  // every 40th job is long (hundreds of steps), so that the kill lands inside a job, not between two
  const SLOW = new Set([5, 45, 85, 125, 165]);
  const jobs: GenerateJob[] = Array.from({ length: 200 }, (_, i) => ({
    kind: 'generate',
    request: { model, prompt: `prompt ${i % 7}`, seed: i, steps: SLOW.has(i) ? 400 : 3, width: 16, height: 16 },
  }));
  const queue = JobQueue.open(parseQueueUrl(redis.url));
  const { ids, added } = await queue.add(jobs);
  assert.equal(added, 200);
  assert.equal((await queue.add(jobs)).added, 0, 'enqueuing again adds nothing');
  const slowIds = new Set([...SLOW].map((i) => ids[i]));

  const a = spawnWorker(redis.url, store.dir);
  const b = spawnWorker(redis.url, store.dir);
  // kill A while it runs a long job (it takes one of five sooner or later; B may take others)
  await until('worker A running a long job', () => a.started.some((id) => slowIds.has(id) && !a.done.has(id)), 120_000);
  const victim = a.started.find((id) => slowIds.has(id) && !a.done.has(id))!;
  a.child.kill('SIGKILL');
  await a.exit;
  assert.ok(!a.done.has(victim), 'A was killed inside the job');

  await until('half the results', () => store.ids().length >= 100, 120_000);
  await redis.restart();
  const atRestart = store.ids().length;
  assert.ok(atRestart < 200, `Redis restarted mid-run (${atRestart} of 200 done)`);

  await until('all 200 results', async () => store.ids().length === 200 && (await queue.status()).completed === 200, 150_000);
  b.child.kill('SIGTERM');
  assert.equal(await b.exit, 0, 'B stops cleanly on SIGTERM');

  const status = await queue.status();
  assert.deepEqual([status.failed, status.waiting, status.active, status.delayed], [0, 0, 0, 0]);
  await queue.close();

  // exactly one record per job id, naming exactly its images; nothing else but the killed worker's temporaries
  const records = readdirSync(store.resultsDir).filter((f) => !f.startsWith('.'));
  assert.equal(records.length, 200);
  assert.deepEqual(records.map((f) => f.slice(0, -5)).sort(), [...ids].sort());
  const images = readdirSync(store.imagesDir).filter((f) => !f.startsWith('.'));
  assert.deepEqual(images.sort(), ids.map((id) => `${id}-0.png`).sort());
  const temps = [...readdirSync(store.resultsDir), ...readdirSync(store.imagesDir)].filter((f) => f.startsWith('.'));
  for (const t of temps) assert.match(t, new RegExp(`^\\.tmp-.*-${a.child.pid}-\\d+$`), 'only the killed worker may leave a temporary');

  // every file whole: records parse, PNGs decode at 16×16 and carry their own job's seed and prompt
  for (const [i, id] of ids.entries()) {
    const rec = JSON.parse(readFileSync(join(store.resultsDir, `${id}.json`), 'utf8')) as ResultRecord;
    assert.equal(rec.id, id);
    assert.equal(id, jobIdOf(jobs[i]));
    const png = PNG.sync.read(readFileSync(join(store.imagesDir, rec.images[0])));
    assert.deepEqual([png.width, png.height], [16, 16]);
    const text = readFileSync(join(store.imagesDir, rec.images[0])).toString('latin1');
    assert.ok(text.includes(`Seed: ${i},`), `image of job ${i} carries seed ${i}`);
    assert.ok(text.includes(`prompt ${i % 7}\n`), `image of job ${i} carries its prompt`);
    assert.equal((rec.result as { seed: number }).seed, i);
  }

  // the job A died in was taken over by B after its lock expired (stalled-job recovery)
  const victimRecord = store.get(victim)!;
  assert.equal(victimRecord.worker.split(':').pop(), String(b.child.pid));
  assert.ok(b.started.includes(victim));
  assert.match(b.log, /redis 127\.0\.0\.1:\d+: connected again/, 'B saw the restart and reconnected');
});
