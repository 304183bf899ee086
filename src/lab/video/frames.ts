/**
 * Frames of a clip as inputs of the 28×28 MNIST classifier: the 16×16 frame is doubled (nearest
 * neighbour, undoing the clips' 2×2 averaging in size) and a 28×28 window is cut around its centre of
 * mass, as MNIST centres its digits; outside the frame is background (−1). The centre of mass also gives
 * the digit's trajectory for the motion metrics.
 */
export const CLASSIFIER_SIDE = 28;

export interface FrameCentre {
  /** Centre of mass in frame pixels (row, column); the frame centre when the frame is blank. */
  readonly y: number;
  readonly x: number;
}

/** Centre of mass of a side×side frame in [−1, 1], weights (v + 1)/2 clipped to [0, 1]. */
export function centreOfMass(frame: Float32Array, offset: number, side: number): FrameCentre {
  let w = 0;
  let sy = 0;
  let sx = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = Math.min(1, Math.max(0, (frame[offset + y * side + x] + 1) / 2));
      w += v;
      sy += v * y;
      sx += v * x;
    }
  }
  return w > 1e-6 ? { y: sy / w, x: sx / w } : { y: (side - 1) / 2, x: (side - 1) / 2 };
}

/** Writes the classifier input of one frame at out[outOffset…+784]; returns the frame's centre of mass. */
export function classifierFrame(frame: Float32Array, offset: number, side: number, out: Float32Array, outOffset: number): FrameCentre {
  const c = centreOfMass(frame, offset, side);
  const big = 2 * side;
  // centre of mass of the doubled frame is 2c + ½; MNIST's sits near (13.5, 13.5) of its 28×28 field
  const top = Math.round(2 * c.y + 0.5 - 13.5);
  const left = Math.round(2 * c.x + 0.5 - 13.5);
  for (let y = 0; y < CLASSIFIER_SIDE; y++) {
    for (let x = 0; x < CLASSIFIER_SIDE; x++) {
      const by = top + y;
      const bx = left + x;
      const inside = by >= 0 && by < big && bx >= 0 && bx < big;
      out[outOffset + y * CLASSIFIER_SIDE + x] = inside ? frame[offset + (by >> 1) * side + (bx >> 1)] : -1;
    }
  }
  return c;
}
