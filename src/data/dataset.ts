/**
 * A labelled set of single-channel 8-bit images, the form both MNIST packages reduce to. Pixels stay as bytes
 * (47 MB for MNIST's training set instead of 188 MB as floats) and are scaled only for the rows in use.
 */
export interface ImageSet {
  /** Where the set came from, for error messages and result tables. */
  readonly name: string;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  /** count × height × width bytes, row-major, 0 = black. */
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  readonly classes: number;
}

export function checkImageSet(set: ImageSet): ImageSet {
  const per = set.height * set.width;
  if (set.pixels.length !== set.count * per) {
    throw new Error(`${set.name}: ${set.pixels.length} pixel bytes, expected ${set.count} × ${set.height} × ${set.width}`);
  }
  if (set.labels.length !== set.count) {
    throw new Error(`${set.name}: ${set.labels.length} labels for ${set.count} images`);
  }
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] >= set.classes) {
      throw new Error(`${set.name}: label ${set.labels[i]} at index ${i} is outside 0..${set.classes - 1}`);
    }
  }
  return set;
}

/** Images per class, indexed by label. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.classes).fill(0);
  for (let i = 0; i < set.count; i++) counts[set.labels[i]]++;
  return counts;
}

/** The images at `indices` (in that order) as a new set; the pixels are copied. */
export function subset(set: ImageSet, indices: readonly number[], name = `${set.name} (subset)`): ImageSet {
  const per = set.height * set.width;
  const pixels = new Uint8Array(indices.length * per);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, dst) => {
    if (!Number.isInteger(src) || src < 0 || src >= set.count) {
      throw new Error(`${set.name}: index ${src} is outside 0..${set.count - 1}`);
    }
    pixels.set(set.pixels.subarray(src * per, (src + 1) * per), dst * per);
    labels[dst] = set.labels[src];
  });
  return { name, count: indices.length, height: set.height, width: set.width, pixels, labels, classes: set.classes };
}

/** Indices of the images whose label is in `classes`, in set order. */
export function indicesOfClasses(set: ImageSet, classes: readonly number[]): number[] {
  const wanted = new Set(classes);
  const out: number[] = [];
  for (let i = 0; i < set.count; i++) if (wanted.has(set.labels[i])) out.push(i);
  return out;
}

/**
 * Pixels as the shipped models see them: [N, 1, H, W] float32 in [−1, 1] (byte/127.5 − 1), the scaling the
 * training script uses, so that generated samples and data land in one space for the classifier.
 */
export function toSigned(set: ImageSet, start = 0, end = set.count): Float32Array {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= set.count)) {
    throw new Error(`${set.name}: range ${start}..${end} is outside 0..${set.count}`);
  }
  const per = set.height * set.width;
  const src = set.pixels.subarray(start * per, end * per);
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / 127.5 - 1;
  return out;
}
