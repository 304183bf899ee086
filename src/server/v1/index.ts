import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import { Ajv } from 'ajv';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { defaultHandler, type JobHandler } from '../../jobs/handlers.js';
import { jobIdOf, type GenerateJob, type GenerateRequest } from '../../jobs/payload.js';
import type { JobQueue } from '../../jobs/queue.js';
import { JobStore } from '../../jobs/store.js';
import { readSdFolder } from '../../models/sd/folder.js';
import { LocalRunner } from './local-runner.js';
import { GENERATE_BODY, IMAGE_PARAMS, JOB_PARAMS, type GenerateBody } from './schemas.js';
import { bearerMatches } from './security.js';

export interface V1Options extends Record<string, unknown> {
  /** Results folder (images and records), shared with the workers when a queue is used. */
  readonly results: string;
  /** Folder whose subfolders are the models clients may name. Absent: POST /v1/generate is refused. */
  readonly modelsDir?: string;
  /** Queued mode: jobs go to the workers. Absent: run here with bounded concurrency. */
  readonly queue?: JobQueue;
  readonly concurrency?: number;
  /** In-process jobs allowed to wait (beyond: 503). */
  readonly maxPending?: number;
  /** Bearer token every /v1 request must carry (required off loopback: see checkBindSecurity). */
  readonly token?: string;
  /** Requests per client (IP) per window. */
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
  /** Largest request body in bytes (default 16 KiB; a generate request is well under 8 KiB). */
  readonly bodyLimit?: number;
  /** How long POST waits for Redis before answering 503 (default 10 s). */
  readonly queueTimeoutMs?: number;
  /** In-process runner (tests use a trivial one). */
  readonly handler?: JobHandler;
}

class BadRequest extends Error {
  readonly statusCode = 400;
}

/** Model names resolve inside modelsDir only; the folder must be a model folder. */
function modelPath(modelsDir: string | undefined, name: string, field: string): string {
  if (!modelsDir) throw new BadRequest('this server has no models folder (start it with --models DIR)');
  const root = resolve(modelsDir);
  const dir = resolve(root, name);
  if (!dir.startsWith(root + sep) || !existsSync(join(dir, 'model_index.json')) || !statSync(dir).isDirectory()) {
    throw new BadRequest(`${field}: no model named ${JSON.stringify(name)} in the server's models folder`);
  }
  return dir;
}

/** The cross-field rules of `w2sd generate` that a schema cannot state, checked before anything is queued. */
function toRequest(b: GenerateBody, modelsDir: string | undefined): GenerateRequest {
  const model = modelPath(modelsDir, b.model, 'model');
  const steps = b.steps ?? 50;
  if (b.lambda !== undefined && b.lambda >= steps) throw new BadRequest(`lambda: expected 0 ≤ λ < steps (${steps}), got ${b.lambda}`);
  const folder = readSdFolder(model);
  const factor = folder.vaeScaleFactor;
  if (factor !== undefined) {
    for (const [name, v] of [['width', b.width], ['height', b.height]] as const) {
      if (v !== undefined && v % (8 * factor) !== 0) throw new BadRequest(`${name} ${v}: expected a multiple of ${8 * factor} (8 × the VAE factor ${factor})`);
    }
  }
  const hasPair = b.pair !== undefined || b.weakModel !== undefined || b.weakPrompt !== undefined || b.weakGuidance !== undefined;
  if (['w2sd', 's2wd', 'autoguidance'].includes(b.method ?? '') && !hasPair) throw new BadRequest(`method ${b.method} needs a pair: give pair, weakModel, weakPrompt or weakGuidance`);
  return {
    model,
    prompt: b.prompt,
    negativePrompt: b.negative,
    width: b.width,
    height: b.height,
    steps: b.steps,
    seed: b.seed,
    batch: b.batch,
    guidance: b.guidance,
    sampler: b.sampler,
    eta: b.eta,
    method: b.method,
    pair: b.pair,
    strongModel: b.strongModel === undefined ? undefined : modelPath(modelsDir, b.strongModel, 'strongModel'),
    weakModel: b.weakModel === undefined ? undefined : modelPath(modelsDir, b.weakModel, 'weakModel'),
    weakPrompt: b.weakPrompt,
    strongGuidance: b.strongGuidance,
    weakGuidance: b.weakGuidance,
    lambda: b.lambda,
    inversion: b.inversion,
    equalCompute: b.equalCompute,
    autoguidanceWeight: b.agWeight,
  };
}

/**
 * The /v1 API as a Fastify plugin (its own encapsulated context: schemas, hooks, rate limit and error
 * handler apply to these routes only). Register it on `w2sd serve`'s app or on any Fastify instance.
 */
export const v1Api: FastifyPluginAsync<V1Options> = async (app, o) => {
  const store = new JobStore(o.results).ensure();
  const bodyLimit = o.bodyLimit ?? 16 * 1024;
  const local = o.queue ? undefined : new LocalRunner(store, o.handler ?? defaultHandler(), o.concurrency ?? 1, o.maxPending ?? 64);
  app.addHook('onClose', async () => local?.close());

  // strict validation: no type coercion ("10" is not a number), unknown fields refused rather than dropped
  const ajv = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, strict: true });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(400).send({ error: 'Bad Request', message: `request body larger than ${bodyLimit} bytes` });
    if (err.validation) {
      // name the allowed values, as the CLI does
      const first = err.validation[0];
      const allowed = first?.keyword === 'enum' ? `: ${(first.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : '';
      return reply.code(400).send({ error: 'Bad Request', message: `${err.message}${allowed}` });
    }
    if (status >= 500) {
      app.log.error(err);
      return reply.code(500).send({ error: 'Internal Server Error', message: err.message });
    }
    return reply.code(status).send({ error: status === 429 ? 'Too Many Requests' : 'Bad Request', message: err.message });
  });

  await app.register(rateLimit, {
    max: o.rateLimit?.max ?? 120,
    timeWindow: o.rateLimit?.windowMs ?? 60_000,
    keyGenerator: (req) => req.ip,
  });
  if (o.token !== undefined) {
    const token = o.token;
    app.addHook('onRequest', async (req, reply) => {
      if (!bearerMatches(req.headers.authorization, token)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Unauthorized', message: 'missing or wrong bearer token (Authorization: Bearer <token>)' });
      }
    });
  }

  app.post<{ Body: GenerateBody }>('/v1/generate', { schema: { body: GENERATE_BODY }, bodyLimit }, async (req, reply) => {
    const data: GenerateJob = { kind: 'generate', request: toRequest(req.body, o.modelsDir) };
    const id = jobIdOf(data);
    const links = { self: `/v1/jobs/${id}` };
    if (store.has(id)) return reply.code(200).send({ id, state: 'completed', links });
    if (o.queue) {
      // commands wait through a Redis restart; a client should not wait longer than this
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), o.queueTimeoutMs ?? 10_000)));
      const added = await Promise.race([o.queue.addOne(data), timeout]).finally(() => clearTimeout(timer));
      if (added === 'timeout') return reply.code(503).header('retry-after', '10').send({ error: 'Service Unavailable', message: 'the job queue (Redis) does not answer; retry later' });
    } else if (!local!.add(id, data)) {
      return reply.code(503).header('retry-after', '10').send({ error: 'Service Unavailable', message: `too many jobs waiting (${local!.maxPending}); retry later` });
    }
    return reply.code(202).send({ id, state: 'queued', links });
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { params: JOB_PARAMS } }, async (req, reply) => {
    const { id } = req.params;
    const rec = store.get(id);
    if (rec) return { id, state: 'completed', images: rec.images.map((f) => `/v1/images/${f.replace(/\.png$/, '')}`), result: rec.result };
    const info = o.queue ? await o.queue.job(id) : local!.state(id);
    if (!info) return reply.code(404).send({ error: 'Not Found', message: `no job ${id}` });
    // a completed queue entry without a record is being written or was made on a store this server cannot see
    return { id, state: info.state === 'completed' ? 'active' : info.state, ...(info.error ? { error: info.error } : {}) };
  });

  app.get<{ Params: { id: string } }>('/v1/images/:id', { schema: { params: IMAGE_PARAMS } }, async (req, reply) => {
    const path = store.imagePath(req.params.id);
    if (!path) return reply.code(404).send({ error: 'Not Found', message: `no image ${req.params.id}` });
    return reply.type('image/png').header('cache-control', 'public, max-age=31536000, immutable').send(readFileSync(path));
  });
};
