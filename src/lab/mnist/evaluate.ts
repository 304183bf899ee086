import type { Classifier } from '../../eval/classifier.js';
import { argmaxRows, classAccuracy, histogram, pairShare } from '../../eval/classes.js';
import { frechetDistance } from '../../eval/frechet.js';
import { featureStats, type FeatureStats } from '../../eval/linalg.js';
import { precisionRecall } from '../../eval/precision-recall.js';

/** Classifier features of a real image set: the target the Fréchet distance and precision/recall compare to. */
export interface Reference {
  readonly name: string;
  readonly count: number;
  readonly stats: FeatureStats;
  /** The first `prCount` feature rows, for the O(N²) precision/recall. */
  readonly prFeatures: Float32Array;
  readonly dim: number;
}

export async function makeReference(name: string, images: Float32Array, count: number, classifier: Classifier, prCount: number): Promise<Reference> {
  const { features } = await classifier.classify(images, count);
  const dim = classifier.featureDim;
  return { name, count, stats: featureStats(features, dim, name), prFeatures: features.slice(0, Math.min(prCount, count) * dim), dim };
}

export interface RowMetrics {
  readonly frechet: number;
  readonly precision: number;
  readonly recall: number;
  /** Share classified as the intended class (conditional models only). */
  readonly accuracy?: number;
  /** Two-class pair: minority share among samples classified as either digit (ideal 0.5). */
  readonly minorityOfPair?: number;
  /** Two-class pair: share of all samples classified as the minority / majority class / neither. */
  readonly minority?: number;
  readonly majority?: number;
  readonly other?: number;
  /** Predicted class histogram. */
  readonly predicted: number[];
}

export interface EvalOptions {
  readonly conditional: boolean;
  readonly pair?: { readonly minority: number; readonly majority: number };
  /** Generated samples used for precision/recall (the first ones). */
  readonly prCount: number;
  readonly k?: number;
}

export interface Evaluated {
  readonly metrics: RowMetrics;
  readonly features: Float32Array;
  readonly predicted: Int32Array;
}

export async function evaluateSamples(images: Float32Array, labels: Int32Array, count: number, classifier: Classifier, ref: Reference, o: EvalOptions): Promise<Evaluated> {
  const { logits, features } = await classifier.classify(images, count);
  const predicted = argmaxRows(logits, classifier.classes);
  const stats = featureStats(features, classifier.featureDim, 'generated features');
  const prRows = Math.min(o.prCount, count);
  const pr = precisionRecall(ref.prFeatures, features.subarray(0, prRows * classifier.featureDim), classifier.featureDim, o.k ?? 3);
  const share = o.pair ? pairShare(predicted, o.pair.minority, o.pair.majority) : undefined;
  const metrics: RowMetrics = {
    frechet: frechetDistance(stats, ref.stats),
    precision: pr.precision,
    recall: pr.recall,
    ...(o.conditional ? { accuracy: classAccuracy(predicted, labels) } : {}),
    ...(share ? { minorityOfPair: share.ofPair, minority: share.minority, majority: share.majority, other: share.other } : {}),
    predicted: histogram(predicted, classifier.classes),
  };
  return { metrics, features, predicted };
}
