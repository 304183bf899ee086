import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { discreteDenoiser } from '../core/denoiser.js';
import { parseSchedulerConfig, type SchedulerConfig } from '../core/schedules/config.js';
import type { Tensor } from '../core/tensor.js';
import type { Denoiser } from '../core/types.js';
import { parseShippedConfig, type ShippedConfig } from './classcond.js';
import { openSession, type OnnxSession } from './onnx/session.js';
import type { RuntimeOptions } from './onnx/providers.js';

/**
 * A shipped clip model (training/train_dit.py, video run): `sample` float32 [B, C, F, H, W], `timestep`
 * float32 [B], `class_labels` int64 [B] (null class = num_classes) → `out_sample` ε of the sample's shape,
 * plus `frames` in config.json. The signature is checked at load, before any sampling.
 */
export interface ClipModel {
  readonly name: string;
  readonly scheduler: SchedulerConfig;
  readonly config: ShippedConfig & { readonly frames: number };
  readonly session: OnnxSession;
  /** [C, F, H, W] of one clip. */
  readonly clipShape: readonly [number, number, number, number];
  network(xt: Tensor, timestep: number, labels: Int32Array): Promise<Float32Array>;
  /** σ-space denoiser for rows with these labels (length = batch). */
  denoiser(labels: Int32Array): Denoiser;
}

function readJson(path: string, name: string): unknown {
  if (!existsSync(path)) throw new Error(`clip model ${name}: ${path} not found`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`clip model ${name}: ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export async function loadClipModel(dir: string, opts: RuntimeOptions = {}): Promise<ClipModel> {
  const name = basename(dir);
  const cfgJson = readJson(join(dir, 'config.json'), name) as Record<string, unknown>;
  const config = parseShippedConfig(cfgJson, join(dir, 'config.json'));
  const frames = cfgJson.frames;
  if (typeof frames !== 'number' || !Number.isInteger(frames) || frames < 2) {
    throw new Error(`clip model ${name}: ${join(dir, 'config.json')} needs "frames", an integer ≥ 2, got ${JSON.stringify(frames)}`);
  }
  const scheduler = parseSchedulerConfig(readJson(join(dir, 'scheduler_config.json'), name), join(dir, 'scheduler_config.json'));
  const path = join(dir, 'model.onnx');
  if (!existsSync(path)) throw new Error(`clip model ${name}: ${path} not found`);
  const session = await openSession(path, opts);
  const clipShape = [config.channels, frames, config.sampleSize, config.sampleSize] as const;
  const expected = `expected sample float32 [B, ${clipShape.join(', ')}], timestep float32 [B], class_labels int64 [B] → out_sample`;
  const inputs = session.inputs.map((s) => s.name).sort().join(',');
  const sample = session.inputs.find((s) => s.name === 'sample');
  if (inputs !== 'class_labels,sample,timestep' || !session.outputs.some((s) => s.name === 'out_sample') || sample?.dims.length !== 5) {
    throw new Error(`clip model ${name} (${path}): inputs ${session.inputs.map((s) => `${s.name} [${s.dims.join(', ')}]`).join(', ')}; ${expected}`);
  }
  sample.dims.slice(1).forEach((d, i) => {
    if (typeof d === 'number' && d !== clipShape[i]) throw new Error(`clip model ${name}: sample is [${sample.dims.join(', ')}] but config.json says clips are [${clipShape.join(', ')}]`);
  });
  const per = clipShape.reduce((a, b) => a * b, 1);
  const network = async (xt: Tensor, timestep: number, labels: Int32Array): Promise<Float32Array> => {
    const batch = xt.shape[0];
    if (xt.shape.length !== 5 || xt.shape.slice(1).some((d, i) => d !== clipShape[i])) {
      throw new Error(`clip model ${name}: latent shape [${xt.shape.join(', ')}], expected [B, ${clipShape.join(', ')}]`);
    }
    if (labels.length !== batch) throw new Error(`clip model ${name}: ${labels.length} labels for a batch of ${batch}`);
    for (const c of labels) {
      if (!Number.isInteger(c) || c < 0 || c > config.nullClass) throw new Error(`clip model ${name}: label ${c} is outside 0..${config.nullClass}`);
    }
    const out = await session.run(
      {
        sample: { data: xt.data, dims: xt.shape },
        timestep: { data: new Float32Array(batch).fill(timestep), dims: [batch] },
        class_labels: { data: labels, dims: [batch] },
      },
      ['out_sample'],
    );
    const eps = out.out_sample.data;
    if (eps.length !== batch * per) throw new Error(`clip model ${name}: out_sample has ${eps.length} values, expected ${batch * per}`);
    return eps.slice();
  };
  return {
    name,
    scheduler,
    config: { ...config, frames },
    session,
    clipShape,
    network,
    denoiser: (labels) => discreteDenoiser((xt, t) => network(xt, t, labels), scheduler.predictionType),
  };
}
