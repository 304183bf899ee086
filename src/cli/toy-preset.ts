import { ToyOptionError } from '../lab/toy/errors.js';
import { runExactLab, type ExactLabOptions, type ExactLabResult } from '../lab/exact/lab.js';
import { EXACT_PRESETS, type ExactPresetName } from '../lab/exact/presets.js';
import { exactJson, exactTable, writeExactOutputs } from '../lab/exact/report.js';

/** `w2sd toy --preset NAME|all`: the exact MoE and sequence labs (src/lab/exact). */
export interface PresetCliOptions {
  readonly preset: string;
  readonly lab: ExactLabOptions;
  readonly out: string;
  readonly json?: boolean;
  /** Toy-only options the user set; each is refused with --preset. */
  readonly toyOnly: readonly string[];
}

export function parsePresets(value: string): ExactPresetName[] {
  const names = value.split(',').map((s) => s.trim());
  const out: ExactPresetName[] = [];
  for (const n of names) {
    if (n === 'all') out.push(...EXACT_PRESETS);
    else if ((EXACT_PRESETS as readonly string[]).includes(n)) out.push(n as ExactPresetName);
    else throw new ToyOptionError(`--preset: expected ${EXACT_PRESETS.join(', ')} or all, got ${JSON.stringify(n)}`);
  }
  return [...new Set(out)];
}

export async function runPresetCli(o: PresetCliOptions): Promise<void> {
  const presets = parsePresets(o.preset);
  if (o.toyOnly.length > 0) throw new ToyOptionError(`${o.toyOnly.join(', ')}: only for the built-in toys or --mixture, not with --preset`);
  const results: ExactLabResult[] = [];
  // every preset is run (and every option checked) before anything is written
  for (const p of presets) results.push(await runExactLab(p, o.lab));
  const files = writeExactOutputs(results, o.out);
  if (o.json) {
    const objs = results.map(exactJson);
    process.stdout.write(JSON.stringify(objs.length === 1 ? objs[0] : { presets: objs }, null, 2) + '\n');
    return;
  }
  for (const r of results) process.stdout.write(`\n${r.preset}\n\n${exactTable(r)}\n`);
  process.stdout.write(`\nwrote ${files.join(', ')}\n`);
}
