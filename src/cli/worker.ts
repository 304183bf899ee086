import type { Command } from 'commander';
import { parseQueueUrl } from '../jobs/connection.js';
import { experimentRunner } from '../jobs/experiment.js';
import { defaultHandler } from '../jobs/handlers.js';
import { DEFAULT_QUEUE_NAME } from '../jobs/queue.js';
import { JobStore } from '../jobs/store.js';
import { startWorker } from '../jobs/worker.js';
import { PROVIDERS, parseProvider } from '../models/onnx/providers.js';

interface RawWorkerOptions {
  queue: string;
  queueName: string;
  results: string;
  concurrency: string;
  provider: string;
  threads?: string;
  lockMs: string;
  grace: string;
}

function positiveInt(value: string, name: string, max: number): number {
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${name}: expected an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  return v;
}

const stamp = () => new Date().toISOString();

/**
 * `w2sd worker`: takes jobs from the queue until stopped. SIGTERM: no new jobs, the running ones finish
 * (after --grace seconds, or on a second SIGTERM or a SIGINT, they are aborted and handed back to the
 * queue without spending an attempt); then exit 0.
 */
async function action(raw: RawWorkerOptions): Promise<void> {
  const url = parseQueueUrl(raw.queue);
  const concurrency = positiveInt(raw.concurrency, '--concurrency', 64);
  const lockMs = positiveInt(raw.lockMs, '--lock-ms', 3_600_000);
  const graceS = positiveInt(raw.grace, '--grace', 86_400);
  const threads = raw.threads === undefined ? undefined : positiveInt(raw.threads, '--threads', 1024);
  const runtime = { provider: parseProvider(raw.provider), ...(threads ? { threads } : {}) };
  const store = new JobStore(raw.results).ensure();
  const log = (line: string) => process.stderr.write(`${stamp()} worker ${process.pid}: ${line}\n`);
  const experiments = experimentRunner(threads);
  const w = startWorker({
    url,
    queueName: raw.queueName,
    store,
    storeFor: async (data) => (data.kind === 'experiment-item' ? experiments.storeOf(data) : undefined),
    handler: defaultHandler(experiments.run),
    concurrency,
    runtime,
    lockMs,
    log,
  });
  log(`serving queue '${raw.queueName}' at ${url.host}:${url.port}, concurrency ${concurrency}, results in ${store.dir}`);

  // main.ts exits at once on Ctrl-C and SIGTERM (cancel.ts); a worker finishes or hands its jobs back first
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  let graceTimer: NodeJS.Timeout | undefined;
  const stopped = new Promise<void>((resolve, reject) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      let stopping: Promise<void>;
      if (signal === 'SIGTERM' && signals === 1) {
        log(`SIGTERM: finishing running jobs (handed back after ${graceS} s)`);
        graceTimer = setTimeout(() => void w.stop(true), graceS * 1000);
        stopping = w.stop(false);
      } else {
        log(`${signal}: handing back running jobs`);
        stopping = w.stop(true);
      }
      stopping.then(resolve, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await stopped;
  clearTimeout(graceTimer);
  log('stopped');
}

export function registerWorker(program: Command): Command {
  return program
    .command('worker')
    .description('Run queued jobs (generations, experiment items) from a Redis queue; start one per machine or GPU (docs/SCALE.md)')
    .requiredOption('--queue <url>', 'Redis URL, redis://HOST:PORT[/DB]')
    .requiredOption('--results <dir>', 'results folder shared by every worker and the server (local disk or a network share)')
    .option('--queue-name <name>', 'queue to serve', DEFAULT_QUEUE_NAME)
    .option('--concurrency <n>', 'jobs run at once in this process, sharing its loaded models', '1')
    .option('--provider <name>', `execution provider: ${PROVIDERS.join(', ')}`, 'cpu')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--lock-ms <ms>', 'job lock lifetime: a dead worker’s job is taken over after this long', '30000')
    .option('--grace <s>', 'after SIGTERM, seconds to let running jobs finish before handing them back', '60')
    .action((raw: RawWorkerOptions) => action(raw));
}
