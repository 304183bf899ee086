import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect, type QueueUrl } from './connection.js';
import { jobIdOf, type JobData } from './payload.js';

export const DEFAULT_QUEUE_NAME = 'w2sd';

/**
 * Retries with exponential backoff (2 s, 4 s, …) before a job lands in the failed list with its error.
 * Finished jobs are kept a week so that enqueuing the same content again is a no-op; after that the
 * result store still makes a rerun cheap (the worker finds the record and returns at once).
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 1_000_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export interface QueueStatus {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
  readonly workers: number;
  /** Jobs finished per second over the latest completions (undefined until two have finished). */
  readonly perSecond?: number;
  /** Seconds until the waiting, delayed and active jobs are done at that rate. */
  readonly etaSeconds?: number;
}

export interface FailedJob {
  readonly id: string;
  readonly kind: string;
  readonly attempts: number;
  readonly error: string;
  readonly failedAt?: string;
}

export type JobState = 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'unknown';

export interface JobInfo {
  readonly id: string;
  readonly state: JobState;
  readonly attempts: number;
  readonly error?: string;
  readonly progress?: unknown;
}

/** The producer's and observer's side of the job queue (workers have their own, src/jobs/worker.ts). */
export class JobQueue {
  private constructor(
    readonly queue: Queue,
    private readonly connection: Redis,
  ) {}

  /** `retry` overrides the attempts and first backoff delay of jobs this producer adds. */
  static open(url: QueueUrl, name = DEFAULT_QUEUE_NAME, retry?: { attempts: number; backoffMs: number }): JobQueue {
    const connection = connect(url, `w2sd-producer-${process.pid}`);
    const defaultJobOptions = retry ? { ...JOB_OPTIONS, attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.backoffMs } } : JOB_OPTIONS;
    return new JobQueue(new Queue(name, { connection, defaultJobOptions }), connection);
  }

  /**
   * Adds jobs under their content ids; content already queued, running or finished is left alone
   * (BullMQ ignores an add whose id exists). Returns every id and how many jobs are new.
   */
  async add(jobs: readonly JobData[], chunk = 500): Promise<{ ids: string[]; added: number }> {
    const ids = jobs.map(jobIdOf);
    const before = await this.total();
    for (let i = 0; i < jobs.length; i += chunk) {
      await this.queue.addBulk(jobs.slice(i, i + chunk).map((data, k) => ({ name: data.kind, data, opts: { jobId: ids[i + k] } })));
    }
    return { ids, added: (await this.total()) - before };
  }

  /** One job, without the counting `add` does (the API's path). */
  async addOne(data: JobData): Promise<string> {
    const id = jobIdOf(data);
    await this.queue.add(data.kind, data, { jobId: id });
    return id;
  }

  private async total(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  async status(): Promise<QueueStatus> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    const workers = await this.queue.getWorkersCount();
    const recent = await this.queue.getJobs(['completed'], 0, 99);
    const times = recent.map((j) => j.finishedOn).filter((t): t is number => typeof t === 'number').sort((a, b) => a - b);
    const waiting = c.waiting + c.prioritized;
    const remaining = waiting + c.delayed + c.active;
    let perSecond: number | undefined;
    if (times.length >= 2 && times[times.length - 1] > times[0]) perSecond = ((times.length - 1) * 1000) / (times[times.length - 1] - times[0]);
    return {
      waiting,
      active: c.active,
      delayed: c.delayed,
      completed: c.completed,
      failed: c.failed,
      workers,
      perSecond,
      etaSeconds: perSecond ? remaining / perSecond : remaining === 0 ? 0 : undefined,
    };
  }

  async failedJobs(limit = 100): Promise<FailedJob[]> {
    const jobs = await this.queue.getFailed(0, limit - 1);
    return jobs.map((j) => ({
      id: j.id!,
      kind: (j.data as JobData).kind,
      attempts: j.attemptsMade,
      error: j.failedReason ?? '(no message)',
      failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : undefined,
    }));
  }

  async job(id: string): Promise<JobInfo | undefined> {
    const job: Job | undefined = await this.queue.getJob(id);
    if (!job) return undefined;
    const state = await job.getState();
    const known: JobState[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];
    return {
      id,
      state: known.includes(state as JobState) ? (state as JobState) : state === 'prioritized' || state === 'waiting-children' ? 'waiting' : 'unknown',
      attempts: job.attemptsMade,
      error: job.failedReason || undefined,
      progress: job.progress,
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}
