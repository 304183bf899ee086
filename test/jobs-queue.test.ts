import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQueueUrl } from '../src/jobs/connection.js';
import { canonicalJson, contentId } from '../src/jobs/job-id.js';
import { jobIdOf, type JobData } from '../src/jobs/payload.js';
import { JobQueue } from '../src/jobs/queue.js';
import { JobStore } from '../src/jobs/store.js';
import { startWorker } from '../src/jobs/worker.js';
import { defaultHandler, type JobHandler } from '../src/jobs/handlers.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

let redis: RedisServer;
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-jobs-'));
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const until = async (what: string, cond: () => Promise<boolean>, ms = 20_000) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

test('jobs: --queue URLs are checked', () => {
  assert.deepEqual(parseQueueUrl('redis://10.0.0.5:6380/2'), { url: 'redis://10.0.0.5:6380/2', host: '10.0.0.5', port: 6380, db: 2, tls: false });
  assert.equal(parseQueueUrl('redis://queue').port, 6379);
  assert.throws(() => parseQueueUrl('localhost:6379'), /--queue: expected a redis:\/\/ or rediss:\/\/ URL/);
  assert.throws(() => parseQueueUrl('http://x:1'), /--queue: expected a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/x:1"/);
  assert.throws(() => parseQueueUrl('redis://x:1/99'), /database must be 0–15/);
  assert.throws(() => parseQueueUrl('not a url'), /expected redis:\/\/HOST:PORT/);
});

test('jobs: ids derive from content (key order does not matter, any change does)', () => {
  // sha256("1") from any SHA-256 tool: 6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b
  assert.equal(contentId('nop', 1), 'nop-6b86b273ff34fce19d6b804eff5a3f57');
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }], u: undefined }), '{"a":[{"c":"x","d":2}],"b":1}');
  const a: JobData = { kind: 'generate', request: { model: '/m', prompt: 'a cat', seed: 1, steps: 2 } };
  const b: JobData = { kind: 'generate', request: { steps: 2, seed: 1, prompt: 'a cat', model: '/m' } };
  assert.equal(jobIdOf(a), jobIdOf(b));
  assert.notEqual(jobIdOf(a), jobIdOf({ kind: 'generate', request: { ...a.request, seed: 2 } }));
  assert.equal(jobIdOf(a), `gen-${createHash('sha256').update('{"model":"/m","prompt":"a cat","seed":1,"steps":2}').digest('hex').slice(0, 32)}`);
});

test('jobs: enqueuing twice adds nothing; a worker runs each job once into the store; Redis restart keeps the queue', async () => {
  const url = parseQueueUrl(redis.url);
  const q = JobQueue.open(url, 'idem');
  const jobs: JobData[] = [1, 2, 3].map((n) => ({ kind: 'trivial', n }));
  const first = await q.add(jobs);
  assert.equal(first.added, 3);
  assert.equal((await q.add(jobs)).added, 0);
  assert.equal((await q.add([...jobs, { kind: 'trivial', n: 4 }])).added, 1);
  await redis.restart(); // AOF with fsync always: all four jobs must come back
  assert.equal((await q.status()).waiting, 4);

  const store = new JobStore(join(tmp, 'idem')).ensure();
  const w = startWorker({ url, queueName: 'idem', store, handler: defaultHandler(), concurrency: 2 });
  await until('4 completed', async () => (await q.status()).completed === 4);
  const s = await q.status();
  assert.equal(s.waiting + s.active + s.failed, 0);
  assert.equal(s.etaSeconds, 0);
  assert.deepEqual(store.ids().sort(), [...first.ids, jobIdOf({ kind: 'trivial', n: 4 })].sort());
  assert.deepEqual(store.get(first.ids[1])!.result, { n: 2 });
  // the same content again: the queue keeps finished jobs, so nothing is added or run
  assert.equal((await q.add(jobs)).added, 0);
  await w.stop();
  await q.close();
  assert.deepEqual(readdirSync(store.resultsDir).filter((f) => f.startsWith('.')), [], 'no temporaries left');
});

test('jobs: a failing job is retried with backoff, then listed as failed with its error', async () => {
  const url = parseQueueUrl(redis.url);
  const q = JobQueue.open(url, 'fail', { attempts: 3, backoffMs: 100 });
  const starts: number[] = [];
  const handler: JobHandler = async (data) => {
    if (data.kind === 'trivial' && data.n === 13) starts.push(Date.now());
    if (data.kind === 'trivial' && data.n === 13) throw new Error('NaN in the UNet output at step 3');
    return { images: [], result: {} };
  };
  const store = new JobStore(join(tmp, 'fail'));
  const w = startWorker({ url, queueName: 'fail', store, handler });
  const { ids } = await q.add([{ kind: 'trivial', n: 13 }, { kind: 'trivial', n: 14 }]);
  await until('one failed', async () => (await q.status()).failed === 1 && (await q.status()).completed === 1);
  const failed = await q.failedJobs();
  assert.equal(failed.length, 1);
  assert.equal(failed[0].id, ids[0]);
  assert.equal(failed[0].attempts, 3);
  assert.equal(failed[0].error, 'NaN in the UNet output at step 3');
  assert.equal((await q.job(ids[0]))!.state, 'failed');
  assert.equal((await q.job(ids[1]))!.state, 'completed');
  // three runs; the retries waited at least 100 ms and then 200 ms (exponential backoff)
  assert.equal(starts.length, 3);
  assert.ok(starts[1] - starts[0] >= 100 && starts[2] - starts[1] >= 200, `gaps ${starts[1] - starts[0]}, ${starts[2] - starts[1]} ms`);
  assert.ok(!store.has(ids[0]));
  await w.stop();
  await q.close();
});

test('jobs: stopping with hand-back returns the running job to the queue without spending an attempt', async () => {
  const url = parseQueueUrl(redis.url);
  const q = JobQueue.open(url, 'handback');
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const handler: JobHandler = (_data, ctx) =>
    new Promise((_resolve, reject) => {
      started();
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    });
  const store = new JobStore(join(tmp, 'handback'));
  const w = startWorker({ url, queueName: 'handback', store, handler });
  const { ids } = await q.add([{ kind: 'trivial', n: 1 }]);
  await running;
  await w.stop(true);
  const info = await q.job(ids[0]);
  assert.equal(info!.state, 'waiting');
  assert.equal(info!.attempts, 0);
  assert.ok(!store.has(ids[0]));
  // a fresh worker finishes it
  const w2 = startWorker({ url, queueName: 'handback', store, handler: defaultHandler() });
  await until('completed', async () => (await q.job(ids[0]))!.state === 'completed');
  assert.ok(store.has(ids[0]));
  await w2.stop();
  await q.close();
});
