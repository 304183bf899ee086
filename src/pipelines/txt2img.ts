import { stepClock, type InversionKind, type SamplerName } from '../core/index.js';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import type { DecodedImage } from '../models/sd/vae.js';
import { prepareGeometry } from './geometry.js';
import type { LegSpec } from './legs.js';
import { reflectionFields, usedLegSpecs, writeImages } from './output.js';
import type { PairPreset } from './presets.js';
import { METHODS, resolveRequest } from './request.js';
import { encodeLegs, planSampling, prepareLegs, sample } from './sampling.js';

export { METHODS };
export type MethodName = (typeof METHODS)[number];

export interface GenerateOptions {
  /** The main model folder (also the strong one unless `strongModel` is given). */
  readonly model: string;
  readonly prompt: string;
  /** undefined: none (SDXL: zero embedding); "" is the encoded empty text, as in diffusers. */
  readonly negativePrompt?: string;
  readonly width?: number;
  readonly height?: number;
  /** T, default 50 (paper). */
  readonly steps?: number;
  readonly seed?: number;
  readonly batch?: number;
  /** Default ddim (η = 0), the paper's sampler. */
  readonly sampler?: SamplerName;
  readonly eta?: number;
  /** Default: w2sd when a pair is given, cfg otherwise. */
  readonly method?: MethodName;
  /** Main leg's guidance (paper 5.5). */
  readonly guidance?: number;
  readonly pair?: PairPreset;
  readonly strongModel?: string;
  readonly weakModel?: string;
  readonly weakPrompt?: string;
  readonly strongGuidance?: number;
  readonly weakGuidance?: number;
  /** λ, default T − 1 (paper). Ignored with `equalCompute`. */
  readonly lambda?: number;
  readonly inversion?: InversionKind;
  readonly repeats?: number;
  /** Paper §5.2: T' = ⌊T/2⌋ steps and λ = ⌊T'/2⌋. */
  readonly equalCompute?: boolean;
  /**
   * diffusers' guidance_rescale φ in [0, 1] (rescale_noise_cfg, Lin et al. 2023 eq. 15–16) on every leg that runs
   * both CFG halves; default 0 (off).
   */
  readonly guidanceRescale?: number;
  /**
   * diffusers' clip_skip: condition on the hidden state that many layers before the text encoder's last (SD 1.x/2.x
   * with the final layer norm, SDXL counted from the penultimate). Needs hidden_states.N outputs in the export.
   */
  readonly clipSkip?: number;
  /** Autoguidance weight w in D_w + w·(D_s − D_w); 2 is the paper's Table 15 setting ("w = 1" there). */
  readonly autoguidanceWeight?: number;
  readonly runtime?: RuntimeOptions;
  /** PNG path; with batch > 1, `-0`, `-1`, … are added before `.png`. Absent: nothing is written. */
  readonly output?: string;
  readonly onProgress?: (p: GenerateProgress) => void;
  readonly signal?: AbortSignal;
  readonly warn?: (msg: string) => void;
}

export interface GenerateProgress {
  readonly step: number;
  readonly steps: number;
  readonly evaluations: number;
  readonly expectedEvaluations: number;
  readonly elapsedMs: number;
}

export interface GenerateResult {
  readonly family: string;
  readonly method: MethodName;
  readonly pair?: PairPreset;
  readonly legs: Readonly<Record<string, LegSpec>>;
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly batch: number;
  readonly sampler: SamplerName;
  /** Sampling steps actually taken (⌊T/2⌋ with equal compute). */
  readonly steps: number;
  readonly lambda?: number;
  readonly inversion?: InversionKind;
  /** Model evaluations counted at the denoiser (a CFG batch of 2B is one), by leg. */
  readonly evaluations: number;
  readonly evaluationsByLeg: Readonly<Record<string, number>>;
  readonly expectedEvaluations: number;
  /** ONNX Runtime calls per UNet file during sampling (legs sharing a file share its count). */
  readonly unetRuns: Readonly<Record<string, number>>;
  readonly latents: Float32Array;
  readonly latentShape: readonly number[];
  readonly images: readonly DecodedImage[];
  readonly files: readonly string[];
  readonly timingsMs: { readonly prepare: number; readonly sample: number; readonly unet: number; readonly decode: number; readonly total: number };
  readonly warnings: readonly string[];
}

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
  const req = resolveRequest(o);
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
