/**
 * Documented ranges of `w2sd generate` (docs/RELIABILITY.md), which the SD page's form uses too; sizes must also be
 * multiples of 8 × the VAE factor.
 */
export const GENERATE_RANGES = {
  size: { min: 8, max: 8192 },
  steps: { min: 1, max: 1000 },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER },
  batch: { min: 1, max: 64 },
  guidance: { min: -50, max: 50 },
  eta: { min: 0, max: 1 },
  threads: { min: 1, max: 256 },
  guidanceRescale: { min: 0, max: 1 },
  clipSkip: { min: 0, max: 64 },
  loraScale: { min: -100, max: 100 },
} as const;
