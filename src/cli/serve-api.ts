import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseQueueUrl } from '../jobs/connection.js';
import { DEFAULT_QUEUE_NAME, JobQueue } from '../jobs/queue.js';
import type { AppPlugin } from '../server/app.js';
import { v1Api, type V1Options } from '../server/v1/index.js';
import { checkBindSecurity } from '../server/v1/security.js';

export interface RawApiOptions {
  host: string;
  queue?: string;
  queueName: string;
  results: string;
  token?: string;
  rateLimit: string;
  concurrency: string;
}

function intIn(value: string, name: string, min: number, max: number): number {
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return v;
}

/**
 * The /v1 API's options of `w2sd serve`, all checked before the server starts: off loopback a token is
 * required (--token, or W2SD_API_TOKEN so it stays out of `ps`).
 */
export function parseApiOptions(raw: RawApiOptions, modelsDir: string | undefined, env: NodeJS.ProcessEnv = process.env): V1Options {
  const token = raw.token ?? env.W2SD_API_TOKEN;
  checkBindSecurity(raw.host, token);
  const rate = intIn(raw.rateLimit, '--rate-limit', 1, 1_000_000);
  const concurrency = intIn(raw.concurrency, '--concurrency', 1, 64);
  const queue = raw.queue !== undefined ? parseQueueUrl(raw.queue) : undefined;
  return {
    results: resolve(raw.results),
    modelsDir,
    token,
    rateLimit: { max: rate, windowMs: 60_000 },
    concurrency,
    ...(queue ? { queue: JobQueue.open(queue, raw.queueName) } : {}),
  };
}

export function apiPlugin(options: V1Options): AppPlugin {
  return { plugin: v1Api as AppPlugin['plugin'], options };
}

export function addApiOptions(serve: Command): Command {
  return serve
    .option('--queue <url>', '/v1 API: send generations to `w2sd worker`s through Redis (redis://HOST:PORT) instead of running them here')
    .option('--queue-name <name>', '/v1 API: queue name', DEFAULT_QUEUE_NAME)
    .option('--results <dir>', '/v1 API: results folder (shared with the workers)', 'out/api')
    .option('--token <t>', '/v1 API: bearer token (or W2SD_API_TOKEN); required when --host is not loopback')
    .option('--rate-limit <n>', '/v1 API: requests per minute per client', '120')
    .option('--concurrency <n>', '/v1 API without --queue: generations run at once in the server', '1');
}
