import { OptionError } from './validate.js';
import { REFLECTING } from '../pipelines/request.js';

/**
 * Which options apply to which runs, as one table per command: a rule names the option, the runs it applies
 * to (in words, for the message) and the test. An option given on the command line whose rule fails is refused,
 * or only warned about where a user would expect leniency (`warn`). Defaults never trigger a rule.
 */
export interface Rule<C> {
  /** The option as typed, e.g. `--lambda`. */
  readonly option: string;
  readonly appliesTo: string;
  readonly applies: (c: C) => boolean;
  readonly warn?: boolean;
}

export interface GenerateContext {
  readonly method: string;
  readonly sampler: string;
}

const REFLECTION: readonly string[] = REFLECTING;
const TWO_LEGS = [...REFLECTION, 'autoguidance'];

export const GENERATE_RULES: readonly Rule<GenerateContext>[] = [
  { option: '--guidance', appliesTo: 'every method but plain (plain is CFG 1 by definition)', applies: (c) => c.method !== 'plain' },
  { option: '--negative', appliesTo: 'guided methods (plain never evaluates the negative prompt)', applies: (c) => c.method !== 'plain', warn: true },
  { option: '--eta', appliesTo: 'the ddim sampler', applies: (c) => c.sampler === 'ddim' },
  { option: '--lambda', appliesTo: `the reflection methods (${REFLECTION.join(', ')})`, applies: (c) => REFLECTION.includes(c.method) },
  { option: '--inversion', appliesTo: `the reflection methods (${REFLECTION.join(', ')})`, applies: (c) => REFLECTION.includes(c.method) },
  { option: '--equal-compute', appliesTo: `the reflection methods (${REFLECTION.join(', ')})`, applies: (c) => REFLECTION.includes(c.method) },
  { option: '--pair', appliesTo: 'methods with a strong and a weak leg (w2sd, s2wd, autoguidance)', applies: (c) => TWO_LEGS.includes(c.method) && c.method !== 'self-reflection' },
  { option: '--weak-model', appliesTo: `methods with a weak leg (w2sd, s2wd, autoguidance)`, applies: (c) => TWO_LEGS.includes(c.method) && c.method !== 'self-reflection' },
  { option: '--weak-prompt', appliesTo: `methods with a weak leg (w2sd, s2wd, autoguidance)`, applies: (c) => TWO_LEGS.includes(c.method) && c.method !== 'self-reflection' },
  { option: '--weak-guidance', appliesTo: `methods with a weak leg (w2sd, s2wd, autoguidance)`, applies: (c) => TWO_LEGS.includes(c.method) && c.method !== 'self-reflection' },
  { option: '--strong-model', appliesTo: `methods with a strong leg (${TWO_LEGS.join(', ')})`, applies: (c) => TWO_LEGS.includes(c.method) },
  { option: '--strong-guidance', appliesTo: `methods with a strong leg (${TWO_LEGS.join(', ')})`, applies: (c) => TWO_LEGS.includes(c.method) },
  { option: '--ag-weight', appliesTo: 'the autoguidance method', applies: (c) => c.method === 'autoguidance' },
  { option: '--guidance-rescale', appliesTo: 'every method but plain (it rescales CFG, which plain does not run)', applies: (c) => c.method !== 'plain', warn: true },
];

export interface ToyContext {
  readonly mixture: boolean;
  readonly results: boolean;
}

export const TOY_RULES: readonly Rule<ToyContext>[] = [
  { option: '--dim', appliesTo: 'the built-in toys (a --mixture file sets its own dimension)', applies: (c) => !c.mixture },
  { option: '--sweep', appliesTo: 'runs without --results (--results runs every sweep)', applies: (c) => !c.results, warn: true },
];

export interface LabContext {
  readonly experiments: readonly string[];
}

export const LAB_RULES: readonly Rule<LabContext>[] = [
  { option: '--cfg', appliesTo: 'the quality experiment (the only one with guided rows)', applies: (c) => c.experiments.includes('quality') },
  { option: '--cosine-samples', appliesTo: 'the imbalance and length experiments (the ε-difference curve)', applies: (c) => c.experiments.some((e) => e !== 'quality') },
];

/**
 * Applies a command's rules to the options the user gave (`given`: option names as typed). Throws on the
 * first refused option; returns warnings for the lenient ones.
 */
export function checkApplicability<C>(rules: readonly Rule<C>[], context: C, given: ReadonlySet<string>, describe: string): string[] {
  const warnings: string[] = [];
  for (const r of rules) {
    if (!given.has(r.option) || r.applies(context)) continue;
    const message = `${r.option} does not apply to ${describe}: it applies to ${r.appliesTo}`;
    if (r.warn) warnings.push(`${message}; ignored`);
    else throw new OptionError(message);
  }
  return warnings;
}

/** Options the user typed (not defaults), as `--kebab-case` names, from a commander command. */
export function givenOptions(cmd: { options: readonly { long?: string; attributeName(): string }[]; getOptionValueSource(key: string): string | undefined }): Set<string> {
  const out = new Set<string>();
  for (const o of cmd.options) {
    const src = cmd.getOptionValueSource(o.attributeName());
    if (o.long && (src === 'cli' || src === 'env')) out.add(o.long);
  }
  return out;
}
