import { stepClock } from '../core/index.js';
import type { ModelHost } from '../models/host.js';
import { prepareGeometry } from './geometry.js';
import type { GenerateOptions, GenerateResult } from './options.js';
import { imageTexts, reflectionFields, usedLegSpecs } from './parameters.js';
import type { Request } from './request.js';
import { encodeLegs, planSampling, prepareLegs, sample } from './sampling.js';

/** A run's images and record, before anything is written: `files` is the writer's business. */
export interface Rendered extends Omit<GenerateResult, 'files'> {
  /** Each image's PNG text chunks (parameters.ts). */
  readonly texts: readonly Record<string, string>[];
}

/**
 * Text to image on any model host (the file system in Node, a picked or served folder in a page), in four
 * stages: encode the legs' prompts, prepare the legs' denoisers and the method, sample, decode. Sizes and
 * folders are checked before the first model evaluation.
 */
export async function render(req: Request, o: GenerateOptions, host: ModelHost, warn: (m: string) => void): Promise<Rendered> {
  const t0 = performance.now();
  const runtime = o.runtime ?? {};
  const geometry = await prepareGeometry(req, o, host, runtime, warn);
  const encoded = await encodeLegs(req, { host, runtime, batch: req.batch, width: geometry.width, height: geometry.height, warn, clipSkip: o.clipSkip });
  o.signal?.throwIfAborted();
  const clock = stepClock();
  const legs = prepareLegs(encoded, { clock, guidanceRescale: o.guidanceRescale });
  const plan = planSampling(req, legs, geometry.mainModel.folder.scheduler, o, warn);

  const tPrepared = performance.now();
  const sampled = await sample(plan, legs, req, geometry.latentShape, clock, (i) => {
    o.signal?.throwIfAborted();
    o.onProgress?.({ step: i + 1, steps: plan.takenSteps, evaluations: plan.counter.total, expectedEvaluations: plan.expectedEvaluations, elapsedMs: performance.now() - t0 });
  });
  const tSampled = performance.now();

  o.signal?.throwIfAborted();
  const images = await (await geometry.mainModel.vae()).decode(sampled.latents, geometry.latentShape);
  const tDecoded = performance.now();

  const evaluations = plan.counter.total;
  const run = { pair: o.pair, negativePrompt: o.negativePrompt, takenSteps: plan.takenSteps, lambda: plan.lambda, equalCompute: o.equalCompute ?? false, evaluations, guidanceRescale: o.guidanceRescale, clipSkip: o.clipSkip };
  return {
    family: geometry.mainModel.family,
    method: req.method,
    pair: o.pair,
    legs: usedLegSpecs(req),
    width: geometry.width,
    height: geometry.height,
    seed: req.seed,
    batch: req.batch,
    sampler: req.sampler,
    steps: plan.takenSteps,
    ...reflectionFields(req, plan.lambda),
    evaluations,
    evaluationsByLeg: plan.counter.byLabel(),
    expectedEvaluations: plan.expectedEvaluations,
    unetRuns: sampled.unetRuns,
    latents: sampled.latents,
    latentShape: geometry.latentShape,
    images,
    texts: imageTexts(req, geometry, run),
    timingsMs: { prepare: tPrepared - t0, sample: tSampled - tPrepared, unet: sampled.unetMs, decode: tDecoded - tSampled, total: tDecoded - t0 },
    warnings: [],
  };
}

/** The warnings of a run, kept for its result and passed on to the caller's `warn` as they come. */
export function warningsCollector(o: Pick<GenerateOptions, 'warn'>): { warnings: string[]; warn: (m: string) => void } {
  const warnings: string[] = [];
  return {
    warnings,
    warn: (m) => {
      warnings.push(m);
      o.warn?.(m);
    },
  };
}
