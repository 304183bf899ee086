import { CallCounter, gaussian, type Denoiser } from '../../core/index.js';
import { GaussianMixture, gmmDenoiser, veDenoiser } from '../../models/gmm.js';
import { MixtureOfExperts, type ExpertSpec, type Routing } from '../../models/gmm-moe.js';
import { sequenceMixture, type SequenceSpec, type TrajectorySpec } from '../../models/gmm-sequence.js';
import type { ComponentSpec, MixtureSpec } from '../../models/gmm-spec.js';
import { TOY_OFFSET, TOY_STD, toyMixtures } from '../../models/gmm-toys.js';
import { toyReference } from '../../eval/toy-metrics.js';
import type { SamplingProblem } from '../toy/problem.js';

/**
 * The exact labs' presets (`w2sd toy --preset NAME`): a mixture-of-experts pair (good vs bad experts,
 * paper §5.4) in two designs, and a sequence-shaped pair on video-like latents (§5.8). Each builds a
 * sampling problem with an exact ideal, an exact strong and an exact weak denoiser.
 */
export const EXACT_PRESETS = ['moe-graded', 'moe-specialists', 'video'] as const;
export type ExactPresetName = (typeof EXACT_PRESETS)[number];

/** Experts used per token in the MoE presets (of 4), for both legs. */
export const MOE_K = 2;
/** Bottom-left mass of each expert in the graded design: expert 0 is the data, expert 3 lacks the mode. */
export const GRADED_MASSES = [0.25, 0.15, 0.05, 0] as const;

const REFERENCE_STREAM = { step: 1_000_000 };
const EXACT_ROW_STREAM = { step: 1_000_001 };

export interface ExactProblem extends SamplingProblem {
  readonly preset: ExactPresetName;
  readonly description: string;
  readonly strongLabel: string;
  readonly weakLabel: string;
  /** The ideal mode where the strong model's mass falls short (W2SD should add mass there). */
  readonly target: number;
  readonly moe?: MixtureOfExperts;
  readonly sequence?: { readonly ideal: SequenceSpec; readonly strong: SequenceSpec; readonly weak: SequenceSpec };
}

function iso(dim: number, std: number): number[][] {
  return Array.from({ length: dim }, (_, i) => Array.from({ length: dim }, (_, j) => (i === j ? std * std : 0)));
}

/** The 2-D toy's four modes with bottom-left mass m (the rest shared equally), as one expert's mixture. */
function fourModes(m: number): MixtureSpec {
  return toyMixtures(2, m).weak;
}

function single(c: ComponentSpec): MixtureSpec {
  return { dim: c.mean.length, components: [{ ...c, weight: 1, cov: iso(c.mean.length, TOY_STD) }] };
}

export function moeExperts(design: 'graded' | 'specialists'): ExpertSpec[] {
  if (design === 'graded') return GRADED_MASSES.map((m, i) => ({ prior: 0.25, mixture: fourModes(m), name: `expert ${i} (bottom-left ${m})` }));
  return toyMixtures(2).ideal.components.map((c) => ({ prior: c.weight, mixture: single(c), name: `${c.name} expert` }));
}

/** Four trajectories from the 2-D toy's corners, circling (each moves ¼ unit per frame along one side). */
export const SEQUENCE_FRAMES = 8;
export const SEQUENCE_RHO = { ideal: 0.9, strong: 0.8, weak: 0.5 } as const;
const VELOCITY = 0.25;

export function sequenceSpec(bottomLeft: number, rho: number): SequenceSpec {
  const rest = (1 - bottomLeft) / 3;
  const a = TOY_OFFSET;
  const v = VELOCITY;
  const trajectories: TrajectorySpec[] = [
    { weight: bottomLeft, start: [-a, -a], velocity: [v, 0], name: 'bottom-left' },
    { weight: rest, start: [a, -a], velocity: [0, v], name: 'bottom-right' },
    { weight: rest, start: [-a, a], velocity: [0, -v], name: 'top-left' },
    { weight: rest, start: [a, a], velocity: [-v, 0], name: 'top-right' },
  ];
  return { shape: { channels: 1, frames: SEQUENCE_FRAMES, height: 1, width: 2 }, std: TOY_STD, rho, trajectories };
}

interface Parts {
  readonly ideal: GaussianMixture;
  readonly denoisers: { readonly ideal: Denoiser; readonly strong: Denoiser; readonly weak: Denoiser };
}

function assemble(
  base: Omit<ExactProblem, keyof SamplingProblem>,
  parts: Parts,
  o: { samples: number; seed: number },
  itemShape?: readonly number[],
): ExactProblem {
  const counter = new CallCounter();
  const normals = (purpose: { step: number }) => (length: number) => gaussian(o.seed, length, 0, purpose);
  const ideal = parts.ideal;
  return {
    ...base,
    dim: ideal.dim,
    ...(itemShape ? { itemShape } : {}),
    counter,
    denoisers: {
      ideal: counter.wrap(parts.denoisers.ideal, 'ideal'),
      strong: counter.wrap(parts.denoisers.strong, 'strong'),
      weak: counter.wrap(parts.denoisers.weak, 'weak'),
    },
    reference: toyReference(ideal, ideal.sample(o.samples, normals(REFERENCE_STREAM)).x),
    samples: o.samples,
    seed: o.seed,
    modeNames: ideal.spec.components.map((c, k) => c.name ?? `mode ${k}`),
    exactIdeal: () => ideal.sample(o.samples, normals(EXACT_ROW_STREAM)).x,
  };
}

export function exactProblem(preset: ExactPresetName, o: { samples: number; seed: number }): ExactProblem {
  if (preset === 'video') {
    const seq = {
      ideal: sequenceSpec(0.25, SEQUENCE_RHO.ideal),
      strong: sequenceSpec(0.1, SEQUENCE_RHO.strong),
      weak: sequenceSpec(0, SEQUENCE_RHO.weak),
    };
    const [ideal, strong, weak] = [seq.ideal, seq.strong, seq.weak].map((s) => new GaussianMixture(sequenceMixture(s)));
    const shape = [1, SEQUENCE_FRAMES, 1, 2];
    return assemble(
      {
        preset,
        description:
          `clips [B, 1, ${SEQUENCE_FRAMES}, 1, 2]: four 2-D trajectories from the corners (±4, ±4), AR(1) deviations (std ${TOY_STD}); ` +
          `ideal 25 % bottom-left, ρ ${SEQUENCE_RHO.ideal}; strong 10 %, ρ ${SEQUENCE_RHO.strong}; weak 0 %, ρ ${SEQUENCE_RHO.weak}`,
        strongLabel: `10 % bottom-left, ρ ${SEQUENCE_RHO.strong}`,
        weakLabel: `0 % bottom-left, ρ ${SEQUENCE_RHO.weak}`,
        target: 0,
        sequence: seq,
      },
      { ideal, denoisers: { ideal: gmmDenoiser(ideal), strong: gmmDenoiser(strong), weak: gmmDenoiser(weak) } },
      o,
      shape,
    );
  }
  const design = preset === 'moe-graded' ? 'graded' : 'specialists';
  const moe = new MixtureOfExperts(moeExperts(design));
  const ideal = new GaussianMixture(toyMixtures(2).ideal);
  const routed = (r: Routing) => moe.denoiser(r);
  return assemble(
    {
      preset,
      description:
        design === 'graded'
          ? `4 experts, each the 2-D toy with bottom-left mass ${GRADED_MASSES.join(' / ')} (expert 0 is the data), priors ¼, exact router g_e ∝ π_e p_e,σ(x); ideal = the data`
          : '4 experts, each exact for one mode of the 2-D toy, priors = mode weights, exact router g_e ∝ π_e p_e,σ(x); all experts together are the ideal exactly',
      strongLabel: `top-${MOE_K} experts`,
      weakLabel: `bottom-${MOE_K} experts`,
      target: 0,
      moe,
    },
    { ideal, denoisers: { ideal: veDenoiser((x, s) => ideal.denoise(x, s), 2, 'ideal'), strong: routed({ kind: 'top', k: MOE_K }), weak: routed({ kind: 'bottom', k: MOE_K }) } },
    o,
  );
}
