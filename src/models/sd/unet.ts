import type { Tensor } from '../../core/index.js';
import { checkOutputShape } from '../onnx/io.js';
import type { ModelSession } from '../onnx/feeds.js';
import type { SdFamily } from './folder.js';

/** Everything but the latent and timestep that a UNet call takes, for a batch of N. */
export interface UnetCondition {
  readonly hidden: Float32Array;
  readonly hiddenDims: readonly [number, number, number];
  /** SDXL: pooled text_embeds [N, P] and time_ids [N, 6]. */
  readonly textEmbeds?: Float32Array;
  readonly textEmbedsDim?: number;
  readonly timeIds?: Float32Array;
  readonly timeIdsDim?: number;
  /** A runtime-scale LoRA UNet's `lora_scale.k` inputs: per LoRA k, one scale per batch item [N]. */
  readonly loraScales?: readonly Float32Array[];
}

/** Batch-concatenates conditions: CFG runs [uncond; cond] as one batch of 2B, as diffusers does. */
export function stackConditions(parts: readonly UnetCondition[]): UnetCondition {
  const cat = (xs: (Float32Array | undefined)[]): Float32Array | undefined => {
    if (xs.some((x) => x === undefined)) return undefined;
    const out = new Float32Array(xs.reduce((n, x) => n + x!.length, 0));
    let off = 0;
    for (const x of xs) {
      out.set(x!, off);
      off += x!.length;
    }
    return out;
  };
  const [, S, D] = parts[0].hiddenDims;
  for (const p of parts) {
    if (p.hiddenDims[1] !== S || p.hiddenDims[2] !== D) {
      throw new Error(`conditions of one batch disagree: [${p.hiddenDims.join(', ')}] vs [N, ${S}, ${D}]`);
    }
  }
  return {
    hidden: cat(parts.map((p) => p.hidden))!,
    hiddenDims: [parts.reduce((n, p) => n + p.hiddenDims[0], 0), S, D],
    textEmbeds: cat(parts.map((p) => p.textEmbeds)),
    textEmbedsDim: parts[0].textEmbedsDim,
    timeIds: cat(parts.map((p) => p.timeIds)),
    timeIdsDim: parts[0].timeIdsDim,
    loraScales: parts[0].loraScales?.map((_, k) => cat(parts.map((p) => p.loraScales?.[k]))!),
  };
}

const BASE_INPUTS = ['sample', 'timestep', 'encoder_hidden_states'];
/** Inputs a runtime-scale LoRA model adds (see models/lora/runtime.ts). */
export const isLoraScaleInput = (name: string): boolean => /^lora_scale\.\d+$/.test(name);
const SDXL_INPUTS = ['text_embeds', 'time_ids'];

/** SDXL's micro-conditioning: original size, crop top-left, target size (no crop, same size). */
export function sdxlTimeIds(height: number, width: number): number[] {
  return [height, width, 0, 0, height, width];
}

/**
 * A UNet session checked against the family's signature. Inputs are read from the model, so the same code
 * serves int64 [B] / float32 scalar / float16 timesteps and fp16 or fp32 IO.
 */
export class SdUnet {
  constructor(
    readonly session: ModelSession,
    readonly family: SdFamily,
  ) {
    const names = session.inputs.map((i) => i.name);
    const expected = family === 'sdxl' ? [...BASE_INPUTS, ...SDXL_INPUTS] : BASE_INPUTS;
    const missing = expected.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !expected.includes(n) && !isLoraScaleInput(n));
    if (missing.length > 0 || extra.length > 0) {
      const hint = extra.includes('timestep_cond') ? ' (an LCM UNet: not supported)' : extra.some((n) => SDXL_INPUTS.includes(n)) ? ' (an SDXL UNet in a non-SDXL folder?)' : '';
      throw new Error(
        `${session.path}: not a ${family} UNet: inputs are [${names.join(', ')}]` +
          (missing.length ? `, missing ${missing.join(', ')}` : '') +
          (extra.length ? `, unexpected ${extra.join(', ')}` : '') +
          hint,
      );
    }
    session.output('out_sample');
    if (family === 'sdxl') {
      const ti = session.input('time_ids').dims[1];
      if (typeof ti === 'number' && ti !== 6) {
        throw new Error(`${session.path}: time_ids has ${ti} values; only the SDXL base layout (6: sizes and crop) is supported, not the refiner's 5`);
      }
    }
  }

  private fixedDim(input: string, axis: number): number | undefined {
    const d = this.session.input(input).dims[axis];
    return typeof d === 'number' && d > 0 ? d : undefined;
  }

  /** Latent channels the UNet declares (4 for every SD), when its export fixes them. */
  get latentChannels(): number | undefined {
    return this.fixedDim('sample', 1);
  }

  get hiddenSize(): number | undefined {
    return this.fixedDim('encoder_hidden_states', 2);
  }

  get textEmbedsSize(): number | undefined {
    return this.family === 'sdxl' ? this.fixedDim('text_embeds', 1) : undefined;
  }

  /** The network's raw output (ε, v or x0 per the scheduler's prediction type) for x_t at `timestep`. */
  async predict(xt: Tensor, timestep: number, cond: UnetCondition): Promise<Float32Array> {
    const N = xt.shape[0];
    if (cond.hiddenDims[0] !== N) throw new Error(`UNet call: latent batch ${N} but conditioning batch ${cond.hiddenDims[0]}`);
    const tsSpec = this.session.input('timestep');
    // optimum (and diffusers' old ONNX pipeline) cast a fractional timestep to int64 with numpy: truncation
    const t = tsSpec.dtype.startsWith('int') ? Math.trunc(timestep) : timestep;
    const feeds: Record<string, { data: Float32Array; dims: readonly number[] }> = {
      sample: { data: xt.data, dims: xt.shape },
      timestep: { data: new Float32Array(N).fill(t), dims: [N] },
      encoder_hidden_states: { data: cond.hidden, dims: cond.hiddenDims },
    };
    if (this.family === 'sdxl') {
      if (!cond.textEmbeds || !cond.timeIds) throw new Error('SDXL UNet call without text_embeds and time_ids');
      feeds.text_embeds = { data: cond.textEmbeds, dims: [N, cond.textEmbedsDim!] };
      feeds.time_ids = { data: cond.timeIds, dims: [N, cond.timeIdsDim!] };
    }
    for (const name of this.session.inputs.map((i) => i.name).filter(isLoraScaleInput)) {
      const s = cond.loraScales?.[Number(name.slice('lora_scale.'.length))];
      if (!s || s.length !== N) throw new Error(`${this.session.path}: input ${name} (a runtime-scale LoRA) needs one scale per batch item; the leg gave ${s ? s.length : 'none'}`);
      feeds[name] = { data: s, dims: [N] };
    }
    const out = await this.session.run(feeds, ['out_sample']);
    return checkOutputShape(out.out_sample, xt.shape, 'out_sample', this.session.path).data;
  }
}
