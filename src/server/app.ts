import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import { projectRoot } from '../lab/mnist/models.js';
import { serveReadOnlyFolder } from './folder.js';

/**
 * Headers that make every page cross-origin isolated (COOP + COEP): SharedArrayBuffer, hence threaded
 * WebAssembly in onnxruntime-web, is only available to isolated pages. CORP lets our own workers and wasm
 * load under require-corp.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

/** A Fastify plugin with its options, registered after the built-in routes (e.g. the /v1 API). */
export interface AppPlugin<O extends Record<string, unknown> = Record<string, unknown>> {
  readonly plugin: FastifyPluginAsync<O>;
  readonly options?: O;
}

export interface AppOptions {
  /** The built web app (npm run build writes dist/web). */
  readonly webRoot: string;
  /** The shipped small models, served read-only at /models/ (MNIST page). */
  readonly modelsDir?: string;
  /** Stable Diffusion model folders (`w2sd serve --models DIR`), served read-only at /sd-models/. */
  readonly sdModelsDir?: string;
  /** Extra plugins, each in its own encapsulated context, registered after the built-in routes. */
  readonly plugins?: readonly AppPlugin[];
  readonly logger?: FastifyServerOptions['logger'];
  /** Largest request body accepted by any route (bytes). */
  readonly bodyLimit?: number;
}

/** The folder `npm run build` writes the web app to. */
export function defaultWebRoot(): string {
  return join(projectRoot(), 'dist', 'web');
}

/**
 * The w2sd web server: the static web app, the read-only model folders and any plugins. Returned ready
 * (not listening), so tests can `inject` requests and `w2sd serve` can `listen`.
 */
export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const webRoot = resolve(o.webRoot);
  if (!existsSync(join(webRoot, 'index.html'))) {
    throw new Error(`web app not built: ${join(webRoot, 'index.html')} is missing (run npm run build)`);
  }
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.bodyLimit ?? 1 << 20 });
  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(ISOLATION_HEADERS)) reply.header(k, v);
    return payload;
  });
  await app.register(fastifyStatic, { root: webRoot, prefix: '/', index: 'index.html', dotfiles: 'deny', cacheControl: false });
  if (o.modelsDir) serveReadOnlyFolder(app, { prefix: '/models', dir: o.modelsDir, markers: ['model.onnx'] });
  if (o.sdModelsDir) serveReadOnlyFolder(app, { prefix: '/sd-models', dir: o.sdModelsDir, markers: ['model_index.json', 'unet/model.onnx'] });
  app.get('/config.json', async () => ({ sdModels: Boolean(o.sdModelsDir), models: Boolean(o.modelsDir) }));
  for (const p of o.plugins ?? []) await app.register(p.plugin, p.options ?? {});
  await app.ready();
  return app;
}
