import { CallCounter, gaussian, karrasSchedule, type Denoiser, type Schedule } from '../../core/index.js';
import { GaussianMixture, gmmDenoiser } from '../../models/gmm.js';
import type { MixtureTriple } from '../../models/gmm-spec.js';
import { toyMixtures } from '../../models/gmm-toys.js';
import { toyReference, type ToyReference } from '../../eval/toy-metrics.js';
import { cancellable } from './cancel.js';

/** VE Karras schedule for the analytic models (EDM defaults): σ from 80 down to 0.002, then 0. */
export const SIGMA_MAX = 80;
export const SIGMA_MIN = 0.002;

export function toySchedule(steps: number): Schedule {
  return karrasSchedule(SIGMA_MIN, SIGMA_MAX, steps);
}

/*
 * Random streams, all from the one seed (Philox purposes, disjoint from the initial latent and the
 * stochastic samplers' per-step noise): the reference set the metrics compare with, and an independent
 * exact sample set reported as the "ideal (exact samples)" row, the noise floor of every metric.
 */
const REFERENCE_STREAM = { step: 1_000_000 };
const EXACT_ROW_STREAM = { step: 1_000_001 };

/** What sampling a method and scoring it needs: the toys, and the exact MoE and sequence labs (src/lab/exact). */
export interface SamplingProblem {
  readonly dim: number;
  /** Shape of one item when it is not a flat vector of `dim` values (sequences: [C, F, H, W]). */
  readonly itemShape?: readonly number[];
  /** Every model call goes through this counter, so each row's NFE is counted, not estimated. */
  readonly counter: CallCounter;
  readonly denoisers: { readonly ideal: Denoiser; readonly strong: Denoiser; readonly weak: Denoiser };
  readonly reference: ToyReference;
  readonly samples: number;
  readonly seed: number;
  /** Names of the ideal's modes (component names, or "mode k"). */
  readonly modeNames: readonly string[];
  /** Exact samples from the ideal, independent of the reference set. */
  exactIdeal(): Float32Array;
}

export interface ToyProblem extends SamplingProblem {
  readonly mixtures: MixtureTriple;
  readonly ideal: GaussianMixture;
  readonly strong: GaussianMixture;
  readonly weak: GaussianMixture;
}

export interface ProblemOptions {
  readonly samples: number;
  readonly seed: number;
  /** The built-in toy of this dimension unless `mixtures` is given. */
  readonly dim?: 1 | 2;
  readonly mixtures?: MixtureTriple;
  /** Built-in toys only: the weak model's mass on the under-weighted mode (gap sweep). */
  readonly weakMass?: number;
  /** Stops the run at the next model evaluation once aborted (and lets signal handlers run meanwhile). */
  readonly signal?: AbortSignal;
}

export function toyProblem(o: ProblemOptions): ToyProblem {
  const mixtures = o.mixtures ?? toyMixtures(o.dim ?? 2, o.weakMass);
  const ideal = new GaussianMixture(mixtures.ideal);
  const strong = new GaussianMixture(mixtures.strong);
  const weak = new GaussianMixture(mixtures.weak);
  const counter = new CallCounter();
  const dim = ideal.dim;
  const model = (m: GaussianMixture): Denoiser => (o.signal ? cancellable(gmmDenoiser(m), o.signal) : gmmDenoiser(m));
  const normals = (purpose: { step: number }) => (length: number) => gaussian(o.seed, length, 0, purpose);
  return {
    dim,
    mixtures,
    ideal,
    strong,
    weak,
    counter,
    denoisers: {
      ideal: counter.wrap(model(ideal), 'ideal'),
      strong: counter.wrap(model(strong), 'strong'),
      weak: counter.wrap(model(weak), 'weak'),
    },
    reference: toyReference(ideal, ideal.sample(o.samples, normals(REFERENCE_STREAM)).x),
    samples: o.samples,
    seed: o.seed,
    modeNames: mixtures.ideal.components.map((c, k) => c.name ?? `mode ${k}`),
    exactIdeal: () => ideal.sample(o.samples, normals(EXACT_ROW_STREAM)).x,
  };
}
