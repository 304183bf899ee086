import type { Classifier } from '../../eval/classifier.js';
import { argmaxRows } from '../../eval/classes.js';
import { frechetDistance } from '../../eval/frechet.js';
import { featureStats, type FeatureStats } from '../../eval/linalg.js';
import { CLASSIFIER_SIDE, classifierFrame, type FrameCentre } from './frames.js';

/** Per-frame quality and temporal measurements of a set of class-conditional clips. */
export interface ClipMetrics {
  /** Fréchet distance of the frames' classifier features to the real clips' frames. */
  readonly frameFd: number;
  /** Share of frames classified as the clip's class. */
  readonly frameAccuracy: number;
  /** Share of clips whose frames are all classified alike (identity kept across frames). */
  readonly identityKept: number;
  /** Share of clips whose frames are all the asked-for class. */
  readonly allFramesCorrect: number;
  /** Mean centre-of-mass displacement per frame, in pixels (how much the clips move; VBench's dynamic degree in spirit). */
  readonly speed: number;
  /** Mean |c_{f+1} − 2c_f + c_{f−1}| of the centre of mass, in pixels (motion smoothness; lower is smoother). */
  readonly jerk: number;
}

export interface ClipShape {
  readonly frames: number;
  readonly side: number;
}

export interface ClipFeatures {
  readonly features: Float32Array;
  readonly predicted: Int32Array;
  readonly centres: FrameCentre[];
}

/** Classifier logits/features of every frame and the frames' centres of mass. */
export async function clipFeatures(clips: Float32Array, count: number, shape: ClipShape, classifier: Classifier): Promise<ClipFeatures> {
  const { frames, side } = shape;
  const n = count * frames;
  const inputs = new Float32Array(n * CLASSIFIER_SIDE * CLASSIFIER_SIDE);
  const centres: FrameCentre[] = [];
  for (let i = 0; i < n; i++) {
    for (let v = i * side * side; v < (i + 1) * side * side; v++) {
      if (!Number.isFinite(clips[v])) throw new Error(`video lab: non-finite value ${clips[v]} in clip ${Math.floor(i / frames)}, frame ${i % frames}`);
    }
    centres.push(classifierFrame(clips, i * side * side, side, inputs, i * CLASSIFIER_SIDE * CLASSIFIER_SIDE));
  }
  const { logits, features } = await classifier.classify(inputs, n);
  return { features, predicted: argmaxRows(logits, classifier.classes), centres };
}

export function referenceStats(f: ClipFeatures, dim: number): FeatureStats {
  return featureStats(f.features, dim, 'real clip frames');
}

export function clipMetrics(f: ClipFeatures, labels: Int32Array, shape: ClipShape, dim: number, ref: FeatureStats): ClipMetrics {
  const F = shape.frames;
  const count = labels.length;
  let correct = 0;
  let kept = 0;
  let allCorrect = 0;
  let speed = 0;
  let jerk = 0;
  for (let c = 0; c < count; c++) {
    let same = true;
    let right = true;
    for (let t = 0; t < F; t++) {
      const p = f.predicted[c * F + t];
      if (p === labels[c]) correct++;
      else right = false;
      if (p !== f.predicted[c * F]) same = false;
    }
    if (same) kept++;
    if (right) allCorrect++;
    const at = (t: number) => f.centres[c * F + t];
    for (let t = 0; t + 1 < F; t++) speed += Math.hypot(at(t + 1).y - at(t).y, at(t + 1).x - at(t).x);
    for (let t = 1; t + 1 < F; t++) jerk += Math.hypot(at(t + 1).y - 2 * at(t).y + at(t - 1).y, at(t + 1).x - 2 * at(t).x + at(t - 1).x);
  }
  return {
    frameFd: frechetDistance(featureStats(f.features, dim, 'generated clip frames'), ref),
    frameAccuracy: correct / (count * F),
    identityKept: kept / count,
    allFramesCorrect: allCorrect / count,
    speed: speed / (count * (F - 1)),
    jerk: jerk / (count * (F - 2)),
  };
}
