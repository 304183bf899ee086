import { gaussian } from '../../core/rng.js';
import { fixedPointCollector, type FixedPointSummary } from '../../core/fixed-point-summary.js';
import type { EqualComputeMethod, EqualComputeSplit } from '../../core/methods.js';
import { tensor } from '../../core/tensor.js';
import type { Sampler, Schedule } from '../../core/types.js';
import { Meter } from './meter.js';
import { batchKit, type Row } from './rows.js';

export interface RunSettings {
  /** Samples per row. */
  readonly count: number;
  readonly batch: number;
  readonly seed: number;
  /** The experiment's T. */
  readonly steps: number;
  readonly sampler: Sampler;
  readonly schedule: (steps: number) => Schedule;
  /** [C, H, W]. */
  readonly imageShape: readonly [number, number, number];
  /** Label of sample i (its class for conditional models, the null label otherwise). */
  readonly labelOf: (i: number) => number;
  readonly onBatch?: (done: number, total: number) => void;
  /** Checked before every batch: an aborted run stops there. */
  readonly signal?: AbortSignal;
}

export interface RowSamples {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  /** Model calls per image batch: the paper's NFE (CFG's batched halves count once). */
  readonly nfe: number;
  /** Network rows evaluated per image: the compute actually spent. */
  readonly networkPerImage: number;
  readonly steps: number;
  readonly seconds: number;
  /** The fixed-point inversions' convergence and residual over all batches, for rows that use them. */
  readonly fixedPoint?: FixedPointSummary;
  /** Equal-compute rows: T', λ, evaluations per image and the budget they match. */
  readonly equalCompute?: EqualComputeSplit;
}

/**
 * Unit normals of sample i, whatever the batching: Philox counters are keyed by (seed, i), so every row of
 * an experiment starts sample i from the same draw (common random numbers), and the paired differences
 * between rows carry far less noise than independent runs would.
 */
export function sampleNoise(seed: number, start: number, n: number, per: number): Float32Array {
  const out = new Float32Array(n * per);
  for (let b = 0; b < n; b++) out.set(gaussian(seed, per, start + b), b * per);
  return out;
}

export async function runRow(row: Row, s: RunSettings): Promise<RowSamples> {
  if (!Number.isInteger(s.count) || s.count < 1) throw new Error(`samples per row: expected a positive integer, got ${s.count}`);
  if (!Number.isInteger(s.batch) || s.batch < 1) throw new Error(`batch: expected a positive integer, got ${s.batch}`);
  const per = s.imageShape[0] * s.imageShape[1] * s.imageShape[2];
  const images = new Float32Array(s.count * per);
  const labels = new Int32Array(s.count);
  for (let i = 0; i < s.count; i++) labels[i] = s.labelOf(i);
  const steps = row.stepsFor ? row.stepsFor(s.steps) : s.steps;
  const meter = new Meter();
  let batches = 0;
  let split: EqualComputeSplit | undefined;
  const fp = fixedPointCollector();
  const t0 = performance.now();
  for (let start = 0; start < s.count; start += s.batch) {
    s.signal?.throwIfAborted();
    const n = Math.min(s.batch, s.count - start);
    const kit = batchKit(labels.slice(start, start + n), meter);
    const method = row.build(kit);
    if ('split' in method) split = (method as EqualComputeMethod).split(steps);
    const noise = tensor(sampleNoise(s.seed, start, n, per), [n, ...s.imageShape]);
    const out = await method.run({ sampler: s.sampler, schedule: s.schedule, steps, noise, onFixedPoint: fp.report });
    images.set(out, start * per);
    batches++;
    s.onBatch?.(start + n, s.count);
  }
  return {
    images,
    labels,
    count: s.count,
    nfe: meter.calls / batches,
    networkPerImage: meter.rows / s.count,
    steps,
    seconds: (performance.now() - t0) / 1000,
    ...(fp.summary() ? { fixedPoint: fp.summary() } : {}),
    ...(split ? { equalCompute: split } : {}),
  };
}
