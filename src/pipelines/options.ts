import type { InversionKind, SamplerName } from '../core/index.js';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import type { DecodedImage } from '../models/sd/vae.js';
import type { LegSpec } from './legs.js';
import type { PairPreset, PairRequest } from './presets.js';
import type { LoraSpec } from '../models/lora/apply.js';

/** What generate takes and returns (apart from the stages, so that they can name these types without an import cycle). */
export const METHODS = ['cfg', 'plain', 'w2sd', 's2wd', 'self-reflection', 'autoguidance'] as const;
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
  /** LoRA files applied to `model`: merged at their scales, or with `pair: 'lora'` one file at the legs' scales. */
  readonly loras?: readonly LoraSpec[];
  /** The lora pair's scales (defaults main 0.8, strong +0.8, weak −1.5: the official code's). */
  readonly loraScales?: PairRequest['loraScales'];
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

