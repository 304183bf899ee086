import type { CompareOptions, ComparePair } from '../lab/mnist/compare.js';
import type { WebProvider } from './ort-web.js';

export interface MnistRequest {
  readonly pair: ComparePair;
  readonly options: CompareOptions;
  readonly provider: WebProvider;
  readonly threads: number;
  /** Only time one strong-model call at the batch size (benchmarks); no rows are sampled. */
  readonly timeOnly?: boolean;
}

export interface MnistRow {
  readonly id: string;
  readonly name: string;
  /** Model calls per image batch (the paper's NFE) and network rows per image. */
  readonly nfe: number;
  readonly networkPerImage: number;
  readonly seconds: number;
  /** [count, 1, 28, 28] in [−1, 1]. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  /** The classifier's digit per image. */
  readonly predicted: Int32Array;
}

export interface MnistResult {
  readonly title: string;
  readonly provider: string;
  readonly threads: number;
  readonly rows: readonly MnistRow[];
  /** Median milliseconds of one strong-model call at the row batch size, for the speed comparison. */
  readonly callMs: number;
}
