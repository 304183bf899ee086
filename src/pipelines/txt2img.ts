import { stepClock } from '../core/index.js';
import { prepareGeometry } from './geometry.js';
import type { GenerateOptions, GenerateResult } from './options.js';
import { reflectionFields, usedLegSpecs, writeImages } from './output.js';
import { resolveRequest } from './request.js';
import { withLoras } from './lora.js';
import { encodeLegs, planSampling, prepareLegs, sample } from './sampling.js';

export { METHODS, type GenerateOptions, type GenerateProgress, type GenerateResult, type MethodName } from './options.js';

/**
 * Text to image with Stable Diffusion (ONNX) and any of the methods above, in five stages: encode the legs'
 * prompts, prepare the legs' denoisers and the method, sample, decode, write. Everything is checked before the
 * first model evaluation; the PNGs appear only once all of them are complete.
 */
export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const t0 = performance.now();
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    o.warn?.(m);
  };
  const req = withLoras(resolveRequest(o), o, warn);
  const runtime = o.runtime ?? {};
  const geometry = await prepareGeometry(req, o, runtime, warn);
  const encoded = await encodeLegs(req, { runtime, batch: req.batch, width: geometry.width, height: geometry.height, warn, clipSkip: o.clipSkip });
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
  writeImages(images, req, geometry, run, o.signal);
  const tEnd = performance.now();
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
    files: geometry.files,
    timingsMs: { prepare: tPrepared - t0, sample: tSampled - tPrepared, unet: sampled.unetMs, decode: tDecoded - tSampled, total: tEnd - t0 },
    warnings,
  };
}
