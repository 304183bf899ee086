import { batchGaussian, fixedPointCollector, stepNoise, targetOf, tensor, type EqualComputeMethod, type EqualComputeSplit, type FixedPointSummary, type Method, type Sampler, type Schedule } from '../../core/index.js';
import { toyMetrics, type ToyMetrics } from '../../eval/toy-metrics.js';
import type { Trajectories } from '../plot/toy-figures.js';
import { toySchedule, type SamplingProblem } from './problem.js';

export interface RunSettings {
  readonly sampler: Sampler;
  readonly steps: number;
  /** How many of the samples to record step by step for the figures (0: none). */
  readonly trajectories?: number;
}

export interface MethodRow {
  readonly name: string;
  /** Model evaluations counted through the problem's counter (per sample: one batched call counts once). */
  readonly nfe: number;
  readonly metrics: ToyMetrics;
  /** The fixed-point inversions' convergence and residual, for rows that use them. */
  readonly fixedPoint?: FixedPointSummary;
  /** Equal-compute rows: the split and the budget (the compared method's evaluations per item). */
  readonly equalCompute?: EqualComputeSplit;
  readonly samples: Float32Array;
  readonly trajectories?: Trajectories;
}

/**
 * Runs one method on the whole sample set as a single batch. Every method starts from the same unit
 * normals (common random numbers: same seed, same draw), scaled by its own schedule's σ_max; stochastic
 * samplers get the same per-step noise too.
 */
export async function runMethod(p: SamplingProblem, method: Method, s: RunSettings): Promise<MethodRow> {
  const shape = [p.samples, ...(p.itemShape ?? [p.dim])];
  const noise = tensor(batchGaussian(p.seed, shape), shape);
  const m = Math.min(s.trajectories ?? 0, p.samples);
  let schedule: Schedule | undefined;
  const snapshots: Float32Array[] = [];
  const sigmas: number[] = [];
  const keep = (x: Float32Array, sigma: number): void => {
    snapshots.push(x.slice(0, m * p.dim));
    sigmas.push(sigma);
  };
  p.counter.reset();
  const fp = fixedPointCollector();
  const out = await method.run({
    onFixedPoint: fp.report,
    sampler: s.sampler,
    steps: s.steps,
    noise,
    schedule: (steps) => {
      schedule = toySchedule(steps);
      if (m > 0) {
        snapshots.length = 0;
        sigmas.length = 0;
        const x0 = noise.data.slice(0, m * p.dim).map((v) => v * schedule!.initSigma);
        keep(x0, schedule.points[0].sigma);
      }
      return schedule;
    },
    sampleOptions: {
      noise: stepNoise(p.seed),
      onStep: m > 0 ? (i, x) => keep(x.data, targetOf(schedule!, i).sigma) : undefined,
    },
  });
  const nfe = p.counter.total;
  return {
    name: method.name,
    nfe,
    metrics: toyMetrics(p.reference, out),
    ...(fp.summary() ? { fixedPoint: fp.summary() } : {}),
    ...('split' in method ? { equalCompute: (method as EqualComputeMethod).split(s.steps) } : {}),
    samples: out,
    trajectories: m > 0 ? { sigmas: [...sigmas], snapshots: [...snapshots] } : undefined,
  };
}

/** The exact-sample row: what a perfect sampler of the ideal scores, the floor of every metric. */
export function exactRow(p: SamplingProblem): MethodRow {
  const x = p.exactIdeal();
  return { name: 'ideal (exact samples)', nfe: 0, metrics: toyMetrics(p.reference, x), samples: x };
}
