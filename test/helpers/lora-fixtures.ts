/** The PyTorch-made LoRA fixtures (tools/lora/make_fixtures.py) and a runner for the references' inputs. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

export const LORA_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/lora', import.meta.url));
export const LORA_FILES = ['kohya', 'kohya_ldm', 'peft', 'diffusers', 'diffusers_old'] as const;

export interface Reference {
  readonly file: string | null;
  readonly scale: number;
  readonly component: 'unet' | 'text_encoder';
  readonly dims: number[];
  readonly values: number[];
}

export interface References {
  readonly inputs: { sample: number[][][][]; timestep: number[]; encoder_hidden_states: number[][][]; input_ids: number[][] };
  readonly targets: Record<string, Record<string, number>>;
  readonly references: Reference[];
}

export function loadReferences(): References {
  return JSON.parse(readFileSync(`${LORA_FIXTURES}/references.json`, 'utf8')) as References;
}

export function reference(refs: References, file: string | null, scale: number, component: 'unet' | 'text_encoder'): Reference | undefined {
  return refs.references.find((r) => (r.file === file || scale === 0) && r.scale === scale && r.component === component);
}

/** Feeds of the recorded inputs; `extra` adds inputs such as runtime LoRA scales. */
export function feeds(refs: References, component: 'unet' | 'text_encoder', extra: Record<string, ort.Tensor> = {}): Record<string, ort.Tensor> {
  const i = refs.inputs;
  const flat = (a: unknown[]): number[] => a.flat(Infinity) as number[];
  if (component === 'unet') {
    return {
      sample: new ort.Tensor('float32', Float32Array.from(flat(i.sample)), [2, 4, 8, 8]),
      timestep: new ort.Tensor('int64', BigInt64Array.from(i.timestep.map(BigInt)), [2]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from(flat(i.encoder_hidden_states)), [2, 7, 32]),
      ...extra,
    };
  }
  return { input_ids: new ort.Tensor('int64', BigInt64Array.from(flat(i.input_ids).map(BigInt)), [1, i.input_ids[0].length]), ...extra };
}

export async function runModel(path: string, component: 'unet' | 'text_encoder', f: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
  try {
    const out = await s.run(f);
    return out[component === 'unet' ? 'out_sample' : 'last_hidden_state'].data as Float32Array;
  } finally {
    await s.release();
  }
}

/** max |a − b| / max |b|: the error relative to the output's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return a.length === b.length ? num / den : Infinity;
}
