import { join } from 'node:path';
import type { Command } from 'commander';
import { SqliteStore } from '../experiments/store.js';
import { parseQueueUrl } from '../jobs/connection.js';
import { collectExperiment, enqueueExperiment, experimentJobs, experimentStatus, type ExperimentStatus, type QueuedExperiment } from '../jobs/experiment.js';
import { DEFAULT_QUEUE_NAME, JobQueue } from '../jobs/queue.js';

export interface QueueCliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export interface QueueOptions {
  queue: string;
  queueName?: string;
  wait?: boolean;
  json?: boolean;
  pollMs?: number;
}

function eta(s: ExperimentStatus): string {
  if (s.etaSeconds === undefined) return 'ETA unknown (no job finished yet)';
  const t = Math.round(s.etaSeconds);
  return `ETA ${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m${String(t % 60).padStart(2, '0')}s`;
}

export function statusLine(s: ExperimentStatus): string {
  return `${s.experiment}: ${s.done}/${s.total} done, ${s.running} running, ${s.waiting} waiting, ${s.failed} failed; ${s.workers} workers, ${eta(s)}`;
}

/** Folds finished records into results.sqlite and reads the queue's view of the rest. */
async function collectAndStatus(queue: JobQueue, q: QueuedExperiment): Promise<ExperimentStatus & { imported: number }> {
  const store = SqliteStore.open(join(q.experiment.outDir, 'results.sqlite'));
  try {
    const { imported, done } = await collectExperiment(q, store);
    return { ...(await experimentStatus(queue, q, done)), imported };
  } finally {
    await store.close();
  }
}

function report(s: ExperimentStatus & { imported: number }, io: QueueCliIo, json: boolean): void {
  if (json) {
    io.out(`${JSON.stringify(s, null, 2)}\n`);
    return;
  }
  io.out(`${statusLine(s)}\n`);
  for (const f of s.failures) io.out(`  failed ${f.method} prompt ${f.promptId} seed ${f.seed} after ${f.attempts} attempts: ${f.error}\n`);
}

/**
 * `w2sd experiment CONFIG --queue URL`: one job per item (content ids: queuing again adds nothing), then,
 * unless --no-wait, follows the workers and folds their rows into the results store until every item is done
 * or failed. Interrupting it loses nothing: the workers go on, and a rerun or `status` collects.
 */
export async function queueExperimentAction(config: string, o: QueueOptions, io: QueueCliIo): Promise<void> {
  const queue = JobQueue.open(parseQueueUrl(o.queue), o.queueName ?? DEFAULT_QUEUE_NAME);
  try {
    const q = await enqueueExperiment(queue, config);
    io.err(`${q.experiment.config.experiment}: ${q.ids.length} items, ${q.added} newly queued, ${q.ids.length - q.added} already queued or done\n`);
    let s = await collectAndStatus(queue, q);
    while (o.wait !== false && s.done + s.failed < s.total) {
      if (!o.json) io.err(`${statusLine(s)}\n`);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 5000));
      s = await collectAndStatus(queue, q);
    }
    report(s, io, o.json ?? false);
    if (s.failed > 0) process.exitCode = 1;
  } finally {
    await queue.close();
  }
}

/** `w2sd experiment status CONFIG --queue URL`: done / running / waiting / failed, ETA, each failure's error. */
export async function experimentStatusAction(config: string, o: QueueOptions, io: QueueCliIo): Promise<void> {
  const q = await experimentJobs(config);
  const queue = JobQueue.open(parseQueueUrl(o.queue), o.queueName ?? DEFAULT_QUEUE_NAME);
  try {
    report(await collectAndStatus(queue, q), io, o.json ?? false);
  } finally {
    await queue.close();
  }
}

/** Adds `status` under `w2sd experiment` and the queue options to the command itself. */
export function addQueueOptions(experiment: Command, io: QueueCliIo): Command {
  experiment
    .option('--queue <url>', 'queue the items on Redis (redis://HOST:PORT) for `w2sd worker`s instead of running them here (docs/SCALE.md)')
    .option('--queue-name <name>', 'queue name', DEFAULT_QUEUE_NAME)
    .option('--no-wait', 'with --queue: enqueue and return instead of following the workers');
  experiment
    .command('status')
    .description('Progress of a queued experiment: done / running / waiting / failed, ETA and errors; folds finished rows into the store')
    .argument('<config>', 'experiment config (JSON)')
    .option('--json', 'print the status as JSON')
    // --queue and --queue-name are the parent's options (commander gives them to `experiment`)
    .action((config: string, _raw: QueueOptions, cmd: Command) => {
      const o = cmd.optsWithGlobals<QueueOptions>();
      if (o.queue === undefined) throw new Error('experiment status: --queue <url> is required (redis://HOST:PORT)');
      return experimentStatusAction(config, o, io);
    });
  return experiment;
}
