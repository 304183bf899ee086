"""Moving-MNIST clips made from the repository's MNIST arrays (training/data.py).

One digit per clip: the central 20×20 box of an MNIST image (where MNIST puts every digit), averaged
over 2×2 blocks to 10×10, on a side×side canvas of background -1, starting at a random offset and moving a constant whole number of
pixels per frame along each axis, bouncing off the borders. Class label = the digit's label, so the
lab can ask for a digit and check that it stays that digit in every frame.

The TypeScript lab (src/lab/video/clips.ts) builds the same clips for its real-data reference row; both
follow this rule, the random draws differ.
"""
import numpy as np

BOX = 20            # MNIST digits live in the central 20x20 box of the 28x28 field
CROP = (28 - BOX) // 2
DIGIT = BOX // 2    # drawn at half size (2x2 average pooling): 10x10 on a 16x16 canvas
SPEEDS = (-2, -1, 1, 2)


def bounce(start, velocity, frames, span):
    """Positions 0..span visited by a point moving `velocity` px/frame and reflecting at both ends."""
    out = np.empty(frames, np.int64)
    p, v = start, velocity
    for f in range(frames):
        out[f] = p
        nxt = p + v
        if nxt < 0 or nxt > span:
            v = -v
            nxt = p + v
        p = nxt
    return out


def make_clips(images_uint8, labels, count, rng, frames=8, side=16):
    """count clips [count, 1, frames, side, side] in [-1, 1] (float32) and their labels [count] (int64)."""
    span = side - DIGIT
    pick = rng.integers(0, len(images_uint8), count)
    box = images_uint8[pick, CROP:CROP + BOX, CROP:CROP + BOX].astype(np.float32) / 127.5 - 1.0
    digits = box.reshape(count, DIGIT, 2, DIGIT, 2).mean(axis=(2, 4))
    clips = np.full((count, 1, frames, side, side), -1.0, np.float32)
    starts = rng.integers(0, span + 1, (count, 2))
    velocities = rng.choice(SPEEDS, (count, 2))
    for i in range(count):
        ys = bounce(starts[i, 0], velocities[i, 0], frames, span)
        xs = bounce(starts[i, 1], velocities[i, 1], frames, span)
        for f in range(frames):
            clips[i, 0, f, ys[f]:ys[f] + DIGIT, xs[f]:xs[f] + DIGIT] = digits[i]
    return clips, labels[pick].astype(np.int64)
