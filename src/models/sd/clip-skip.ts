import type { FloatOutput } from '../onnx/io.js';
import type { ModelSession } from '../onnx/feeds.js';

/** CLIP's final_layer_norm: weight, bias and epsilon (config layer_norm_eps). */
export interface FinalNorm {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly eps: number;
}

/** `hidden_states.N` outputs of an export, highest index last. */
export function hiddenStateOutputs(session: ModelSession): string[] {
  return session.outputs
    .map((o) => o.name)
    .filter((n) => /^hidden_states\.\d+$/.test(n))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
}

/** Which output conditions the UNet, and whether the final layer norm still has to be applied to it. */
export interface HiddenLayer {
  readonly output: string;
  /** SD 1.x/2.x with clip_skip: hidden_states are taken before CLIP's final_layer_norm, which diffusers applies. */
  readonly normalize: boolean;
  /** The last hidden_states output, whose normalisation must reproduce last_hidden_state (a check of the norm). */
  readonly lastHidden?: string;
}

/**
 * diffusers' choice of text features. SD 1.x/2.x: last_hidden_state, or with clip_skip k
 * final_layer_norm(hidden_states[−(k+1)]). SDXL: hidden_states[−2], or with clip_skip k hidden_states[−(k+2)]
 * ("2" because SDXL always indexes from the penultimate layer), without the norm. hidden_states[0] is the
 * embedding output, so an export with L layers has L + 1 of them.
 */
export function hiddenLayerFor(session: ModelSession, layer: 'last' | 'penultimate', clipSkip: number | undefined): HiddenLayer {
  if (layer === 'last' && clipSkip === undefined) return { output: 'last_hidden_state', normalize: false };
  const hs = hiddenStateOutputs(session);
  const fromEnd = (layer === 'last' ? 1 : 2) + (clipSkip ?? 0);
  if (hs.length < fromEnd) {
    if (hs.length === 0) {
      const what = clipSkip !== undefined ? `clip skip ${clipSkip} needs` : 'SDXL needs the penultimate hidden layer, i.e.';
      throw new Error(`${session.path}: ${what} the hidden_states.N outputs, which this export does not have (export the text encoder with its hidden states, as optimum does for SDXL)`);
    }
    throw new Error(`clip skip ${clipSkip}: expected at most ${hs.length - (layer === 'last' ? 1 : 2)} for ${session.path} (${hs.length} hidden states: the embeddings and ${hs.length - 1} layers)`);
  }
  const output = hs[hs.length - fromEnd];
  return layer === 'last' ? { output, normalize: true, lastHidden: hs[hs.length - 1] } : { output, normalize: false };
}

/** final_layer_norm over the feature axis of [B, S, D] hidden states (float64 sums, float32 result). */
export function layerNorm(h: Float32Array, D: number, n: FinalNorm): Float32Array {
  const out = new Float32Array(h.length);
  for (let off = 0; off < h.length; off += D) {
    let mean = 0;
    for (let d = 0; d < D; d++) mean += h[off + d];
    mean /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (h[off + d] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / D + n.eps);
    for (let d = 0; d < D; d++) out[off + d] = (h[off + d] - mean) * inv * n.weight[d] + n.bias[d];
  }
  return out;
}

/**
 * The norm read from the export must turn the last hidden state into last_hidden_state, or it is not CLIP's
 * final_layer_norm (another name, another epsilon, an export that fused it away): refuse rather than guess.
 */
export function checkFinalNorm(last: FloatOutput, lastHiddenState: FloatOutput, n: FinalNorm, path: string): void {
  const D = n.weight.length;
  const mine = layerNorm(last.data, D, n);
  let worst = 0;
  for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i] - lastHiddenState.data[i]) / Math.max(1, Math.abs(lastHiddenState.data[i])));
  if (!(worst <= 1e-3)) {
    throw new Error(`${path}: the final_layer_norm read from the export does not reproduce last_hidden_state (relative difference ${worst.toPrecision(3)}), so clip skip cannot apply it`);
  }
}
