/* Pure image tiling (no Node): the CLI writes these grids as PNG, the web page draws them on a canvas. */

/** A grey image, one byte per pixel. */
export interface GreyImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

export interface GridOptions {
  readonly cols: number;
  /** Pixels between tiles. */
  readonly pad?: number;
  /** Grey level of the padding (0..255). */
  readonly padValue?: number;
}

/**
 * Tiles `count` single-channel images of h × w (values in [−1, 1], the models' space) into one grey image,
 * row by row. Values outside [−1, 1] are clipped for display only; a non-finite value is an error because
 * it means the sampler diverged.
 */
export function imageGrid(images: Float32Array, count: number, height: number, width: number, opts: GridOptions): GreyImage {
  if (images.length !== count * height * width) {
    throw new Error(`image grid: ${images.length} values are not ${count} images of ${height} × ${width}`);
  }
  const cols = Math.max(1, Math.min(opts.cols, count));
  if (!Number.isInteger(cols)) throw new Error(`image grid: cols = ${opts.cols} must be an integer`);
  const rows = Math.max(1, Math.ceil(count / cols));
  const pad = opts.pad ?? 2;
  const gridW = cols * width + (cols + 1) * pad;
  const gridH = rows * height + (rows + 1) * pad;
  const pixels = new Uint8Array(gridW * gridH).fill(opts.padValue ?? 128);
  for (let n = 0; n < count; n++) {
    const top = pad + Math.floor(n / cols) * (height + pad);
    const left = pad + (n % cols) * (width + pad);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = images[(n * height + y) * width + x];
        if (!Number.isFinite(v)) throw new Error(`image grid: non-finite value ${v} in image ${n} at (${y}, ${x})`);
        pixels[(top + y) * gridW + left + x] = toByte(v);
      }
    }
  }
  return { width: gridW, height: gridH, pixels };
}

/** [−1, 1] → 0..255, the inverse of the loaders' byte/127.5 − 1, rounded to nearest. */
export function toByte(v: number): number {
  return Math.round((Math.min(1, Math.max(-1, v)) + 1) * 127.5);
}
