import type { GenerateOptions } from '../pipelines/txt2img.js';
import type { ExperimentItem } from '../experiments/types.js';
import { contentId } from './job-id.js';

/** A generation as a job carries it: the pipeline's options minus where and how to run (the worker decides). */
export type GenerateRequest = Omit<GenerateOptions, 'output' | 'runtime' | 'onProgress' | 'signal' | 'warn'>;

export interface GenerateJob {
  readonly kind: 'generate';
  readonly request: GenerateRequest;
}

/**
 * One (method, prompt, seed) item of a prompt-set experiment. Workers read the config from its absolute
 * path (so it must be on the shared folder, at the same path everywhere) and refuse it if its content no
 * longer has the hash it was queued with.
 */
export interface ExperimentItemJob {
  readonly kind: 'experiment-item';
  readonly config: string;
  readonly configSha256: string;
  readonly item: ExperimentItem;
}

/** A job with a `trivial` payload does no model work: the load benchmark measures the queue alone with it. */
export interface TrivialJob {
  readonly kind: 'trivial';
  readonly n: number;
}

export type JobData = GenerateJob | ExperimentItemJob | TrivialJob;

const PREFIX: Record<JobData['kind'], string> = { generate: 'gen', 'experiment-item': 'exp', trivial: 'nop' };

/** The job's id: its kind and a hash of its content (an experiment item's own content id: experiment, method, prompt, seed). */
export function jobIdOf(data: JobData): string {
  switch (data.kind) {
    case 'generate':
      return contentId(PREFIX.generate, data.request);
    case 'experiment-item':
      if (!/^[0-9a-f]{32}$/.test(data.item.id)) throw new Error(`experiment item id ${JSON.stringify(data.item.id)}: expected 32 hex digits`);
      return `${PREFIX['experiment-item']}-${data.item.id}`;
    case 'trivial':
      return contentId(PREFIX.trivial, data.n);
  }
}
