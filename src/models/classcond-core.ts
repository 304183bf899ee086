import type { SchedulerConfig } from '../core/schedules/config.js';
import { discreteDenoiser, discreteGuided, type GuidedDenoiser } from '../core/denoiser.js';
import { tensor, type Tensor } from '../core/tensor.js';
import type { Denoiser } from '../core/types.js';
import type { IoSpec, ModelSession } from './onnx/feeds.js';

/**
 * The shipped small diffusion models (models/README.md): a folder with `model.onnx` (sample, timestep,
 * class_labels → out_sample), a diffusers `scheduler_config.json` and a `config.json` describing classes.
 * Loading checks the whole signature up front, so a wrong or damaged file fails with a message naming the
 * file and the mismatch instead of a shape error deep inside a sampler.
 */
export interface ShippedConfig {
  readonly sampleSize: number;
  readonly channels: number;
  readonly numClasses: number;
  /** Label that asks for the unconditional prediction (CFG's null class). */
  readonly nullClass: number;
  /** Unconditional models were trained with the null label only; other labels are untrained. */
  readonly conditioning: 'class' | 'unconditional';
  readonly classNames?: readonly string[];
}

export interface ClassCondModel {
  readonly name: string;
  readonly dir: string;
  readonly scheduler: SchedulerConfig;
  readonly config: ShippedConfig;
  readonly session: ModelSession;
  /** [C, H, W] of one image. */
  readonly imageShape: readonly [number, number, number];
  /** The raw network: ε (or v, x0 per the scheduler config) for x_t at one timestep, labels per row. */
  network(xt: Tensor, timestep: number, labels: Int32Array): Promise<Float32Array>;
  /** σ-space denoiser for rows with these labels (length = batch). */
  denoiser(labels: Int32Array): Denoiser;
  /** σ-space denoiser at the null label, for any batch size. */
  unconditional(): Denoiser;
  /** Conditional and null halves, evaluated as one batch of 2B when both are needed (CFG). */
  guided(labels: Int32Array): GuidedDenoiser;
}

export function parseShippedConfig(json: unknown, source: string): ShippedConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  if (o.kind !== undefined && o.kind !== 'diffusion') throw new Error(`${source}: "kind" is ${JSON.stringify(o.kind)}, expected "diffusion"`);
  const int = (key: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${source}: "${key}" must be a non-negative integer, got ${JSON.stringify(o[key])}`);
    return v;
  };
  const numClasses = int('num_classes');
  if (numClasses < 1) throw new Error(`${source}: "num_classes" must be at least 1`);
  const nullClass = int('null_class', numClasses);
  if (nullClass !== numClasses) {
    throw new Error(`${source}: "null_class" is ${nullClass}; the shipped signature puts the null class at num_classes = ${numClasses}`);
  }
  const conditioning = o.conditioning ?? 'class';
  if (conditioning !== 'class' && conditioning !== 'unconditional') {
    throw new Error(`${source}: "conditioning" must be "class" or "unconditional", got ${JSON.stringify(conditioning)}`);
  }
  const names = o.class_names;
  if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) {
    throw new Error(`${source}: "class_names" must be a list of strings`);
  }
  return {
    sampleSize: int('sample_size', 28),
    channels: int('channels', 1),
    numClasses,
    nullClass,
    conditioning,
    ...(names ? { classNames: names as string[] } : {}),
  };
}

const FLOAT_TYPES = ['float32', 'float16'];
const INT_TYPES = ['int64', 'int32'];

/** `extraInputs`: float32 [B] inputs beyond the usual three (a routed MoE's `route`). */
export function checkSignature(session: ModelSession, cfg: ShippedConfig, name: string, extraInputs: readonly string[] = []): void {
  const where = `shipped model ${name} (${session.path})`;
  const extra = extraInputs.map((n) => `, ${n} float32 [B]`).join('');
  const expected = `expected inputs sample float32 [B, ${cfg.channels}, ${cfg.sampleSize}, ${cfg.sampleSize}], timestep float32 [B], class_labels int64 [B]${extra} and output out_sample`;
  const names = session.inputs.map((s) => s.name).sort();
  if (names.join(',') !== ['class_labels', 'sample', 'timestep', ...extraInputs].sort().join(',')) {
    throw new Error(`${where}: inputs are ${describe(session.inputs)}; ${expected}`);
  }
  if (!session.outputs.some((s) => s.name === 'out_sample')) {
    throw new Error(`${where}: outputs are ${describe(session.outputs)}; ${expected}`);
  }
  const image = [cfg.channels, cfg.sampleSize, cfg.sampleSize];
  for (const spec of [session.input('sample'), session.output('out_sample')]) {
    if (!FLOAT_TYPES.includes(spec.dtype) || spec.dims.length !== 4) throw new Error(`${where}: '${spec.name}' is ${describeOne(spec)}; ${expected}`);
    spec.dims.slice(1).forEach((d, i) => {
      if (typeof d === 'number' && d >= 0 && d !== image[i]) {
        throw new Error(`${where}: '${spec.name}' is ${describeOne(spec)} but config.json says images are [${image.join(', ')}]`);
      }
    });
  }
  const t = session.input('timestep');
  if (!FLOAT_TYPES.includes(t.dtype) && !INT_TYPES.includes(t.dtype)) throw new Error(`${where}: 'timestep' is ${describeOne(t)}; ${expected}`);
  if (t.dims.length > 1) throw new Error(`${where}: 'timestep' is ${describeOne(t)}; ${expected}`);
  const l = session.input('class_labels');
  if (!INT_TYPES.includes(l.dtype) || l.dims.length !== 1) throw new Error(`${where}: 'class_labels' is ${describeOne(l)}; ${expected}`);
  for (const n of extraInputs) {
    const e = session.input(n);
    if (e.dtype !== 'float32' || e.dims.length !== 1) throw new Error(`${where}: '${n}' is ${describeOne(e)}; ${expected}`);
  }
}

function describeOne(s: IoSpec): string {
  return `${s.dtype} [${s.dims.join(', ')}]`;
}

function describe(specs: readonly IoSpec[]): string {
  return specs.map((s) => `${s.name} ${describeOne(s)}`).join(', ');
}

/** The model around a loaded session (either runtime): the network call and its σ-space denoisers. */
/**
 * The model over an opened folder. `fixedInputs` feeds extra float32 [B] inputs one constant each (a routed
 * MoE's `route`), so several models can share one session.
 */
export function makeClassCondModel(
  name: string,
  dir: string,
  scheduler: SchedulerConfig,
  config: ShippedConfig,
  session: ModelSession,
  fixedInputs: Readonly<Record<string, number>> = {},
): ClassCondModel {
  const imageShape = [config.channels, config.sampleSize, config.sampleSize] as const;
  const per = imageShape[0] * imageShape[1] * imageShape[2];

  const checkLabels = (labels: Int32Array): void => {
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i];
      if (!Number.isInteger(c) || c < 0 || c > config.nullClass) {
        throw new Error(`shipped model ${name}: label ${c} at row ${i} is outside 0..${config.nullClass} (${config.nullClass} = null class)`);
      }
      if (config.conditioning === 'unconditional' && c !== config.nullClass) {
        throw new Error(`shipped model ${name} is unconditional: pass the null label ${config.nullClass}, not ${c}`);
      }
    }
  };

  const network = async (xt: Tensor, timestep: number, labels: Int32Array): Promise<Float32Array> => {
    const batch = xt.shape[0];
    if (xt.shape.length !== 4 || xt.shape[1] !== imageShape[0] || xt.shape[2] !== imageShape[1] || xt.shape[3] !== imageShape[2]) {
      throw new Error(`shipped model ${name}: latent shape [${xt.shape.join(', ')}], expected [B, ${imageShape.join(', ')}]`);
    }
    if (labels.length !== batch) throw new Error(`shipped model ${name}: ${labels.length} labels for a batch of ${batch}`);
    const out = await session.run(
      {
        sample: { data: xt.data, dims: xt.shape },
        timestep: { data: new Float32Array(batch).fill(timestep), dims: [batch] },
        class_labels: { data: labels, dims: [batch] },
        ...Object.fromEntries(Object.entries(fixedInputs).map(([k, v]) => [k, { data: new Float32Array(batch).fill(v), dims: [batch] }])),
      },
      ['out_sample'],
    );
    const eps = out.out_sample.data;
    if (eps.length !== batch * per) throw new Error(`shipped model ${name}: out_sample has ${eps.length} values, expected ${batch * per}`);
    // ORT may hand back a view of its own buffer; the denoiser writes in place, so copy once here
    return eps.slice();
  };

  const nullLabels = (batch: number) => new Int32Array(batch).fill(config.nullClass);

  return {
    name,
    dir,
    scheduler,
    config,
    session,
    imageShape,
    network,
    denoiser(labels) {
      checkLabels(labels);
      return discreteDenoiser((xt, t) => network(xt, t, labels), scheduler.predictionType);
    },
    unconditional() {
      return discreteDenoiser((xt, t) => network(xt, t, nullLabels(xt.shape[0])), scheduler.predictionType);
    },
    guided(labels) {
      checkLabels(labels);
      const b = labels.length;
      const pair = new Int32Array(2 * b);
      pair.set(labels);
      pair.fill(config.nullClass, b);
      return discreteGuided(
        {
          async both(xt, timestep) {
            // one call of 2B: the conditional rows first, then the same latents with the null label
            const doubled = new Float32Array(2 * xt.data.length);
            doubled.set(xt.data);
            doubled.set(xt.data, xt.data.length);
            const out = await network(tensor(doubled, [2 * b, ...xt.shape.slice(1)]), timestep, pair);
            return [out.slice(0, xt.data.length), out.slice(xt.data.length)];
          },
          cond: (xt, t) => network(xt, t, labels),
          uncond: (xt, t) => network(xt, t, nullLabels(xt.shape[0])),
        },
        scheduler.predictionType,
      );
    },
  };
}
