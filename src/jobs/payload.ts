import type { GenerateOptions } from '../pipelines/txt2img.js';
import { contentId } from './job-id.js';

/** A generation as a job carries it: the pipeline's options minus where and how to run (the worker decides). */
export type GenerateRequest = Omit<GenerateOptions, 'output' | 'runtime' | 'onProgress' | 'signal' | 'warn'>;

export interface GenerateJob {
  readonly kind: 'generate';
  readonly request: GenerateRequest;
}

/** One (method, prompt, seed) item of a prompt-set experiment; `item` is the experiment runner's own. */
export interface ExperimentItemJob {
  readonly kind: 'experiment-item';
  /** Experiment name (the config's) and the resolved config, so a worker anywhere can build its context. */
  readonly experiment: string;
  readonly config: unknown;
  readonly item: unknown;
}

/** A job with a `trivial` payload does no model work: the load benchmark measures the queue alone with it. */
export interface TrivialJob {
  readonly kind: 'trivial';
  readonly n: number;
}

export type JobData = GenerateJob | ExperimentItemJob | TrivialJob;

const PREFIX: Record<JobData['kind'], string> = { generate: 'gen', 'experiment-item': 'exp', trivial: 'nop' };

/** The job's id: its kind and a hash of its content (for an experiment item: experiment name and item). */
export function jobIdOf(data: JobData): string {
  switch (data.kind) {
    case 'generate':
      return contentId(PREFIX.generate, data.request);
    case 'experiment-item':
      return contentId(PREFIX['experiment-item'], { experiment: data.experiment, item: data.item });
    case 'trivial':
      return contentId(PREFIX.trivial, data.n);
  }
}
