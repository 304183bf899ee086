/** The shipped model names (models/README.md). */
export const MODEL_NAMES = {
  imbalanceStrong: 'mnist-imbalance-2to1',
  imbalanceWeak: 'mnist-imbalance-10to1',
  imbalanceIdeal: 'mnist-imbalance-1to1',
  lengthWeak: 'mnist-full-early',
  lengthStrong: 'mnist-full-mid',
  lengthIdeal: 'mnist-full-final',
  qualityStrong: 'mnist-full-final',
  qualityWeak: 'mnist-small',
  classifier: 'mnist-classifier',
} as const;
