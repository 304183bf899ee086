import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { buildApp, defaultWebRoot } from '../src/server/app.js';
import { parseServeOptions } from '../src/cli/serve.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-serve-'));
const sd = join(tmp, 'sd');
let app: FastifyInstance;

const v1: FastifyPluginAsync<{ greeting?: string }> = async (f, o) => {
  f.get('/v1/ping', async () => ({ pong: o.greeting }));
};

before(async () => {
  mkdirSync(join(sd, 'tiny', 'unet'), { recursive: true });
  writeFileSync(join(sd, 'tiny', 'model_index.json'), '{"_class_name":"StableDiffusionPipeline"}');
  writeFileSync(join(sd, 'tiny', 'unet', 'model.onnx'), 'not really onnx');
  mkdirSync(join(sd, 'empty'));
  writeFileSync(join(tmp, 'secret.txt'), 'outside');
  symlinkSync(join(tmp, 'secret.txt'), join(sd, 'tiny', 'link.txt'));
  writeFileSync(join(sd, 'tiny', '.hidden'), 'dot');
  app = await buildApp({ webRoot: defaultWebRoot(), modelsDir: 'models', sdModelsDir: sd, plugins: [{ plugin: v1 as FastifyPluginAsync, options: { greeting: 'hi' } }] });
});
after(async () => {
  await app.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('every response carries the cross-origin isolation headers', async () => {
  for (const url of ['/', '/index.html', '/style.css', '/ort/ort-wasm-simd-threaded.jsep.wasm', '/models/mnist-small/config.json', '/no-such-page', '/v1/ping']) {
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', url);
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', url);
    assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', url);
  }
});

test('serves the built app, the wasm with its MIME type, and the shipped models read-only', async () => {
  const home = await app.inject('/');
  assert.equal(home.statusCode, 200);
  assert.match(home.body, /<title>w2sd/);
  const wasm = await app.inject('/ort/ort-wasm-simd-threaded.jsep.wasm');
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  const cfg = await app.inject('/models/mnist-small/config.json');
  assert.equal(cfg.statusCode, 200);
  assert.equal(JSON.parse(cfg.body).num_classes, 10);
  const list = JSON.parse((await app.inject('/models/')).body) as { models: string[] };
  assert.ok(list.models.includes('mnist-small') && list.models.includes('mnist-classifier'), list.models.join(','));
  assert.equal((await app.inject({ method: 'PUT', url: '/models/mnist-small/config.json', payload: '{}' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'DELETE', url: '/models/mnist-small/config.json' })).statusCode, 404);
});

test('the SD folder is confined: no traversal, no symlink out, no dot-files', async () => {
  assert.deepEqual(JSON.parse((await app.inject('/sd-models/')).body), { models: ['tiny'] });
  assert.equal((await app.inject('/sd-models/tiny/model_index.json')).statusCode, 200);
  assert.equal((await app.inject('/sd-models/tiny/unet/model.onnx')).body, 'not really onnx');
  for (const url of ['/sd-models/../secret.txt', '/sd-models/tiny/../../secret.txt', '/sd-models/tiny/%2e%2e/%2e%2e/secret.txt', '/sd-models/tiny/link.txt', '/sd-models/tiny/.hidden', '/sd-models/tiny//unet/model.onnx', '/sd-models/tiny']) {
    const r = await app.inject(url);
    assert.equal(r.statusCode, 404, url);
    assert.doesNotMatch(r.body, /outside/, url);
  }
});

test('a model folder lists its files (what the SD page reads), confined the same way', async () => {
  // sizes are the bytes written above; the link out and the dot-file are not listed
  assert.deepEqual(JSON.parse((await app.inject('/sd-models/tiny/')).body), {
    files: [
      { path: 'model_index.json', size: 41 },
      { path: 'unet/model.onnx', size: 15 },
    ],
  });
  assert.deepEqual(JSON.parse((await app.inject('/sd-models/tiny/unet/')).body), { files: [{ path: 'model.onnx', size: 15 }] });
  for (const url of ['/sd-models/nope/', '/sd-models/tiny/.git/', '/sd-models/tiny/unet/model.onnx/']) {
    assert.equal((await app.inject(url)).statusCode, 404, url);
  }
  // traversal is normalised away before routing (to the home page or the model list): never a listing out
  for (const url of ['/sd-models/../', '/sd-models/tiny/../../', '/sd-models/%2e%2e/', '/sd-models/tiny/%2e%2e/%2e%2e/']) {
    const r = await app.inject(url);
    assert.doesNotMatch(r.body, /secret|outside|"files"/, url);
  }
});

test('a plugin registered through options gets its routes', async () => {
  assert.deepEqual(JSON.parse((await app.inject('/v1/ping')).body), { pong: 'hi' });
});

test('buildApp refuses an unbuilt web root', async () => {
  await assert.rejects(buildApp({ webRoot: tmp }), /web app not built: .*index\.html is missing \(run npm run build\)/);
});

test('serve options: strict numbers, bounded port, folder must exist', () => {
  assert.deepEqual(parseServeOptions({ port: '0', host: '127.0.0.1' }), { port: 0, host: '127.0.0.1', sdModelsDir: undefined });
  assert.throws(() => parseServeOptions({ port: '80x', host: 'h' }), /--port: expected a finite number, got "80x"/);
  assert.throws(() => parseServeOptions({ port: '70000', host: 'h' }), /--port: expected an integer 0\.\.65535/);
  assert.throws(() => parseServeOptions({ port: '1.5', host: 'h' }), /--port/);
  assert.throws(() => parseServeOptions({ port: '1', host: ' ' }), /--host/);
  assert.throws(() => parseServeOptions({ port: '1', host: 'h', models: join(tmp, 'nope') }), /--models: .*nope is not a folder/);
});

test('w2sd serve binds 127.0.0.1, prints the URL, and answers with isolation headers', async () => {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
  } finally {
    child.kill('SIGTERM');
  }
});
