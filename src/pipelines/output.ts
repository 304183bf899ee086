import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { DecodedImage } from '../models/sd/vae.js';
import { writeFilesAtomically } from './atomic.js';
import type { Geometry } from './geometry.js';
import type { LegSpec } from './legs.js';
import { asciiJson, encodePng } from './png.js';
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
  return `${basename(l.model)} @ CFG ${l.guidance} "${l.prompt}"`;
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
    `Model: ${basename(g.mainModel.folder.dir)}`,
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

/** Encodes every image as a PNG carrying its parameters and writes them all or none. */
export function writeImages(images: readonly DecodedImage[], req: Request, g: Geometry, run: RunRecord, signal?: AbortSignal): void {
  if (g.files.length === 0) return;
  mkdirSync(dirname(g.files[0]), { recursive: true });
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
  const pngs = images.map((img, b) => ({
    path: g.files[b],
    data: encodePng(img.rgb, img.width, img.height, { parameters: parametersText(req, g, run, b), w2sd: asciiJson({ ...summary, batchItem: b }) }),
  }));
  writeFilesAtomically(pngs, signal);
}
