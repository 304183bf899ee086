import type { LegSpec } from './legs.js';
import { equalComputeSplit, type EqualComputeSplit } from '../core/methods.js';

/**
 * The paper's training-free pairs (W2SD, Bai et al. 2025, §4–5 and PAPER-NOTES §11): which legs differ and
 * at what guidance. The main step always runs the strong weights at the main scale (5.5).
 */
export const PAIR_PRESETS = ['weights', 'guidance', 'prompt', 'cumulative', 'lora'] as const;
export type PairPreset = (typeof PAIR_PRESETS)[number];

export const PAPER_MAIN_GUIDANCE = 5.5;

/**
 * The official W2SD code's only pair (PAPER-NOTES §3): one checkpoint with a LoRA at +0.8 (strong) and −1.5
 * (weak) inside the reflection, CFG 1.0 on both, and the main step with the LoRA at 0.8 and CFG 5.5.
 */
export const PAPER_LORA_SCALES = { main: 0.8, strong: 0.8, weak: -1.5 } as const;

export interface PairRequest {
  readonly preset?: PairPreset;
  /** The main (and, unless `strongModel` says otherwise, strong) model folder. */
  readonly model: string;
  readonly strongModel?: string;
  readonly weakModel?: string;
  /** The prompt of the main and strong legs (the refined prompt of a prompt pair). */
  readonly prompt: string;
  /** The weak leg's prompt (the raw prompt of a prompt pair). */
  readonly weakPrompt?: string;
  readonly negativePrompt?: string;
  readonly mainGuidance?: number;
  readonly strongGuidance?: number;
  readonly weakGuidance?: number;
  /**
   * The legs are for the autoguidance baseline: weights and prompt pairs then compare their two legs at the
   * main scale (the baseline the paper sets against W2SD is guided sampling, not CFG 1).
   */
  readonly autoguidance?: boolean;
  /** The lora pair's LoRA scale per leg (default PAPER_LORA_SCALES). */
  readonly loraScales?: { readonly main?: number; readonly strong?: number; readonly weak?: number };
}

export interface PairLegs {
  readonly main: LegSpec;
  readonly strong: LegSpec;
  readonly weak: LegSpec;
}

/**
 * Reflection scales of each preset given the main scale: the guidance and cumulative pairs denoise at the
 * main scale (Z-Sampling's strong step is the ordinary CFG step), the weights and prompt pairs at 1.0 on both
 * legs to keep guidance out of the gap.
 */
const DEFAULTS: Record<PairPreset, (main: number) => { strong: number; weak: number }> = {
  weights: () => ({ strong: 1.0, weak: 1.0 }),
  guidance: (main) => ({ strong: main, weak: 0 }),
  prompt: () => ({ strong: 1.0, weak: 1.0 }),
  cumulative: (main) => ({ strong: main, weak: 0 }),
  lora: () => ({ strong: 1.0, weak: 1.0 }),
};

/**
 * Autoguidance D_w + w·(D_s − D_w) of each preset: the weights and prompt pairs guide both legs at the main
 * scale, so the baseline differs from CFG only by the weak leg; the guidance and cumulative pairs keep their
 * scales, which are what makes their weak leg weak.
 */
const AUTOGUIDANCE_DEFAULTS: Record<PairPreset, (main: number) => { strong: number; weak: number }> = {
  weights: (main) => ({ strong: main, weak: main }),
  guidance: DEFAULTS.guidance,
  prompt: (main) => ({ strong: main, weak: main }),
  cumulative: DEFAULTS.cumulative,
  // a weights difference like the weights pair: both LoRA legs guided at the main scale
  lora: (main) => ({ strong: main, weak: main }),
};

/** Resolves a preset (or explicit legs without one) to the three legs, refusing incomplete pairs. */
export function resolvePair(r: PairRequest): PairLegs {
  const preset = r.preset;
  if (preset !== undefined && !PAIR_PRESETS.includes(preset)) {
    throw new Error(`pair preset: expected one of ${PAIR_PRESETS.join(', ')}, got ${JSON.stringify(preset)}`);
  }
  if ((preset === 'weights' || preset === 'cumulative') && !r.weakModel) {
    throw new Error(`the ${preset} pair needs a weak model folder (--weak-model)`);
  }
  if (preset === 'prompt' && r.weakPrompt === undefined) {
    throw new Error('the prompt pair needs the raw prompt for the weak leg (--weak-prompt); --prompt is the refined one');
  }
  const main = r.mainGuidance ?? PAPER_MAIN_GUIDANCE;
  // without a preset every leg runs at the main scale (so self-reflection reflects with the main leg itself)
  const d = preset ? (r.autoguidance ? AUTOGUIDANCE_DEFAULTS : DEFAULTS)[preset](main) : { strong: main, weak: main };
  const strongModel = r.strongModel ?? r.model;
  const weakModel = r.weakModel ?? strongModel;
  const neg = r.negativePrompt;
  if (r.loraScales && preset !== 'lora') throw new Error('LoRA leg scales (--lora-main-scale, --lora-strong-scale, --lora-weak-scale) apply to --pair lora only');
  const ls = preset === 'lora' ? { ...PAPER_LORA_SCALES, ...definedOnly(r.loraScales ?? {}) } : undefined;
  for (const [leg, v] of Object.entries(ls ?? {})) {
    if (!Number.isFinite(v)) throw new Error(`LoRA scale of the ${leg} leg: expected a finite number, got ${v}`);
  }
  const scales = (leg: 'main' | 'strong' | 'weak') => (ls ? { loraScales: [ls[leg]] } : {});
  return {
    main: { model: r.model, guidance: main, prompt: r.prompt, negativePrompt: neg, ...scales('main') },
    strong: { model: strongModel, guidance: r.strongGuidance ?? d.strong, prompt: r.prompt, negativePrompt: neg, ...scales('strong') },
    weak: { model: weakModel, guidance: r.weakGuidance ?? d.weak, prompt: r.weakPrompt ?? r.prompt, negativePrompt: neg, ...scales('weak') },
  };
}

/** Evaluations per item a leg costs at its scale: one at 0 or 1 (a single half), two otherwise (a CFG batch of 2B). */
export const legHalves = (guidance: number): 1 | 2 => (guidance === 0 || guidance === 1 ? 1 : 2);

/**
 * The T′ and λ at which a reflection method over these legs costs per item what the main leg's T steps cost
 * (core equalComputeSplit; paper §5.2). Self-reflection reflects with the strong leg twice.
 */
export function equalComputeFor(legs: PairLegs, steps: number, repeats = 1, selfReflection = false): EqualComputeSplit {
  const main = legHalves(legs.main.guidance);
  const strong = legHalves(legs.strong.guidance);
  const weak = selfReflection ? strong : legHalves(legs.weak.guidance);
  return equalComputeSplit(steps * main, { main, strong, weak }, repeats);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
