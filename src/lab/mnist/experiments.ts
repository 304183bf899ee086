import type { ClassCondModel } from '../../models/classcond.js';
import { MODEL_NAMES, type ModelShelf } from './models.js';
import { autoguidanceRow, plainRow, reflectionRow, type LegSpec, type Row } from './rows.js';
import { weightPairRows } from './pair-rows.js';

export const EXPERIMENTS = ['imbalance', 'length', 'quality'] as const;
/** 'moe' is built by src/lab/moe (its model has a routing input); `all` runs EXPERIMENTS only. */
export type ExperimentName = (typeof EXPERIMENTS)[number] | 'moe';

export interface ExperimentSettings {
  /** CFG scale of the guided rows (CFG, Z-Sampling, cumulative). */
  readonly cfgScale: number;
  readonly autoguidanceWeights: readonly number[];
  /** Fixed-point inversion: iterations are measured into the NFE column. */
  readonly fixedPoint: { readonly tolerance: number; readonly maxIterations: number; readonly strict?: boolean };
}

/** One experiment: its models, its rows and how its samples are judged. */
export interface Experiment {
  readonly name: ExperimentName;
  readonly title: string;
  readonly conditional: boolean;
  /** Unconditional two-class pair: classifier labels of the minority and majority digits. */
  readonly pair?: { readonly minority: number; readonly majority: number };
  /** Test-set digits the reference statistics use (all when absent). */
  readonly referenceDigits?: readonly number[];
  readonly rows: readonly Row[];
  /** Row ids: the plain strong row and the W2SD rows (what the findings compare). */
  readonly strongRow: string;
  readonly idealRow?: string;
  readonly cosine?: { readonly strong: LegSpec; readonly weak: LegSpec; readonly ideal: LegSpec };
  /** Label of sample i. */
  labelOf(i: number): number;
  readonly models: readonly ClassCondModel[];
}

export async function buildExperiment(name: ExperimentName, shelf: ModelShelf, s: ExperimentSettings): Promise<Experiment> {
  switch (name) {
    case 'imbalance':
      return imbalance(shelf, s);
    case 'length':
      return length(shelf, s);
    case 'quality':
      return quality(shelf, s);
    default:
      throw new Error(`experiment: expected one of ${EXPERIMENTS.join(', ')}, got ${JSON.stringify(name)}`);
  }
}

/**
 * Paper §3.2 / Fig. 6 at MNIST scale: unconditional models of digits 0 and 7 trained at 2:1 (strong) and
 * 10:1 (weak); a 1:1 model stands for the ideal. The question: does W2SD move the share of 7s toward 50 %?
 */
async function imbalance(shelf: ModelShelf, s: ExperimentSettings): Promise<Experiment> {
  const [strongM, weakM, idealM] = await Promise.all([
    shelf.model(MODEL_NAMES.imbalanceStrong),
    shelf.model(MODEL_NAMES.imbalanceWeak),
    shelf.model(MODEL_NAMES.imbalanceIdeal),
  ]);
  const strong = { model: strongM };
  const weak = { model: weakM };
  const ideal = { model: idealM };
  return {
    name: 'imbalance',
    title: 'Class imbalance: digits 0 : 7 (strong 2:1, weak 10:1, ideal 1:1), unconditional',
    conditional: false,
    pair: { minority: 7, majority: 0 },
    referenceDigits: [0, 7],
    strongRow: 'strong',
    idealRow: 'ideal',
    models: [strongM, weakM, idealM],
    labelOf: () => strongM.config.nullClass,
    cosine: { strong, weak, ideal },
    rows: [
      plainRow('weak', 'weak alone (10:1)', 'reference', weak),
      plainRow('strong', 'strong alone (2:1)', 'baseline', strong),
      plainRow('ideal', 'ideal model (1:1)', 'reference', ideal),
      ...s.autoguidanceWeights.map((w) => autoguidanceRow(strong, weak, w)),
      ...weightPairRows(strong, strong, weak, s),
    ],
  };
}

/**
 * Paper App. E.1 at MNIST scale: one class-conditional run, checkpoints early (weak), later (strong) and last
 * (standing in for the ideal). Rows use the conditional prediction (CFG 1).
 */
async function length(shelf: ModelShelf, s: ExperimentSettings): Promise<Experiment> {
  const [early, mid, final] = await Promise.all([
    shelf.model(MODEL_NAMES.lengthWeak),
    shelf.model(MODEL_NAMES.lengthStrong),
    shelf.model(MODEL_NAMES.lengthIdeal),
  ]);
  const strong = { model: mid };
  const weak = { model: early };
  const ideal = { model: final };
  return {
    name: 'length',
    title: 'Training length: early (weak) / later (strong) / last (ideal) checkpoints of one run, class-conditional',
    conditional: true,
    strongRow: 'strong',
    idealRow: 'ideal',
    models: [early, mid, final],
    labelOf: (i) => i % mid.config.numClasses,
    cosine: { strong, weak, ideal },
    rows: [
      plainRow('weak', `weak alone (${early.name})`, 'reference', weak),
      plainRow('strong', `strong alone (${mid.name})`, 'baseline', strong),
      plainRow('ideal', `longest-trained (${final.name})`, 'reference', ideal),
      ...s.autoguidanceWeights.map((w) => autoguidanceRow(strong, weak, w)),
      ...weightPairRows(strong, strong, weak, s),
    ],
  };
}

/**
 * Autoguidance's setting (weak = smaller and shorter-trained) on all ten classes, plus the guidance pairs:
 * CFG, Z-Sampling (same model at CFG γ vs 0) and the cumulative pair (strong@γ vs weak@0, paper Table 6).
 */
async function quality(shelf: ModelShelf, s: ExperimentSettings): Promise<Experiment> {
  const [best, small] = await Promise.all([shelf.model(MODEL_NAMES.qualityStrong), shelf.model(MODEL_NAMES.qualityWeak)]);
  const strong = { model: best };
  const weak = { model: small };
  const g = s.cfgScale;
  const strongG = { model: best, scale: g };
  return {
    name: 'quality',
    title: `Quality pair: best model (strong) vs small short-trained model (weak), class-conditional; CFG γ = ${g}`,
    conditional: true,
    strongRow: 'strong',
    models: [best, small],
    labelOf: (i) => i % best.config.numClasses,
    rows: [
      plainRow('weak', `weak alone (${small.name})`, 'reference', weak),
      plainRow('strong', `strong alone (${best.name})`, 'baseline', strong),
      plainRow('cfg', `CFG γ=${g}`, 'baseline', strongG),
      ...s.autoguidanceWeights.map((w) => autoguidanceRow(strong, weak, w)),
      reflectionRow({
        id: 'z-sampling',
        compareWith: 'cfg',
        name: `Z-Sampling (guidance pair γ=${g} vs 0)`,
        group: 'w2sd',
        main: strongG,
        strong: strongG,
        weak: { model: best, scale: 0 },
        note: `W2SD with the guidance pair: same model, reflect CFG ${g} vs unconditional; main step CFG ${g}; compare with the CFG row`,
      }),
      reflectionRow({
        id: 'cumulative',
        compareWith: 'cfg',
        name: `cumulative (weights + guidance, γ=${g} vs weak@0)`,
        group: 'w2sd',
        main: strongG,
        strong: strongG,
        weak: { model: small, scale: 0 },
        note: `paper Table 6: strong weights at CFG ${g} vs weak weights unconditional; main step CFG ${g}; compare with the CFG row`,
      }),
      reflectionRow({
        id: 'w2sd-main-cfg',
        compareWith: 'cfg',
        name: `W2SD weights, main CFG γ=${g}`,
        group: 'w2sd',
        main: strongG,
        strong,
        weak,
        note: `the paper's weight-pair setting: reflection legs conditional (CFG 1), main step CFG ${g}; compare with the CFG row`,
      }),
      ...weightPairRows(strong, strong, weak, s),
    ],
  };
}
