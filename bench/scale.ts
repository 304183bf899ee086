import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import Fastify from 'fastify';
import { connect, parseQueueUrl, type QueueUrl } from '../src/jobs/connection.js';
import { defaultHandler } from '../src/jobs/handlers.js';
import type { JobData } from '../src/jobs/payload.js';
import { JobQueue } from '../src/jobs/queue.js';
import { JobStore } from '../src/jobs/store.js';
import { startWorker } from '../src/jobs/worker.js';
import { v1Api } from '../src/server/v1/index.js';
import { writeTinySdFolder } from '../test/helpers/onnx-graphs.js';
import { startRedis } from '../test/helpers/redis.js';

/*
 * The job queue under load, on loopback with a real redis-server (AOF, fsync every second, as docs/SCALE.md
 * prescribes; one row with fsync on every write): 10,000 jobs on a trivial model (no model work), so everything measured is queue and store
 * overhead; and 1,000 HTTP requests to the /v1 API with their latency percentiles.
 */

export interface QueueRow {
  readonly setting: string;
  readonly jobs: number;
  readonly enqueueMsPerJob: number;
  readonly wallS: number;
  readonly jobsPerS: number;
  /** Wall time per job at concurrency 1: what the queue adds to every job. */
  readonly msPerJob: number;
}

export interface ApiRow {
  readonly request: string;
  readonly requests: number;
  readonly concurrency: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly perS: number;
}

const JOBS = 10_000;

function until(cond: () => Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    const tick = () => cond().then((ok) => (ok ? resolve() : setTimeout(tick, 20)), reject);
    tick();
  });
}

async function enqueue(url: QueueUrl, name: string, n: number, offset: number): Promise<{ queue: JobQueue; ms: number }> {
  const queue = JobQueue.open(url, name);
  const jobs: JobData[] = Array.from({ length: n }, (_, i) => ({ kind: 'trivial', n: offset + i }));
  const t0 = performance.now();
  const { added } = await queue.add(jobs);
  const ms = performance.now() - t0;
  if (added !== n) throw new Error(`bench: ${added} of ${n} jobs added`);
  return { queue, ms };
}

/** BullMQ alone: a no-op processor (fetch, lock, complete, fetch next). */
async function bareQueue(url: QueueUrl, concurrency: number, offset: number, note = ''): Promise<QueueRow> {
  const name = `bench-bare-${concurrency}-${offset}`;
  const { queue, ms } = await enqueue(url, name, JOBS, offset);
  const connection = connect(url, 'bench');
  const t0 = performance.now();
  const worker = new Worker(name, async () => null, { connection, concurrency });
  await until(async () => (await queue.status()).completed === JOBS);
  const wall = (performance.now() - t0) / 1000;
  await worker.close();
  connection.disconnect();
  await queue.close();
  return { setting: `BullMQ, no-op job, concurrency ${concurrency}${note}`, jobs: JOBS, enqueueMsPerJob: ms / JOBS, wallS: wall, jobsPerS: JOBS / wall, msPerJob: (wall * 1000) / JOBS };
}

/** The w2sd worker: the same plus the result record (written, fsynced, renamed) in the shared store. */
async function w2sdWorker(url: QueueUrl, dir: string, concurrency: number, offset: number): Promise<QueueRow> {
  const name = `bench-w2sd-${concurrency}`;
  const { queue, ms } = await enqueue(url, name, JOBS, offset);
  const store = new JobStore(join(dir, name));
  const t0 = performance.now();
  const w = startWorker({ url, queueName: name, store, handler: defaultHandler(), concurrency });
  await until(async () => (await queue.status()).completed === JOBS);
  const wall = (performance.now() - t0) / 1000;
  await w.stop();
  await queue.close();
  if (store.ids().length !== JOBS) throw new Error('bench: results missing');
  return { setting: `w2sd worker, trivial job + result record, concurrency ${concurrency}`, jobs: JOBS, enqueueMsPerJob: ms / JOBS, wallS: wall, jobsPerS: JOBS / wall, msPerJob: (wall * 1000) / JOBS };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function load(label: string, n: number, concurrency: number, send: (i: number) => Promise<Response>): Promise<ApiRow> {
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        const r = await send(i);
        await r.arrayBuffer();
        if (r.status >= 300) throw new Error(`bench ${label}: HTTP ${r.status}`);
        times.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return { request: label, requests: n, concurrency, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), perS: n / wall };
}

/** 1,000 POST /v1/generate (queued: validate, hash, add to Redis) and 1,000 GET /v1/jobs/:id over HTTP. */
async function api(url: QueueUrl, dir: string): Promise<ApiRow[]> {
  const models = join(dir, 'models');
  writeTinySdFolder(join(models, 'tiny'), { family: 'sd1' });
  const queue = JobQueue.open(url, 'bench-api');
  const app = Fastify();
  await app.register(v1Api, { results: join(dir, 'api'), modelsDir: models, queue, rateLimit: { max: 1_000_000, windowMs: 60_000 } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const ids: string[] = [];
  const rows: ApiRow[] = [];
  try {
    const post = (i: number) =>
      fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', prompt: `a cat ${i}`, seed: i, steps: 4, width: 16, height: 16 }) });
    rows.push(await load('POST /v1/generate (queued)', 1000, 10, async (i) => {
      const r = await post(i);
      ids[i] = ((await r.clone().json()) as { id: string }).id;
      return r;
    }));
    rows.push(await load('GET /v1/jobs/:id', 1000, 10, (i) => fetch(`${base}/v1/jobs/${ids[i]}`)));
  } finally {
    await app.close();
    await queue.close();
  }
  return rows;
}

export async function benchScale(): Promise<{ queue: QueueRow[]; api: ApiRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-bench-scale-'));
  // the documented setup (AOF, fsync every second), then fsync on every write for comparison
  const redis = await startRedis({ fsync: 'everysec' });
  try {
    const url = parseQueueUrl(redis.url);
    const queue = [await bareQueue(url, 1, 0), await bareQueue(url, 8, 1e6), await w2sdWorker(url, dir, 1, 2e6), await w2sdWorker(url, dir, 8, 3e6)];
    const strict = await startRedis({ fsync: 'always' });
    try {
      queue.push(await bareQueue(parseQueueUrl(strict.url), 1, 4e6, ' (AOF fsync always)'));
    } finally {
      await strict.stop();
    }
    const rows = { queue, api: await api(url, dir) };
    printScale(rows);
    return rows;
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printScale(r: { queue: QueueRow[]; api: ApiRow[] }): void {
  console.log('\n### Job queue (BullMQ on a local redis-server with AOF, fsync every second unless noted; 10,000 trivial jobs)\n');
  console.log('| setting | enqueue ms/job | wall s | jobs/s | ms/job |');
  console.log('|---|---:|---:|---:|---:|');
  for (const q of r.queue) console.log(`| ${q.setting} | ${q.enqueueMsPerJob.toFixed(3)} | ${q.wallS.toFixed(1)} | ${q.jobsPerS.toFixed(0)} | ${q.msPerJob.toFixed(2)} |`);
  console.log('\n### /v1 API (loopback HTTP, 10 clients at once)\n');
  console.log('| request | requests | p50 ms | p99 ms | requests/s |');
  console.log('|---|---:|---:|---:|---:|');
  for (const a of r.api) console.log(`| ${a.request} | ${a.requests} | ${a.p50Ms.toFixed(2)} | ${a.p99Ms.toFixed(2)} | ${a.perS.toFixed(0)} |`);
}
