import type { ExperimentName, ExperimentSettings } from './experiments.js';
import type { CosinePoint } from './cosine.js';
import type { RowMetrics } from './evaluate.js';
import type { RowGroup } from './rows.js';
import type { PairedDiff } from './stats.js';
import type { FixedPointSummary } from '../../core/fixed-point-summary.js';
import type { EqualComputeSplit } from '../../core/methods.js';

/*
 * What an experiment run produces, apart from the code that runs it: the report, findings and best-row
 * modules read these types, and the lab imports those modules, so the types live here (no import cycle).
 */

/** Paired differences a − b between two rows that share their noise. */
export interface Paired {
  readonly frechet: PairedDiff;
  readonly minority?: PairedDiff;
  readonly accuracy?: PairedDiff;
}

export interface RowResult {
  readonly id: string;
  readonly name: string;
  readonly group: RowGroup | 'data';
  readonly note?: string;
  readonly steps: number;
  readonly nfe: number;
  readonly networkPerImage: number;
  readonly seconds: number;
  readonly metrics: RowMetrics;
  /** Rows with the fixed-point inversion: its residual and where it stopped at the iteration cap. */
  readonly fixedPoint?: FixedPointSummary;
  /** Equal-compute rows: T', λ, evaluations per image (CFG batches count twice) and the budget they match. */
  readonly equalCompute?: EqualComputeSplit;
  /** Paired differences against the plain strong row (this row minus strong). */
  readonly vsStrong?: Paired;
  /** Where the row is judged against another row (guided W2SD rows against CFG): that row and the difference. */
  readonly compareWith?: string;
  readonly vsBase?: Paired;
  readonly grid?: string;
}

export interface ExperimentResult {
  readonly name: ExperimentName;
  readonly title: string;
  readonly conditional: boolean;
  readonly pair?: { readonly minority: number; readonly majority: number };
  readonly settings: {
    readonly samples: number;
    readonly steps: number;
    readonly seed: number;
    readonly sampler: string;
    readonly batch: number;
    readonly prSamples: number;
    readonly bootstrap: number;
    readonly cfgScale: number;
    readonly autoguidanceWeights: readonly number[];
    readonly fixedPoint: ExperimentSettings['fixedPoint'];
    readonly models: readonly string[];
    readonly modelsDir: string;
  };
  readonly reference: { readonly name: string; readonly count: number };
  readonly rows: readonly RowResult[];
  readonly cosine?: readonly CosinePoint[];
  readonly findings: readonly string[];
  readonly wallSeconds: number;
  readonly compareGrid?: string;
}
