import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { PNG } from 'pngjs';
import { parseQueueUrl } from '../src/jobs/connection.js';
import { JobQueue } from '../src/jobs/queue.js';
import { JobStore } from '../src/jobs/store.js';
import { startWorker } from '../src/jobs/worker.js';
import { defaultHandler } from '../src/jobs/handlers.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { v1Api, type V1Options } from '../src/server/v1/index.js';
import { checkBindSecurity, isLoopback } from '../src/server/v1/security.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';
import { startRedis } from './helpers/redis.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-v1-'));
const models = join(tmp, 'models');
writeTinySdFolder(join(models, 'tiny'), { family: 'sd1' });
writeTinySdFolder(join(models, 'weak'), { family: 'sd1', unet: { seed: 9 } });
mkdirSync(join(tmp, 'secret'));
writeFileSync(join(tmp, 'secret', 'passwd'), 'root:x:0:0');
const apps: FastifyInstance[] = [];
after(async () => {
  for (const a of apps) await a.close();
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});

async function api(o: Partial<V1Options> = {}): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(v1Api, { results: join(tmp, 'results'), modelsDir: models, ...o });
  await app.ready();
  apps.push(app);
  return app;
}

const until = async (what: string, cond: () => Promise<boolean>, ms = 60_000) => {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const body = { model: 'tiny', prompt: 'a cat', width: 16, height: 16, steps: 3, seed: 4 };

test('v1: POST /v1/generate runs in-process, GET /v1/jobs/:id reports it, GET /v1/images/:id serves the PNG; the same request again is the same job', async () => {
  const app = await api({ concurrency: 1 });
  const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: body });
  assert.equal(res.statusCode, 202, res.body);
  const { id, links } = res.json() as { id: string; links: { self: string } };
  assert.match(id, /^gen-[0-9a-f]{32}$/);
  assert.equal(links.self, `/v1/jobs/${id}`);
  let job: { state: string; images?: string[]; result?: { seed: number; steps: number } } = { state: '' };
  await until('completed', async () => {
    job = (await app.inject(links.self)).json();
    return job.state === 'completed' || job.state === 'failed';
  });
  assert.equal(job.state, 'completed', JSON.stringify(job));
  assert.equal(job.result!.seed, 4);
  assert.equal(job.result!.steps, 3);
  const img = await app.inject(job.images![0]);
  assert.equal(img.statusCode, 200);
  assert.equal(img.headers['content-type'], 'image/png');
  const png = PNG.sync.read(img.rawPayload);
  assert.deepEqual([png.width, png.height], [16, 16]);
  const again = await app.inject({ method: 'POST', url: '/v1/generate', payload: { ...body } });
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json(), { id, state: 'completed', links });
  assert.equal((await app.inject(`/v1/jobs/gen-${'0'.repeat(32)}`)).statusCode, 404);
});

test('v1 security: no token off loopback is refused before start; a token is checked on every request', async () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.org', '10.0.0.1']) assert.ok(!isLoopback(h), h);
  assert.throws(() => checkBindSecurity('0.0.0.0', undefined), /--host 0\.0\.0\.0 is reachable from other machines: give an API token/);
  assert.throws(() => checkBindSecurity('::', undefined), /reachable from other machines/);
  assert.throws(() => checkBindSecurity('0.0.0.0', 'short'), /--token: expected at least 16 characters/);
  checkBindSecurity('127.0.0.1', undefined);
  checkBindSecurity('0.0.0.0', 'a-long-enough-token-123');

  const token = 'a-long-enough-token-123';
  const app = await api({ token, handler: async () => ({ images: [], result: {} }) });
  const send = (authorization?: string) => app.inject({ method: 'POST', url: '/v1/generate', payload: { ...body, seed: 99 }, headers: authorization ? { authorization } : {} });
  for (const h of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${token}`, `Bearer ${token}x`, `bearer ${token}`]) {
    const r = await send(h);
    assert.equal(r.statusCode, 401, String(h));
    assert.match(r.json().message, /missing or wrong bearer token/);
  }
  assert.equal((await app.inject(`/v1/jobs/gen-${'0'.repeat(32)}`)).statusCode, 401, 'reads need the token too');
  assert.equal((await send(`Bearer ${token}`)).statusCode, 202);
});

test('v1 security: ids and model names cannot reach outside their folders', async () => {
  const app = await api({ handler: async () => ({ images: [], result: {} }) });
  for (const url of ['/v1/images/..%2F..%2Fsecret%2Fpasswd', '/v1/images/..%2Fresults', `/v1/images/gen-${'a'.repeat(32)}-0%2F..%2F..%2F..%2Fsecret%2Fpasswd`, '/v1/images/%2Fetc%2Fpasswd', '/v1/jobs/..%2F..%2Fsecret', `/v1/jobs/gen-${'a'.repeat(31)}.`]) {
    const r = await app.inject(url);
    assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
    assert.match(r.json().message, /must match pattern/);
  }
  assert.equal((await app.inject('/v1/images/../../secret/passwd')).statusCode, 404, 'a path the router normalises reaches no route');
  for (const model of ['../tiny', '/etc', 'tiny/../../secret', '.', '..']) {
    const r = await app.inject({ method: 'POST', url: '/v1/generate', payload: { ...body, model } });
    assert.equal(r.statusCode, 400, model);
    assert.match(r.json().message, /body\/model must match pattern/);
  }
  const none = await app.inject({ method: 'POST', url: '/v1/generate', payload: { ...body, model: 'secret' } });
  assert.equal(none.statusCode, 400);
  assert.equal(none.json().message, 'model: no model named "secret" in the server\'s models folder');
});

test('v1 validation: oversized and malformed bodies and the CLI\'s rules get 400 with a message', async () => {
  const app = await api({ handler: async () => ({ images: [], result: {} }) });
  const post = (payload: string | object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/generate', payload, headers: { 'content-type': 'application/json', ...headers } });
  const cases: [string | object, RegExp][] = [
    [JSON.stringify({ ...body, prompt: 'x'.repeat(20_000) }), /^request body larger than 16384 bytes$/],
    ['{"model": "tiny", "prompt": ', /Body is not valid JSON|Unexpected end of JSON input/],
    ['[1, 2]', /body must be object/],
    [{ prompt: 'a cat' }, /body must have required property 'model'/],
    [{ ...body, prompt: 'x'.repeat(2001) }, /body\/prompt must NOT have more than 2000 characters/],
    [{ ...body, steps: '10' }, /body\/steps must be integer/],
    [{ ...body, steps: 0 }, /body\/steps must be >= 1/],
    [{ ...body, steps: 2.5 }, /body\/steps must be integer/],
    [{ ...body, width: 4096 }, /body\/width must be <= 2048/],
    [{ ...body, seed: -1 }, /body\/seed must be >= 0/],
    [{ ...body, sampler: 'plms' }, /body\/sampler must be equal to one of the allowed values: ddim, euler, heun, euler-ancestral, dpmpp-2m/],
    [{ ...body, method: 'magic' }, /body\/method must be equal to one of the allowed values: cfg, plain, w2sd/],
    [{ ...body, colour: 'red' }, /body must NOT have additional properties/],
    [{ ...body, lambda: 3 }, /^lambda: expected 0 ≤ λ < steps \(3\), got 3$/],
    [{ ...body, width: 24 }, /^width 24: expected a multiple of 16 \(8 × the VAE factor 2\)$/],
    [{ ...body, method: 'w2sd' }, /^method w2sd needs a pair/],
    [{ ...body, method: 'w2sd', pair: 'weights', weakModel: '../weak' }, /body\/weakModel must match pattern/],
  ];
  for (const [payload, message] of cases) {
    const r = await post(payload);
    assert.equal(r.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)}: ${r.body}`);
    assert.match(r.json().message, message);
  }
});

test('v1: per-client rate limit answers 429 past the limit', async () => {
  const app = await api({ rateLimit: { max: 3, windowMs: 60_000 } });
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) codes.push((await app.inject({ url: `/v1/jobs/gen-${'0'.repeat(32)}`, remoteAddress: '10.1.1.1' })).statusCode);
  assert.deepEqual(codes, [404, 404, 404, 429, 429]);
  assert.equal((await app.inject({ url: `/v1/jobs/gen-${'0'.repeat(32)}`, remoteAddress: '10.1.1.2' })).statusCode, 404, 'another client has its own budget');
});

test('v1: with a queue, POST enqueues (idempotently) and a worker elsewhere completes it', async () => {
  const redis = await startRedis();
  const url = parseQueueUrl(redis.url);
  const queue = JobQueue.open(url, 'api');
  const results = join(tmp, 'queued-results');
  try {
    const app = await api({ queue, results });
    const r1 = await app.inject({ method: 'POST', url: '/v1/generate', payload: { ...body, seed: 7 } });
    const r2 = await app.inject({ method: 'POST', url: '/v1/generate', payload: { ...body, seed: 7 } });
    assert.equal(r1.statusCode, 202);
    assert.equal(r2.json().id, r1.json().id);
    const id = r1.json().id as string;
    assert.equal((await queue.status()).waiting, 1);
    assert.equal((await app.inject(`/v1/jobs/${id}`)).json().state, 'waiting');
    const w = startWorker({ url, queueName: 'api', store: new JobStore(results), handler: defaultHandler() });
    await until('completed', async () => (await app.inject(`/v1/jobs/${id}`)).json().state === 'completed');
    await w.stop();
  } finally {
    await queue.close();
    await redis.stop();
  }
});

test('w2sd serve: off loopback without a token it refuses to start; with one, /v1 is served beside the web app', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.W2SD_API_TOKEN;
  const r = spawnSync(process.execPath, [cli, 'serve', '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--host 0\.0\.0\.0 is reachable from other machines: give an API token \(--token or W2SD_API_TOKEN\) or bind to 127\.0\.0\.1/);
  assert.doesNotMatch(r.stdout, /web app at/);

  const { parseApiOptions, apiPlugin } = await import('../src/cli/serve-api.js');
  const raw = { host: '0.0.0.0', queueName: 'w2sd', results: join(tmp, 'served'), rateLimit: '120', concurrency: '1' };
  assert.throws(() => parseApiOptions(raw, models, {}), /give an API token/);
  assert.throws(() => parseApiOptions({ ...raw, host: '127.0.0.1', rateLimit: '0' }, models, {}), /--rate-limit: expected an integer from 1 to 1000000, got "0"/);
  assert.throws(() => parseApiOptions({ ...raw, queue: 'localhost:6379' }, models, { W2SD_API_TOKEN: 'x'.repeat(32) }), /--queue: expected/);
  const options = parseApiOptions(raw, models, { W2SD_API_TOKEN: 'x'.repeat(32) });
  assert.equal(options.token, 'x'.repeat(32));

  const { serve } = await import('../src/cli/serve.js');
  const server = await serve({ port: 0, host: '127.0.0.1', sdModelsDir: models, plugins: [apiPlugin({ ...options, handler: async () => ({ images: [], result: {} }) })] });
  try {
    const unauthorised = await fetch(new URL(`/v1/jobs/gen-${'0'.repeat(32)}`, server.url));
    assert.equal(unauthorised.status, 401);
    const ok = await fetch(new URL('/v1/generate', server.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${'x'.repeat(32)}` }, body: JSON.stringify(body) });
    assert.equal(ok.status, 202);
  } finally {
    await server.close();
  }
});
