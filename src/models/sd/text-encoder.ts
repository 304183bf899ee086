import { assertFinite } from '../../core/index.js';
import { checkOutputShape } from '../onnx/io.js';
import type { ModelSession } from '../onnx/feeds.js';
import { checkFinalNorm, hiddenLayerFor, layerNorm, type FinalNorm } from './clip-skip.js';
import type { ClipTokenizer } from '../tokenizer/clip.js';
import { truncationWarning } from '../tokenizer/clip.js';
import { isLoraScaleInput } from './unet.js';

/** What a UNet is conditioned on for a batch of prompts. */
export interface PromptEmbeds {
  /** encoder_hidden_states [B, S, D]. */
  readonly hidden: Float32Array;
  readonly dims: readonly [number, number, number];
  /** SDXL's pooled projection of text_encoder_2 (text_embeds) [B, P]. */
  readonly pooled?: Float32Array;
  readonly pooledDim?: number;
}

export interface TextEncoderStage {
  readonly tokenizer: ClipTokenizer;
  readonly session: ModelSession;
  /** SDXL reads the penultimate hidden layer; SD 1.x/2.x the last (SD 2's export already drops its last layer). */
  readonly layer: 'last' | 'penultimate';
  /** SDXL's text_encoder_2 also yields the pooled `text_embeds`. */
  readonly pooled: boolean;
  /** CLIP's final_layer_norm, read from the export when clip skip needs it (SD 1.x/2.x). */
  readonly finalNorm?: () => FinalNorm;
}

/**
 * Runs one or two CLIP text encoders on a batch of prompts. Identical prompts in a batch are encoded once.
 * `warn` receives a message for every prompt cut at the tokenizer's length. `clipSkip` is diffusers' (see
 * hiddenLayerFor); diffusers applies it to the prompt only, never to the negative prompt.
 */
export async function encodePrompts(stages: readonly TextEncoderStage[], prompts: readonly string[], warn: (msg: string) => void, clipSkip?: number, loraScales: readonly number[] = []): Promise<PromptEmbeds> {
  const unique = [...new Set(prompts)];
  const parts: Float32Array[][] = [];
  const widths: number[] = [];
  let seq = 0;
  let pooled: Float32Array[] | undefined;
  let pooledDim: number | undefined;
  for (const stage of stages) {
    const { maxLength } = stage.tokenizer.config;
    const ids = new Int32Array(unique.length * maxLength);
    unique.forEach((p, b) => {
      const e = stage.tokenizer.encode(p);
      if (e.truncated !== null && stage === stages[0]) warn(truncationWarning(p, e.truncated, maxLength));
      ids.set(e.ids, b * maxLength);
    });
    const layer = hiddenLayerFor(stage.session, stage.layer, clipSkip);
    const hiddenName = layer.output;
    const names = [hiddenName, ...(stage.pooled ? ['text_embeds'] : []), ...(layer.lastHidden ? ['last_hidden_state', layer.lastHidden] : [])];
    if (stage.pooled && !stage.session.outputs.some((o) => o.name === 'text_embeds')) {
      throw new Error(`${stage.session.path}: SDXL's second text encoder must output text_embeds (CLIPTextModelWithProjection)`);
    }
    const feeds: Record<string, { data: Int32Array | Float32Array; dims: number[] }> = { input_ids: { data: ids, dims: [unique.length, maxLength] } };
    // a runtime-scale LoRA encoder: the leg's scale for every prompt
    for (const name of stage.session.inputs.map((i) => i.name).filter(isLoraScaleInput)) {
      const s = loraScales[Number(name.slice('lora_scale.'.length))];
      if (s === undefined) throw new Error(`${stage.session.path}: input ${name} (a runtime-scale LoRA) needs the leg's LoRA scale`);
      feeds[name] = { data: new Float32Array(unique.length).fill(s), dims: [unique.length] };
    }
    const out = await stage.session.run(feeds, [...new Set(names)]);
    let h = checkOutputShape(out[hiddenName], [unique.length, maxLength, null], hiddenName, stage.session.path);
    if (layer.normalize) {
      if (!stage.finalNorm) throw new Error(`${stage.session.path}: clip skip needs CLIP's final_layer_norm, which this model does not provide`);
      const norm = stage.finalNorm();
      checkFinalNorm(out[layer.lastHidden!], out.last_hidden_state, norm, stage.session.path);
      h = { data: layerNorm(h.data, h.dims[2], norm), dims: h.dims };
    }
    assertFinite(h.data, `${stage.session.path}: ${hiddenName}`);
    if (seq !== 0 && h.dims[1] !== seq) throw new Error(`text encoders disagree on sequence length: ${seq} vs ${h.dims[1]}`);
    seq = h.dims[1];
    const D = h.dims[2];
    widths.push(D);
    parts.push(unique.map((_, b) => h.data.subarray(b * seq * D, (b + 1) * seq * D)));
    if (stage.pooled) {
      const te = checkOutputShape(out.text_embeds, [unique.length, null], 'text_embeds', stage.session.path);
      pooledDim = te.dims[1];
      pooled = unique.map((_, b) => te.data.subarray(b * pooledDim!, (b + 1) * pooledDim!));
    }
  }
  // SDXL concatenates the two encoders' features token by token: [B, S, 768 + 1280].
  const D = widths.reduce((a, b) => a + b, 0);
  const B = prompts.length;
  const hidden = new Float32Array(B * seq * D);
  prompts.forEach((p, b) => {
    const u = unique.indexOf(p);
    for (let s = 0; s < seq; s++) {
      let off = (b * seq + s) * D;
      parts.forEach((part, k) => {
        const w = widths[k];
        hidden.set(part[u].subarray(s * w, (s + 1) * w), off);
        off += w;
      });
    }
  });
  let pooledAll: Float32Array | undefined;
  if (pooled && pooledDim !== undefined) {
    pooledAll = new Float32Array(B * pooledDim);
    prompts.forEach((p, b) => pooledAll!.set(pooled![unique.indexOf(p)], b * pooledDim!));
  }
  return { hidden, dims: [B, seq, D], pooled: pooledAll, pooledDim };
}

/** SDXL's `force_zeros_for_empty_prompt`: the unconditional half is zeros, hidden states and pooled alike. */
export function zeroEmbedsLike(e: PromptEmbeds): PromptEmbeds {
  return {
    hidden: new Float32Array(e.hidden.length),
    dims: e.dims,
    pooled: e.pooled ? new Float32Array(e.pooled.length) : undefined,
    pooledDim: e.pooledDim,
  };
}
