import { baseName } from '../models/host.js';
import type { Geometry } from './geometry.js';
import type { LegSpec } from './legs.js';
import { asciiJson } from './png-text.js';
import { REFLECTING, type Request } from './request.js';

/** What a run records about itself: in each PNG's `w2sd` chunk (and, trimmed, in the result). */
export interface RunRecord {
  readonly pair?: string;
  readonly negativePrompt?: string;
  readonly takenSteps: number;
  readonly lambda: number;
  readonly equalCompute: boolean;
  readonly evaluations: number;
  readonly guidanceRescale?: number;
  readonly clipSkip?: number;
}

function describeLeg(l: LegSpec): string {
  return `${baseName(l.model)} @ CFG ${l.guidance} "${l.prompt}"`;
}

/** The legs the method used, by role. */
export function usedLegSpecs(req: Request): Record<string, LegSpec> {
  return Object.fromEntries(req.used.map((r) => [r, req.legs[r]]));
}

/** λ and the inversion, for the methods that reflect. */
export function reflectionFields(req: Request, lambda: number): { lambda?: number; inversion?: Request['inversion'] } {
  return REFLECTING.includes(req.method) ? { lambda, inversion: req.inversion } : {};
}

/** The A1111-style `parameters` text: prompt, negative prompt, then the settings on one line. */
function parametersText(req: Request, g: Geometry, run: RunRecord, batchItem: number): string {
  const { legs, used } = req;
  const reflection = reflectionFields(req, run.lambda);
  const settings = [
    `Steps: ${run.takenSteps}`,
    `Sampler: ${req.sampler}`,
    `CFG scale: ${legs.main.guidance}`,
    `Seed: ${req.seed}`,
    `Batch item: ${batchItem}`,
    `Size: ${g.width}x${g.height}`,
    `Model: ${baseName(g.mainModel.folder.dir)}`,
    `Method: ${req.method}`,
    ...(run.pair ? [`Pair: ${run.pair}`] : []),
    ...(used.includes('strong') ? [`Strong: ${describeLeg(legs.strong)}`] : []),
    ...(used.includes('weak') ? [`Weak: ${describeLeg(legs.weak)}`] : []),
    ...(reflection.lambda !== undefined ? [`Lambda: ${reflection.lambda}`, `Inversion: ${reflection.inversion}`] : []),
    ...(run.guidanceRescale ? [`Guidance rescale: ${run.guidanceRescale}`] : []),
    // diffusers' count (A1111's "Clip skip" is one more)
    ...(run.clipSkip !== undefined ? [`clip_skip: ${run.clipSkip}`] : []),
  ];
  return [legs.main.prompt, ...(run.negativePrompt !== undefined ? [`Negative prompt: ${run.negativePrompt}`] : []), settings.join(', ')].join('\n');
}

/**
 * The text chunks of each image of a run: A1111's `parameters` and the `w2sd` JSON record. The CLI and the
 * browser page write the same chunks, so an image records its making the same way wherever it was made.
 */
export function imageTexts(req: Request, g: Geometry, run: RunRecord): Record<string, string>[] {
  const reflection = reflectionFields(req, run.lambda);
  const summary = {
    model: g.mainModel.folder.dir,
    family: g.mainModel.family,
    method: req.method,
    pair: run.pair,
    legs: usedLegSpecs(req),
    negativePrompt: run.negativePrompt,
    sampler: req.sampler,
    steps: run.takenSteps,
    lambda: reflection.lambda,
    inversion: reflection.inversion,
    equalCompute: run.equalCompute,
    seed: req.seed,
    width: g.width,
    height: g.height,
    evaluations: run.evaluations,
    guidanceRescale: run.guidanceRescale,
    clipSkip: run.clipSkip,
  };
  return Array.from({ length: req.batch }, (_, b) => ({ parameters: parametersText(req, g, run, b), w2sd: asciiJson({ ...summary, batchItem: b }) }));
}
