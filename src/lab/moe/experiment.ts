import { join } from 'node:path';
import { loadRoutedPair } from '../../models/routed.js';
import type { Experiment, ExperimentSettings } from '../mnist/experiments.js';
import type { ModelShelf } from '../mnist/models.js';
import { weightPairRows } from '../mnist/pair-rows.js';
import { autoguidanceRow, plainRow } from '../mnist/rows.js';

/** The shipped DiT-MoE (training/train_dit.py, models/mnist-dit-moe.md). */
export const MOE_MODEL = 'mnist-dit-moe';

/**
 * Paper §5.4 at MNIST scale: one class-conditional DiT-MoE, strong = every token routed to its top-k experts
 * (as trained), weak = to its bottom-k experts. Same rows as the MNIST weight pairs, judged by the same
 * classifier (w2sd lab moe runs it through src/lab/mnist's runner).
 */
export async function moeExperiment(shelf: ModelShelf, s: ExperimentSettings): Promise<Experiment> {
  const { top, bottom } = await loadRoutedPair(join(shelf.dir, MOE_MODEL), { name: MOE_MODEL });
  const strong = { model: top };
  const weak = { model: bottom };
  return {
    name: 'moe',
    title: `Mixture of experts: ${MOE_MODEL} routed to its top-k experts (strong) vs its bottom-k experts (weak), class-conditional`,
    conditional: true,
    strongRow: 'strong',
    models: [top, bottom],
    labelOf: (i) => i % top.config.numClasses,
    rows: [
      plainRow('weak', 'bottom-k experts alone (weak)', 'reference', weak),
      plainRow('strong', 'top-k experts alone (strong)', 'baseline', strong),
      ...s.autoguidanceWeights.map((w) => autoguidanceRow(strong, weak, w)),
      ...weightPairRows(strong, strong, weak, s),
    ],
  };
}
