import type { GenerateOptions } from '../pipelines/options.js';
import type { WebProvider } from './env.js';

/** A model folder the page names: one `w2sd serve --models` lists, or one the user picked (its files). */
export type SdFolderSource =
  | { readonly kind: 'served'; readonly name: string }
  | { readonly kind: 'picked'; readonly name: string; readonly files: readonly { readonly path: string; readonly file: File }[] };

/** The generation settings a page sends: the CLI's options, less files, LoRAs and callbacks. */
export type SdSettings = Omit<GenerateOptions, 'model' | 'strongModel' | 'weakModel' | 'runtime' | 'output' | 'onProgress' | 'signal' | 'warn' | 'loras' | 'loraScales' | 'clipSkip' | 'batch'>;

export interface SdRequest {
  readonly id: number;
  readonly main: SdFolderSource;
  /** The weak leg's folder (a weights pair); absent: every leg runs on the main folder. */
  readonly weak?: SdFolderSource;
  readonly settings: SdSettings;
  /** A second image from the same seed and folders for comparison (COMPARISONS), or none. */
  readonly compare?: SdComparison;
  readonly provider: WebProvider;
  readonly threads: number;
}

/** What the page can set beside the chosen method: a baseline method, or the method at equal compute. */
export const COMPARISONS = ['cfg', 'autoguidance', 'self-reflection', 'equal compute'] as const;
export type SdComparison = (typeof COMPARISONS)[number];

/** The settings of the comparison image: everything as chosen but the method (or equal compute). */
export function comparisonSettings(s: SdSettings, c: SdComparison): SdSettings {
  return c === 'equal compute' ? { ...s, equalCompute: true, lambda: undefined } : { ...s, method: c, equalCompute: undefined };
}

export interface SdResult {
  /** What this image is: the chosen method, or the comparison. */
  readonly label: string;
  /** The PNG as the CLI writes it: the image with its `parameters` and `w2sd` text chunks. */
  readonly png: Uint8Array;
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
  /** Interleaved 8-bit RGB. */
  readonly rgb: Uint8Array;
  readonly latents: Float32Array;
  readonly parameters: string;
  readonly method: string;
  readonly steps: number;
  readonly lambda?: number;
  readonly evaluations: number;
  readonly expectedEvaluations: number;
  readonly seconds: number;
  readonly warnings: readonly string[];
}

export type SdToWorker = { readonly type: 'run'; readonly request: SdRequest } | { readonly type: 'cancel'; readonly id: number };

export type SdFromWorker =
  | { readonly type: 'progress'; readonly id: number; readonly step: number; readonly steps: number; readonly evaluations: number; readonly expected: number; readonly label: string }
  | { readonly type: 'done'; readonly id: number; readonly results: readonly SdResult[] }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly cancelled: boolean };
