import gifenc from 'gifenc';
import { imageGrid } from '../mnist/grid.js';

/** 256 greys: a frame's bytes are its palette indices, so no quantisation touches the pixels. */
const GREYS = Array.from({ length: 256 }, (_, i) => [i, i, i]);

/**
 * An animated GIF (looping) of `count` clips tiled in a grid, one GIF frame per clip frame.
 * clips: [count, 1, F, side, side] in [−1, 1]; `scale` enlarges each pixel for viewing.
 */
export function clipGridGif(clips: Float32Array, count: number, frames: number, side: number, cols: number, scale = 3, delayMs = 150): Uint8Array {
  const per = frames * side * side;
  if (clips.length < count * per) throw new Error(`clip GIF: ${clips.length} values are fewer than ${count} clips of ${frames}×${side}×${side}`);
  const enc = gifenc.GIFEncoder();
  const frame = new Float32Array(count * side * side);
  for (let t = 0; t < frames; t++) {
    for (let c = 0; c < count; c++) frame.set(clips.subarray(c * per + t * side * side, c * per + (t + 1) * side * side), c * side * side);
    const grid = imageGrid(frame, count, side, side, { cols, pad: 1, padValue: 128 });
    const w = grid.width * scale;
    const h = grid.height * scale;
    const big = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) big[y * w + x] = grid.pixels[Math.floor(y / scale) * grid.width + Math.floor(x / scale)];
    enc.writeFrame(big, w, h, { palette: GREYS, delay: delayMs, ...(t === 0 ? { repeat: 0 } : {}) });
  }
  enc.finish();
  return enc.bytes();
}
