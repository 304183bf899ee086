import type { ModelSession } from '../models/onnx/feeds.js';

/**
 * The shipped evaluation classifier (models/README.md): image [B, 1, 28, 28] in [−1, 1] → logits [B, C]
 * and penultimate features [B, D]. Its labels give class accuracy and minority shares, its features the
 * Fréchet distance and precision/recall. Samples are clamped to [−1, 1] first, as the data it saw were.
 */
export interface Classifier {
  readonly name: string;
  readonly classes: number;
  readonly featureDim: number;
  readonly session: ModelSession;
  /** Logits and features of `count` images, run in chunks of `batch`. */
  classify(images: Float32Array, count: number, batch?: number): Promise<{ logits: Float32Array; features: Float32Array }>;
}

/** The classifier around a loaded session (either runtime); `config` is its config.json, if any. */
export function makeClassifier(name: string, session: ModelSession, config: Record<string, unknown>): Classifier {
  const expected = 'expected input image float32 [B, 1, 28, 28] and outputs logits [B, C], features [B, D]';
  const names = (specs: readonly { name: string }[]) => specs.map((s) => s.name).sort().join(',');
  if (names(session.inputs) !== 'image' || !session.outputs.some((s) => s.name === 'logits') || !session.outputs.some((s) => s.name === 'features')) {
    throw new Error(`classifier ${name}: inputs [${names(session.inputs)}], outputs [${names(session.outputs)}]; ${expected}`);
  }
  const image = session.input('image');
  if (image.dims.length !== 4 || image.dims.slice(1).some((d, i) => typeof d === 'number' && d !== [1, 28, 28][i])) {
    throw new Error(`classifier ${name}: image is ${image.dtype} [${image.dims.join(', ')}]; ${expected}`);
  }
  const logits = session.output('logits');
  const features = session.output('features');
  const classes = typeof logits.dims[1] === 'number' ? logits.dims[1] : Number(config.num_classes ?? 10);
  const featureDim = typeof features.dims[1] === 'number' ? features.dims[1] : Number(config.feature_dim);
  if (!Number.isInteger(featureDim) || featureDim <= 0) {
    throw new Error(`classifier ${name}: feature size is symbolic in the graph and config.json has no "feature_dim"`);
  }
  const per = 28 * 28;
  return {
    name,
    classes,
    featureDim,
    session,
    async classify(images, count, batch = 500) {
      if (images.length !== count * per) throw new Error(`classifier ${name}: ${images.length} values are not ${count} images of 28 × 28`);
      const allLogits = new Float32Array(count * classes);
      const allFeatures = new Float32Array(count * featureDim);
      for (let start = 0; start < count; start += batch) {
        const n = Math.min(batch, count - start);
        const chunk = new Float32Array(n * per);
        for (let i = 0; i < chunk.length; i++) {
          const v = images[start * per + i];
          if (!Number.isFinite(v)) throw new Error(`classifier ${name}: non-finite pixel ${v} in image ${start + Math.floor(i / per)}`);
          chunk[i] = v < -1 ? -1 : v > 1 ? 1 : v;
        }
        const out = await session.run({ image: { data: chunk, dims: [n, 1, 28, 28] } }, ['logits', 'features']);
        allLogits.set(out.logits.data, start * classes);
        allFeatures.set(out.features.data, start * featureDim);
      }
      return { logits: allLogits, features: allFeatures };
    },
  };
}
