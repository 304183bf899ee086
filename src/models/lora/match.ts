import { COMPONENTS, type LoraComponent, type LoraFile, type LoraModule } from './keys.js';
import { isLdmPath, ldmToDiffusers, type UnetLayout } from './ldm.js';
import type { OnnxWeights, WeightTarget } from './onnx-weights.js';

/** One model a LoRA is matched against: a component and its exported graph. */
export interface ComponentModel {
  readonly component: LoraComponent;
  readonly weights: OnnxWeights;
  /** The UNet's diffusers config, needed only for LDM-named keys. */
  readonly layout?: UnetLayout;
}

export interface MatchedModule {
  readonly module: LoraModule;
  /** The diffusers module name it was matched to. */
  readonly name: string;
  readonly targets: readonly WeightTarget[];
}

export interface MatchReport {
  readonly component: LoraComponent;
  /** LoRA modules of this component in the file. */
  readonly modules: number;
  readonly matched: number;
  /** Initializers that will change (copies counted). */
  readonly initializers: number;
  readonly skipped: boolean;
}

export interface LoraMatch {
  readonly lora: LoraFile;
  readonly byComponent: ReadonlyMap<LoraComponent, readonly MatchedModule[]>;
  readonly report: readonly MatchReport[];
  readonly notes: readonly string[];
}

export class LoraMatchError extends Error {
  override readonly name = 'LoraMatchError';
}

function resolveName(m: LoraModule, model: ComponentModel): string | undefined {
  const w = model.weights;
  if (m.style === 'dotted') return w.targets.has(m.path) ? m.path : undefined;
  const direct = w.byUnderscored.get(m.path);
  if (direct?.length === 1) return direct[0];
  if (direct && direct.length > 1) throw new LoraMatchError(`${m.key}: ambiguous, matches ${direct.join(' and ')}`);
  if (model.component === 'unet' && isLdmPath(m.path)) {
    if (!model.layout) throw new LoraMatchError(`${m.key} is in the LDM/SGM layout: mapping it needs the UNet's config.json (block_out_channels, layers_per_block, down/up_block_types)`);
    const u = ldmToDiffusers(m.path, model.layout);
    const found = u ? w.byUnderscored.get(u) : undefined;
    if (found?.length === 1) return found[0];
  }
  return undefined;
}

/** Does up·down (reshaped) have the module's weight shape? Linear factors fit a 1×1 conv and 1×1 conv factors a Linear. */
function fits(m: LoraModule, shape: readonly number[]): boolean {
  const [out, ...inner] = shape;
  const downInner = m.down.shape.slice(1);
  const pad = (xs: readonly number[]) => [...xs, 1, 1, 1].slice(0, 3);
  const a = pad(inner);
  const b = pad(downInner);
  return m.up.shape[0] === out && a.every((d, i) => d === b[i]);
}

function describe(m: LoraModule): string {
  const up = m.up.shape;
  const down = m.down.shape;
  return `[${[up[0], down[1], ...down.slice(2)].join(', ')}]`;
}

/**
 * Matches every module of a LoRA to the weights it changes, from names and shapes only (nothing is read or
 * computed), so a wrong file fails in well under a second. A UNet or text-encoder key that matches nothing or
 * does not fit is an error naming the key; keys of components listed in `notLoaded` are skipped with a note;
 * keys of a component the model does not have at all mean a LoRA for another base model.
 */
export function matchLora(lora: LoraFile, models: readonly ComponentModel[], notLoaded: readonly LoraComponent[] = []): LoraMatch {
  const byComponent = new Map<LoraComponent, MatchedModule[]>();
  const report: MatchReport[] = [];
  const notes: string[] = [];
  const errors: string[] = [];
  const base = lora.metadata.ss_base_model_version ? ` (its metadata says ss_base_model_version=${lora.metadata.ss_base_model_version})` : '';
  for (const component of COMPONENTS) {
    const mods = lora.modules.filter((m) => m.component === component);
    if (mods.length === 0) continue;
    const model = models.find((x) => x.component === component);
    if (!model) {
      if (notLoaded.includes(component)) {
        notes.push(`${mods.length} ${component} module(s) of ${lora.path} skipped: ${component} is not being loaded`);
        report.push({ component, modules: mods.length, matched: 0, initializers: 0, skipped: true });
        continue;
      }
      errors.push(`${mods.length} key(s) are for ${component}, which this model does not have (e.g. ${mods[0].key}): a LoRA for another base model${base}`);
      continue;
    }
    const matched: MatchedModule[] = [];
    let initializers = 0;
    for (const m of mods) {
      let name: string | undefined;
      try {
        name = resolveName(m, model);
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      if (!name) {
        errors.push(`${m.key} matches no ${component} module of ${model.weights.path}`);
        continue;
      }
      const targets = model.weights.targets.get(name)!;
      const bad = targets.find((t) => !fits(m, t.shape));
      if (bad) {
        errors.push(`${m.key}: LoRA delta ${describe(m)} does not fit ${component} module ${name} [${bad.shape.join(', ')}]`);
        continue;
      }
      matched.push({ module: m, name, targets });
      initializers += targets.length;
    }
    byComponent.set(component, matched);
    report.push({ component, modules: mods.length, matched: matched.length, initializers, skipped: false });
  }
  const needsConfig = errors.filter((e) => e.includes('LDM/SGM layout'));
  if (needsConfig.length > 0) throw new LoraMatchError(`LoRA ${lora.path}: ${needsConfig[0]} (${needsConfig.length} LDM-named keys)`);
  if (errors.length > 0) {
    const shown = errors.slice(0, 5).join('; ');
    const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
    const hint = errors.length > mods(lora) / 4 ? ` — ${errors.length} of ${mods(lora)} modules fail, so this LoRA was probably made for another base model${base}` : '';
    throw new LoraMatchError(`LoRA ${lora.path} does not fit the model: ${shown}${more}${hint}`);
  }
  return { lora, byComponent, report, notes };
}

const mods = (l: LoraFile) => l.modules.length;

export function formatReport(m: LoraMatch): string {
  return m.report
    .map((r) => (r.skipped ? `${r.component}: ${r.modules} modules skipped (not loaded)` : `${r.component}: ${r.matched}/${r.modules} modules matched, ${r.initializers} initializers`))
    .join('; ');
}
