import { WaitingError, Worker, type Job } from 'bullmq';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import { connect, type QueueUrl } from './connection.js';
import type { JobHandler } from './handlers.js';
import { isJobId } from './job-id.js';
import type { JobData } from './payload.js';
import { DEFAULT_QUEUE_NAME } from './queue.js';
import type { JobStore } from './store.js';

export interface WorkerOptions {
  readonly url: QueueUrl;
  readonly queueName?: string;
  readonly store: JobStore;
  /** Where a job's record goes when not in `store` (an experiment item: its experiment's folder). */
  readonly storeFor?: (data: JobData) => Promise<JobStore | undefined>;
  readonly handler: JobHandler;
  /** Jobs run at once in this process (they share its loaded models). */
  readonly concurrency?: number;
  readonly runtime?: RuntimeOptions;
  /**
   * How long a job's lock lives without renewal (the worker renews it at half this period). A worker that
   * dies stops renewing; after this time its job counts as stalled and another worker takes it.
   */
  readonly lockMs?: number;
  /** How often workers look for stalled jobs. */
  readonly stalledCheckMs?: number;
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  readonly worker: Worker;
  /**
   * Stops taking jobs and lets the running ones finish. With `handBack`, running jobs are aborted and
   * returned to the waiting list without spending an attempt (what a second SIGTERM asks for).
   */
  stop(handBack?: boolean): Promise<void>;
}

interface Running {
  readonly job: Job;
  readonly token: string;
  readonly abort: AbortController;
}

/** A BullMQ worker that runs w2sd jobs and commits their results to the shared store exactly once per id. */
export function startWorker(o: WorkerOptions): RunningWorker {
  const log = o.log ?? (() => {});
  const running = new Map<string, Running>();
  let handingBack = false;

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const id = job.id!;
    if (!isJobId(id)) throw new Error(`job id ${JSON.stringify(id)} is not a content id; refusing to write results for it`);
    const store = (await o.storeFor?.(job.data as JobData)) ?? o.store;
    // A job that ran before (a stall recovered after its first run had finished) keeps its one result.
    if (store.has(id)) {
      log(`skip ${id} (result present)`);
      return { id, reused: true };
    }
    const abort = new AbortController();
    running.set(id, { job, token: token!, abort });
    log(`start ${id} attempt ${job.attemptsMade + 1}`);
    try {
      const out = await o.handler(job.data as JobData, { id, signal: abort.signal, runtime: o.runtime ?? {} });
      const record = store.commit({ id, kind: (job.data as JobData).kind, result: out.result, attempt: job.attemptsMade + 1 }, out.images);
      log(`done ${id}`);
      return { id, images: record.images };
    } catch (err) {
      if (handingBack && abort.signal.aborted) {
        await job.moveToWait(token);
        log(`handed back ${id}`);
        throw new WaitingError();
      }
      log(`error ${id}: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    } finally {
      running.delete(id);
    }
  };

  const lockDuration = o.lockMs ?? 30_000;
  const connection = connect(o.url, `w2sd-worker-${process.pid}`, log);
  const worker = new Worker(o.queueName ?? DEFAULT_QUEUE_NAME, processor, {
    connection,
    concurrency: o.concurrency ?? 1,
    lockDuration,
    stalledInterval: o.stalledCheckMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
    // a job whose worker died twice still gets a third chance before it is failed as stalled
    maxStalledCount: 2,
    autorun: true,
  });
  worker.on('error', (err) => log(`queue error: ${err.message}`));

  return {
    worker,
    async stop(handBack = false) {
      if (handBack) {
        handingBack = true;
        for (const r of running.values()) r.abort.abort(new Error('worker stopping: job handed back'));
      }
      await worker.close();
      // BullMQ leaves a connection it was given open
      connection.disconnect();
    },
  };
}
