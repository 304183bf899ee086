import type { MixtureTriple } from '../models/gmm-spec.js';

/** What the lab page asks its worker: `w2sd toy`'s options (built-in dim or a mixture triple). */
export interface LabRequest {
  readonly dim: 1 | 2;
  readonly mixtures?: MixtureTriple;
  readonly samples: number;
  readonly steps: number;
  readonly lambda?: number;
  readonly sampler: string;
  readonly inversion: string;
  readonly seed: number;
  readonly trajectories: number;
  /** Row-name prefixes to draw (the table always has every row, as the CLI prints it). */
  readonly show: readonly string[];
}

export interface LabPanel {
  readonly name: string;
  readonly nfe: number;
  readonly targetMass: number;
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

export interface LabResult {
  /** Exactly what `w2sd toy --json` prints for these settings. */
  readonly json: unknown;
  /** The Markdown method table `w2sd toy` prints. */
  readonly table: string;
  readonly settings: string;
  readonly findings: readonly string[];
  readonly target: string;
  readonly panels: readonly LabPanel[];
}
