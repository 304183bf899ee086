import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toRgb8 } from '../src/models/sd/vae.js';

test('vae: pixels round as diffusers does ((x·0.5 + 0.5).clamp(0, 1) in float32, then numpy (v·255).round())', () => {
  // Inputs are float32 values; the expected bytes were computed with numpy 2.4 in float32 exactly as diffusers'
  // VaeImageProcessor.denormalize + numpy_to_pil do. The first six are values whose float32 product is exactly
  // k + ½ (rounded to even) while the same formula in float64 lands just below or above it.
  const x = [0.21960783004760742, 0.0627450942993164, 0.5333333015441895, -0.2588235139846802, -0.4784313440322876, 0.34509801864624023, -1.5, -1.0, 0.0, 0.003921568859368563, 0.9990000128746033, 2.0];
  const want = [156, 136, 196, 94, 66, 172, 0, 0, 128, 128, 255, 255];
  // one pixel per value, all three channels equal
  const n = x.length;
  const planar = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) planar.set(x, c * n);
  const rgb = toRgb8(planar, 1, n);
  assert.deepEqual(Array.from({ length: n }, (_, i) => rgb[i * 3]), want);
  assert.deepEqual(Array.from({ length: n }, (_, i) => rgb[i * 3 + 2]), want);
});
