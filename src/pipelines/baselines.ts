import { parseSchedulerConfig } from '../core/index.js';
import type { BuiltLeg, LegSpec } from './legs.js';
import { PAIR_PRESETS, type PairPreset } from './presets.js';
import { METHODS, resolveRequest } from './request.js';
import { planSampling } from './sampling.js';
import type { MethodName } from './options.js';

/*
 * The exact settings of every method under every pair preset, computed by the same code that generate() runs
 * (resolveRequest), with the command-line names of the folders and prompts in place of real ones. docs/SD.md
 * shows this table; a test keeps the two equal.
 */

const SYMBOLS = { model: '--model', weakModel: '--weak-model', prompt: '--prompt', weakPrompt: '--weak-prompt' };

export interface BaselineRow {
  readonly method: MethodName;
  readonly pair: PairPreset | 'none';
  /** The ordinary sampling step (absent for autoguidance, which combines the strong and weak legs instead). */
  readonly main?: LegSpec;
  /** Reflection: the leg that denoises and the one that inverts; autoguidance: D_s and D_w. */
  readonly strong?: LegSpec;
  readonly weak?: LegSpec;
  /** Model evaluations at the defaults (T = 50, λ = 49, DDIM). */
  readonly evaluations: number;
}

function row(method: MethodName, pair: PairPreset | undefined): BaselineRow {
  const req = resolveRequest({ ...SYMBOLS, method, pair, weakPrompt: pair === 'prompt' ? SYMBOLS.weakPrompt : undefined, weakModel: pair === 'weights' || pair === 'cumulative' ? SYMBOLS.weakModel : undefined });
  const legs = req.legs;
  // the count generate() expects, from the plan it would run (denoisers are never called here)
  const stub = { denoiser: () => Promise.reject(new Error('internal: baseline table stub called')) } as unknown as BuiltLeg;
  const evaluations = planSampling(req, { main: stub, strong: stub, weak: stub }, parseSchedulerConfig({}), {}, () => {}).expectedEvaluations;
  switch (method) {
    case 'cfg':
    case 'plain':
      return { method, pair: 'none', main: legs.main, evaluations };
    case 'autoguidance':
      return { method, pair: pair!, strong: legs.strong, weak: legs.weak, evaluations };
    case 'self-reflection':
      return { method, pair: pair!, main: legs.main, strong: legs.strong, weak: legs.strong, evaluations };
    case 's2wd':
      // the roles swapped: the weak leg denoises, the strong one inverts
      return { method, pair: pair!, main: legs.main, strong: legs.weak, weak: legs.strong, evaluations };
    default:
      return { method, pair: pair!, main: legs.main, strong: legs.strong, weak: legs.weak, evaluations };
  }
}

/** Every method once without a pair where it needs none, else under each preset. */
export function baselineRows(): BaselineRow[] {
  return METHODS.flatMap((m) => (m === 'cfg' || m === 'plain' ? [row(m, undefined)] : PAIR_PRESETS.map((p) => row(m, p))));
}

function leg(l: LegSpec | undefined): string {
  if (!l) return '—';
  const lora = l.loraScales?.length ? ` · LoRA ${l.loraScales.map((v) => (v > 0 ? `+${v}` : `${v}`)).join(', ')}` : '';
  return `\`${l.model}\` · \`${l.prompt}\`${lora} @ ${l.guidance}`;
}

/** The table as docs/SD.md shows it (Markdown). */
export function baselineTable(): string {
  const lines = [
    '| method | pair | main step | denoise (reflection) / D_s (autoguidance) | invert (reflection) / D_w (autoguidance) | evaluations (T = 50) |',
    '|---|---|---|---|---|---|',
    ...baselineRows().map((r) => `| ${r.method} | ${r.pair} | ${leg(r.main)} | ${leg(r.strong)} | ${leg(r.weak)} | ${r.evaluations} |`),
  ];
  return lines.join('\n');
}
