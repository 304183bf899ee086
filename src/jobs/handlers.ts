import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import { resultSummary } from '../pipelines/summary.js';
import { generate } from '../pipelines/txt2img.js';
import type { GenerateRequest, JobData } from './payload.js';

export interface JobContext {
  readonly id: string;
  readonly signal: AbortSignal;
  readonly runtime: RuntimeOptions;
}

/** What a handler hands to the store: PNG files (in batch order) and a JSON summary. */
export interface JobOutput {
  readonly images: readonly Uint8Array[];
  readonly result: unknown;
}

export type JobHandler = (data: JobData, ctx: JobContext) => Promise<JobOutput>;

/**
 * Runs a generation. The pipeline writes its PNGs (with their generation parameters) all-or-nothing into a
 * private temp folder; the bytes then go to the shared store under the job's id. Sessions come from the
 * process-wide cache, so a worker loads each model once, whatever the number of jobs.
 */
export async function runGenerate(request: GenerateRequest, ctx: JobContext): Promise<JobOutput> {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-job-'));
  try {
    const r = await generate({ ...request, runtime: ctx.runtime, output: join(dir, 'image.png'), signal: ctx.signal });
    const images = r.files.map((f) => readFileSync(f));
    // the --json summary without what only meant something inside this job's temporary folder
    const { files: _files, unetRuns: _unetRuns, ...result } = resultSummary(r);
    return { images, result };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type ExperimentItemRunner = (data: Extract<JobData, { kind: 'experiment-item' }>, ctx: JobContext) => Promise<JobOutput>;

/** The handler for every kind; experiment items need the experiment runner, given by the caller. */
export function defaultHandler(experimentItem?: ExperimentItemRunner): JobHandler {
  return async (data, ctx) => {
    switch (data.kind) {
      case 'generate':
        return runGenerate(data.request, ctx);
      case 'trivial':
        return { images: [], result: { n: data.n } };
      case 'experiment-item':
        if (!experimentItem) throw new Error('this worker cannot run experiment items');
        return experimentItem(data, ctx);
      default:
        throw new Error(`unknown job kind ${JSON.stringify((data as { kind?: unknown }).kind)}`);
    }
  };
}
