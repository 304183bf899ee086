import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readExperimentConfig, type ResolvedExperiment } from '../experiments/config.js';
import { createContext, expandItems, runItem, type RunContext } from '../experiments/run.js';
import type { ResultRow, ResultStore } from '../experiments/types.js';
import type { ExperimentItemRunner } from './handlers.js';
import { jobIdOf, type ExperimentItemJob } from './payload.js';
import type { JobQueue } from './queue.js';
import { JobStore } from './store.js';

/*
 * A prompt-set experiment on the queue. Workers on any machine run items (eval's runItem: generate, write
 * the PNG into the experiment's images/, score) and leave each row as a JSON record in <out>/queue/ — a
 * shared folder takes concurrent writers from many machines safely, with atomic renames, where SQLite on a
 * network share does not (its locks are not reliable over NFS). The one process that enqueued (or any
 * `w2sd experiment status`) then folds those records into the experiment's results.sqlite, the single
 * writer it was designed for; `put` is idempotent, so folding twice changes nothing.
 */

export const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The record folder of an experiment's queued items. */
export const queueStoreOf = (e: ResolvedExperiment) => new JobStore(join(e.outDir, 'queue'));

export interface QueuedExperiment {
  readonly experiment: ResolvedExperiment;
  readonly jobs: ExperimentItemJob[];
  readonly ids: string[];
}

/** Reads and checks the config (every folder, prompt set and scorer) and builds one job per item. */
export async function experimentJobs(configPath: string): Promise<QueuedExperiment> {
  const config = resolve(configPath);
  const configSha256 = sha256File(config);
  const experiment = readExperimentConfig(config);
  // expandItems needs only the resolved experiment; scorers are opened by the workers
  const items = expandItems({ experiment, scorers: [] });
  const jobs = items.map((item): ExperimentItemJob => ({ kind: 'experiment-item', config, configSha256, item }));
  return { experiment, jobs, ids: jobs.map(jobIdOf) };
}

export async function enqueueExperiment(queue: JobQueue, configPath: string): Promise<QueuedExperiment & { added: number }> {
  const q = await experimentJobs(configPath);
  const { added } = await queue.add(q.jobs);
  return { ...q, added };
}

/**
 * The worker's side: one context per config (scorers loaded once, SD sessions cached per process), reused
 * by every item of that experiment. A per-job signal lets a stopping worker abort an item and hand it back.
 */
export function experimentRunner(threads?: number): { run: ExperimentItemRunner; storeOf: (job: ExperimentItemJob) => Promise<JobStore> } {
  const contexts = new Map<string, Promise<RunContext>>();
  const contextOf = (job: ExperimentItemJob): Promise<RunContext> => {
    const key = `${job.config}#${job.configSha256}`;
    let c = contexts.get(key);
    if (!c) {
      c = (async () => {
        const now = sha256File(job.config);
        if (now !== job.configSha256) throw new Error(`experiment config ${job.config} changed since the experiment was queued (sha256 ${now.slice(0, 12)}…, queued ${job.configSha256.slice(0, 12)}…): queue it again under a new experiment id`);
        return createContext(job.config, { threads });
      })();
      contexts.set(key, c);
      c.catch(() => contexts.delete(key));
    }
    return c;
  };
  return {
    storeOf: async (job) => queueStoreOf((await contextOf(job)).experiment),
    run: async (job, ctx) => {
      const base = await contextOf(job);
      const row = await runItem({ ...base, signal: ctx.signal }, job.item);
      return { images: [], result: row };
    },
  };
}

/** Folds finished records into the experiment's store; refuses rows made with other settings under a label. */
export async function collectExperiment(q: QueuedExperiment, store: ResultStore): Promise<{ imported: number; done: number }> {
  const records = queueStoreOf(q.experiment);
  let imported = 0;
  let done = 0;
  for (const id of q.ids) {
    const rec = records.get(id);
    if (!rec) continue;
    done++;
    const row = rec.result as ResultRow;
    const now = q.experiment.methods.get(row.method);
    if (now && JSON.stringify(now) !== JSON.stringify(row.settings)) {
      throw new Error(`queued result ${id} of method ${row.method} was made with other settings (${JSON.stringify(row.settings)}; config now ${JSON.stringify(now)}): give the changed method a new name or the experiment a new id`);
    }
    if (await store.put(row)) imported++;
  }
  return { imported, done };
}

export interface ExperimentStatus {
  readonly experiment: string;
  readonly total: number;
  readonly done: number;
  readonly running: number;
  readonly failed: number;
  readonly waiting: number;
  readonly workers: number;
  readonly perSecond?: number;
  readonly etaSeconds?: number;
  readonly failures: { id: string; method: string; promptId: string; seed: number; attempts: number; error: string }[];
}

/** done from the records, running and failed from the queue's (short) active and failed lists. */
export async function experimentStatus(queue: JobQueue, q: QueuedExperiment, done: number): Promise<ExperimentStatus> {
  const mine = new Map(q.ids.map((id, i) => [id, q.jobs[i]]));
  const qs = await queue.status();
  const active = (await queue.queue.getActive()).filter((j) => mine.has(j.id!)).length;
  const failedJobs = (await queue.failedJobs(1000)).filter((f) => mine.has(f.id));
  const waiting = Math.max(0, q.ids.length - done - active - failedJobs.length);
  return {
    experiment: q.experiment.config.experiment,
    total: q.ids.length,
    done,
    running: active,
    failed: failedJobs.length,
    waiting,
    workers: qs.workers,
    perSecond: qs.perSecond,
    etaSeconds: waiting + active === 0 ? 0 : qs.perSecond ? (waiting + active) / qs.perSecond : undefined,
    failures: failedJobs.map((f) => {
      const it = mine.get(f.id)!.item;
      return { id: f.id, method: it.method, promptId: it.promptId, seed: it.seed, attempts: f.attempts, error: f.error };
    }),
  };
}
