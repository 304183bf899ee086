import { ddim } from '../../core/samplers/ddim.js';
import { tensor } from '../../core/tensor.js';
import { ddimSchedule } from '../../core/schedules/discrete.js';
import type { InversionKind } from '../../core/reflection.js';
import type { ClassCondModel } from '../../models/classcond-core.js';
import { MODEL_NAMES } from './model-names.js';
import { autoguidanceRow, plainRow, reflectionRow, type Row } from './rows.js';
import type { RunSettings } from './run.js';

/**
 * The side-by-side comparison the web page shows (and `test/web-pages.test.ts` reruns in Node): one W2SD
 * pair, plain strong vs W2SD vs autoguidance vs W2SD at equal compute, every row from the same seeds.
 * Pure (no Node, no runtime), so the page and Node build exactly the same rows and settings.
 */
export const COMPARE_PAIRS = {
  quality: { title: 'Quality pair: full model (strong) vs small short-trained model (weak), class-conditional', strong: MODEL_NAMES.qualityStrong, weak: MODEL_NAMES.qualityWeak },
  imbalance: { title: 'Imbalance pair: digits 0 and 7 at 2:1 (strong) vs 10:1 (weak), unconditional; ideal 1:1', strong: MODEL_NAMES.imbalanceStrong, weak: MODEL_NAMES.imbalanceWeak },
} as const;
export type ComparePair = keyof typeof COMPARE_PAIRS;

export interface CompareOptions {
  readonly count: number;
  readonly batch: number;
  readonly seed: number;
  readonly steps: number;
  /** Reflected steps of the W2SD row; default T − 1. */
  readonly lambda?: number;
  readonly inversion: InversionKind;
  /** Autoguidance weight (2 is W2SD's first-order match). */
  readonly w: number;
}

export function checkCompareOptions(o: CompareOptions): void {
  const int = (v: number, what: string, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`${what}: expected an integer ${lo}..${hi}, got ${v}`);
  };
  int(o.count, 'samples', 1, 1000);
  int(o.batch, 'batch', 1, 1000);
  int(o.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  int(o.steps, 'T (steps)', 2, 1000);
  if (o.lambda !== undefined) int(o.lambda, 'λ', 0, o.steps - 1);
  if (!Number.isFinite(o.w)) throw new Error(`autoguidance w: expected a finite number, got ${o.w}`);
}

export function compareRows(strong: ClassCondModel, weak: ClassCondModel, o: CompareOptions): Row[] {
  const s = { model: strong };
  const wk = { model: weak };
  const lambda = o.lambda;
  return [
    plainRow('plain', `plain ${strong.name}`, 'baseline', s),
    reflectionRow({ id: 'w2sd', name: `W2SD (${o.inversion}${lambda === undefined ? '' : `, λ=${lambda}`})`, group: 'w2sd', main: s, strong: s, weak: wk, inversion: o.inversion, settings: lambda === undefined ? {} : { lambda } }),
    autoguidanceRow(s, wk, o.w),
    reflectionRow({ id: 'w2sd-equal-compute', name: 'W2SD equal compute (T′ + 2λ = T)', group: 'equal-compute', main: s, strong: s, weak: wk, kind: 'equal-compute', inversion: o.inversion }),
  ];
}

/** The lab's sampling settings: DDIM (η = 0) on the strong model's own discrete schedule. */
export function compareSettings(strong: ClassCondModel, o: CompareOptions, onBatch?: RunSettings['onBatch']): RunSettings {
  const conditional = strong.config.conditioning === 'class';
  return {
    count: o.count,
    batch: o.batch,
    seed: o.seed,
    steps: o.steps,
    sampler: ddim(),
    schedule: (n) => ddimSchedule(strong.scheduler, n),
    imageShape: strong.imageShape,
    labelOf: (i) => (conditional ? i % strong.config.numClasses : strong.config.nullClass),
    onBatch,
  };
}

/** Median of 9 timed calls of the model's network on a batch (after a warm-up call): the speed comparison's unit. */
export async function medianCallMs(model: ClassCondModel, batch: number): Promise<number> {
  const per = model.imageShape[0] * model.imageShape[1] * model.imageShape[2];
  const x = tensor(new Float32Array(batch * per).fill(0.1), [batch, ...model.imageShape]);
  const labels = new Int32Array(batch).fill(model.config.nullClass);
  await model.network(x, 500, labels);
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    await model.network(x, 500, labels);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[4];
}
