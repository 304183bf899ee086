/** A batch of latents, row-major [B, ...] in one buffer, as every backend hands it over. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`shape ${JSON.stringify(shape)}: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

export function tensor(data: Float32Array, shape: readonly number[]): Tensor {
  if (data.length !== sizeOf(shape)) {
    throw new Error(`tensor: ${data.length} values do not fill shape [${shape.join(', ')}]`);
  }
  return { data, shape };
}

/** Same shape, other values: the common case in a sampler. */
export function like(x: Tensor, data: Float32Array): Tensor {
  return tensor(data, x.shape);
}

/** A non-finite latent is a bug upstream (a diverged model, a bad schedule): fail loudly, never emit a grey image. */
export function assertFinite(data: Float32Array, what: string): void {
  // NaN and ±Inf survive a sum, so one cheap pass decides; the index is searched only on failure
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  if (Number.isFinite(sum)) return;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new Error(`${what}: non-finite value ${data[i]} at index ${i}`);
  }
  throw new Error(`${what}: values overflow to a non-finite sum`);
}
