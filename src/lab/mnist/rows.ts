import type { Denoiser } from '../../core/types.js';
import { cfg } from '../../core/guidance.js';
import { autoguided, equalCompute, plain, s2wd, selfReflection, w2sd, type Legs, type Method, type W2sdSettings } from '../../core/methods.js';
import type { InversionKind } from '../../core/reflection.js';
import type { ClassCondModel } from '../../models/classcond.js';
import { Meter } from './meter.js';

/**
 * What a row may use for one batch: its class labels and metered legs. Conditional denoisers are bound to a
 * batch's labels, so a row builds its method per batch (cheap: sessions are shared, nothing is loaded).
 */
export interface BatchKit {
  readonly labels: Int32Array;
  /** The model at a guidance scale: 1 = conditional, 0 = null label, else CFG with both halves in one call. */
  leg(model: ClassCondModel, scale?: number): Denoiser;
}

export function batchKit(labels: Int32Array, meter: Meter): BatchKit {
  return {
    labels,
    leg(model, scale = 1) {
      if (model.config.conditioning === 'unconditional') {
        if (scale !== 1) throw new Error(`row: ${model.name} is unconditional; guidance scale ${scale} has no meaning for it`);
        return meter.wrap(model.unconditional());
      }
      if (scale === 1) return meter.wrap(model.denoiser(labels));
      if (scale === 0) return meter.wrap(model.unconditional());
      return cfg(meter.wrapGuided(model.guided(labels)), scale);
    },
  };
}

export type RowGroup = 'reference' | 'baseline' | 'w2sd' | 'control' | 'equal-compute';

export interface Row {
  /** File-name-safe id. */
  readonly id: string;
  readonly name: string;
  readonly group: RowGroup;
  /** Steps actually run, from the experiment's T (plain rows at matched NFE change it). */
  readonly stepsFor?: (steps: number) => number;
  /** What the row is for, printed under the table. */
  readonly note?: string;
  /** The row it should be judged against when not the plain strong row (e.g. CFG for guided W2SD rows). */
  readonly compareWith?: string;
  build(kit: BatchKit): Method;
}

/** A leg: a model at a guidance scale (1 = conditional / unconditional model as is). */
export interface LegSpec {
  readonly model: ClassCondModel;
  readonly scale?: number;
}

function legName(l: LegSpec): string {
  return l.scale === undefined || l.scale === 1 ? l.model.name : `${l.model.name}@cfg${l.scale}`;
}

/** Evaluations per item one call of a leg costs: a CFG leg runs a batch of 2B. */
export function legCost(l: LegSpec): number {
  const guided = l.model.config.conditioning !== 'unconditional' && l.scale !== undefined && l.scale !== 0 && l.scale !== 1;
  return guided ? 2 : 1;
}

function legsOf(kit: BatchKit, main: LegSpec, strong: LegSpec, weak: LegSpec): Legs {
  return { main: kit.leg(main.model, main.scale), strong: kit.leg(strong.model, strong.scale), weak: kit.leg(weak.model, weak.scale) };
}

export function plainRow(id: string, name: string, group: RowGroup, leg: LegSpec, stepsFor?: (t: number) => number): Row {
  return { id, name, group, stepsFor, build: (kit) => plain(name, kit.leg(leg.model, leg.scale)) };
}

/** D_w + w·(D_s − D_w) (Karras et al. 2024); w = 1 is the strong model. */
export function autoguidanceRow(strong: LegSpec, weak: LegSpec, w: number): Row {
  const name = `autoguidance w=${w}`;
  return {
    id: `autoguidance-w${w}`,
    name,
    group: 'baseline',
    build: (kit) => autoguided(name, kit.leg(strong.model, strong.scale), kit.leg(weak.model, weak.scale), w),
  };
}

export interface ReflectionRowSpec {
  readonly id: string;
  readonly name: string;
  readonly group: RowGroup;
  readonly main: LegSpec;
  readonly strong: LegSpec;
  readonly weak: LegSpec;
  readonly inversion?: InversionKind;
  readonly settings?: Omit<W2sdSettings, 'inversion'>;
  readonly kind?: 'w2sd' | 's2wd' | 'self' | 'equal-compute';
  readonly note?: string;
  readonly compareWith?: string;
}

export function reflectionRow(spec: ReflectionRowSpec): Row {
  const settings: W2sdSettings = { ...spec.settings, inversion: spec.inversion ?? 'ddim' };
  return {
    id: spec.id,
    name: spec.name,
    group: spec.group,
    ...(spec.compareWith ? { compareWith: spec.compareWith } : {}),
    note: spec.note ?? `main ${legName(spec.main)}; reflect: strong ${legName(spec.strong)}, weak ${legName(spec.weak)}; inversion ${settings.inversion}`,
    build(kit) {
      const legs = legsOf(kit, spec.main, spec.strong, spec.weak);
      switch (spec.kind ?? 'w2sd') {
        case 'w2sd':
          return w2sd(spec.name, legs, settings);
        case 's2wd':
          return s2wd(spec.name, legs, settings);
        case 'self':
          return selfReflection(spec.name, legs, settings);
        case 'equal-compute': {
          const { lambda: _ignored, ...rest } = settings;
          return equalCompute(spec.name, legs, rest, { costs: { main: legCost(spec.main), strong: legCost(spec.strong), weak: legCost(spec.weak) } });
        }
      }
    },
  };
}
