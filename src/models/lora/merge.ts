import type { LoraComponent } from './keys.js';
import type { SafetensorsFile } from './safetensors.js';
import type { LoraMatch, MatchedModule } from './match.js';
import { encodeFloats, type OnnxWeights, type WeightTarget } from './onnx-weights.js';

/**
 * up·down for one module, as the module's [out, in·kh·kw] matrix, times `factor` (scale · alpha / rank).
 * Float64 accumulation, one rounding to float32 per element.
 */
export function loraDelta(file: SafetensorsFile, m: MatchedModule, factor: number): Float32Array {
  const up = file.read(m.module.up.name);
  const down = file.read(m.module.down.name);
  const r = m.module.rank;
  const out = m.module.up.shape[0];
  const inner = down.length / r;
  const delta = new Float32Array(out * inner);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += up[o * r + k] * down[k * inner + i];
      delta[o * inner + i] = acc * factor;
    }
  }
  for (let i = 0; i < delta.length; i++) {
    if (!Number.isFinite(delta[i])) throw new Error(`${m.module.key}: the LoRA delta is not finite (NaN or Inf in its factors or alpha)`);
  }
  return delta;
}

/**
 * Patched bytes of every targeted initializer of one component: W + Σ scale·(alpha/rank)·up·down over the
 * LoRAs given, transposed where the initializer stores Wᵀ. Computed in float32; a float16 initializer is
 * widened exactly, summed in float32 and rounded once back to float16. Nothing is written to the model.
 */
export function mergedInitializers(weights: OnnxWeights, component: LoraComponent, loras: readonly { match: LoraMatch; scale: number }[]): Map<string, Uint8Array> {
  const sums = new Map<string, { target: WeightTarget; values: Float32Array }>();
  for (const { match, scale } of loras) {
    if (!Number.isFinite(scale)) throw new Error(`LoRA scale for ${match.lora.path}: expected a finite number, got ${scale}`);
    for (const m of match.byComponent.get(component) ?? []) {
      if (scale === 0) continue;
      const delta = loraDelta(match.lora.file, m, scale * m.module.alphaOverRank);
      for (const t of m.targets) {
        let s = sums.get(t.initializer);
        if (!s) {
          s = { target: t, values: weights.readFloats(t.initializer) };
          sums.set(t.initializer, s);
        }
        addInto(s.values, delta, t);
      }
    }
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, s] of sums) {
    for (let i = 0; i < s.values.length; i++) {
      if (!Number.isFinite(s.values[i])) throw new Error(`${weights.path}: ${name} is not finite after the merge`);
    }
    out.set(name, encodeFloats(s.values, s.target.dtype));
  }
  return out;
}

function addInto(w: Float32Array, delta: Float32Array, t: WeightTarget): void {
  const [out, ...rest] = t.shape;
  const inner = rest.reduce((a, d) => a * d, 1);
  if (w.length !== out * inner || delta.length !== w.length) throw new Error(`internal: ${t.initializer} has ${w.length} values, delta ${delta.length}`);
  if (!t.transposed) {
    for (let i = 0; i < w.length; i++) w[i] = Math.fround(w[i] + delta[i]);
    return;
  }
  // stored [in, out]: element (o, i) of the module's weight lives at i·out + o
  for (let o = 0; o < out; o++) for (let i = 0; i < inner; i++) w[i * out + o] = Math.fround(w[i * out + o] + delta[o * inner + i]);
}
