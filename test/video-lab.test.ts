import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageSet } from '../src/data/dataset.js';
import { bounce, CLIP_FRAMES, CLIP_SIDE, movingMnist } from '../src/lab/video/clips.js';
import { centreOfMass, classifierFrame } from '../src/lab/video/frames.js';
import { clipMetrics, type ClipFeatures } from '../src/lab/video/metrics.js';
import { clipGridGif } from '../src/lab/video/gif.js';
import { featureStats } from '../src/eval/linalg.js';
import { registerLab } from '../src/cli/lab.js';
import { runCommand } from './helpers/cli.js';

test('bounce reflects at both ends (hand-traced)', () => {
  assert.deepEqual(bounce(4, 2, 8, 6), [4, 6, 4, 2, 0, 2, 4, 6]);
  assert.deepEqual(bounce(1, -1, 5, 6), [1, 0, 1, 2, 3]);
});

test('moving-MNIST clips: the 2×2-averaged digit box moves rigidly between frames', () => {
  // one 28×28 "digit": a single bright 2×2 block at rows/cols 14–15 of the 20×20 box's source
  const pixels = new Uint8Array(784);
  for (const y of [14, 15]) for (const x of [14, 15]) pixels[y * 28 + x] = 255;
  const set: ImageSet = { name: 'one', count: 1, height: 28, width: 28, pixels, labels: Uint8Array.of(5), classes: 10 };
  const { clips, labels } = movingMnist(set, 3, 9);
  assert.deepEqual([...labels], [5, 5, 5]);
  const per = CLIP_SIDE * CLIP_SIDE;
  for (let c = 0; c < 3; c++) {
    const where: number[][] = [];
    for (let f = 0; f < CLIP_FRAMES; f++) {
      const frame = clips.subarray((c * CLIP_FRAMES + f) * per, (c * CLIP_FRAMES + f + 1) * per);
      const lit = [...frame.keys()].filter((i) => frame[i] > 0.99);
      assert.equal(lit.length, 1, 'the 2×2 block averages to exactly one white pixel');
      where.push([Math.floor(lit[0] / CLIP_SIDE), lit[0] % CLIP_SIDE]);
      // everything else is background or the block's neighbours (none here)
      assert.equal(frame.filter((v) => v > -1).length, 1);
    }
    // source pixel (14, 14) sits at box offset (10, 10) → (5, 5) after halving, plus the clip's offset in 0..6
    for (const [y, x] of where) assert.ok(y >= 5 && y <= 11 && x >= 5 && x <= 11);
    for (let f = 1; f < CLIP_FRAMES; f++) assert.ok([1, 2].includes(Math.abs(where[f][0] - where[f - 1][0])));
  }
});

test('classifier frames: centre of mass, then a 28×28 window centred on the doubled digit', () => {
  const frame = new Float32Array(256).fill(-1);
  frame[3 * 16 + 10] = 1; // one white pixel at (3, 10)
  assert.deepEqual(centreOfMass(frame, 0, 16), { y: 3, x: 10 });
  const out = new Float32Array(784);
  classifierFrame(frame, 0, 16, out, 0);
  // doubled: rows 6–7, cols 20–21; centre 7, 21 → window top-left (−7, 7): white lands at rows 13–14, cols 13–14
  const lit = [...out.keys()].filter((i) => out[i] === 1).map((i) => [Math.floor(i / 28), i % 28]);
  assert.deepEqual(lit, [[13, 13], [13, 14], [14, 13], [14, 14]]);
  assert.equal(out.filter((v) => v === -1).length, 780);
});

test('clip metrics: accuracy, identity, speed and jerk from known predictions and trajectories', () => {
  const frames = 4;
  // clip 0: class 2 in every frame, moves (0,1) per frame; clip 1: 3,3,8,3 (identity broken), moves 0,2,0 px
  const predicted = Int32Array.of(2, 2, 2, 2, 3, 3, 8, 3);
  const centres = [
    ...[0, 1, 2, 3].map((t) => ({ y: 5, x: 2 + t })),
    { y: 4, x: 4 }, { y: 4, x: 4 }, { y: 6, x: 4 }, { y: 6, x: 4 },
  ];
  const features = Float32Array.from({ length: 8 * 2 }, (_, i) => Math.sin(i));
  const f: ClipFeatures = { features, predicted, centres };
  const m = clipMetrics(f, Int32Array.of(2, 3), { frames, side: 16 }, 2, featureStats(features, 2));
  assert.equal(m.frameAccuracy, 7 / 8);
  assert.equal(m.identityKept, 0.5);
  assert.equal(m.allFramesCorrect, 0.5);
  assert.ok(Math.abs(m.speed - (3 + 2) / 6) < 1e-12);
  // second differences: clip 0 all 0; clip 1: (2−0) − 0 = 2, then 0 − 2 → |−2| = 2
  assert.ok(Math.abs(m.jerk - 4 / 4) < 1e-12);
  assert.ok(Math.abs(m.frameFd) < 1e-9, 'same features as the reference: FD 0');
});

test('clip GIF: a looping GIF89a of the grid, one image per frame', () => {
  const clips = new Float32Array(2 * 3 * 4 * 4).map((_, i) => (i % 7) / 3 - 1);
  const gif = clipGridGif(clips, 2, 3, 4, 2, 2, 100);
  assert.equal(Buffer.from(gif.subarray(0, 6)).toString('latin1'), 'GIF89a');
  // logical screen: grid of 2 tiles of 4 px with 1 px padding = 11 × 6, scaled ×2
  assert.equal(gif[6] | (gif[7] << 8), 22);
  assert.equal(gif[8] | (gif[9] << 8), 12);
  assert.ok(Buffer.from(gif).includes(Buffer.from('NETSCAPE2.0', 'latin1')), 'loops');
  assert.equal(gif[gif.length - 1], 0x3b);
});

test('w2sd lab video: every row on the shipped clip models, results and one GIF per row written together; bad options first', async () => {
  const out = await mkdtemp(join(tmpdir(), 'w2sd-video-'));
  const json = JSON.parse(await runCommand(registerLab, ['lab', 'video', '--samples', '4', '--batch', '4', '--steps', '3', '--autoguidance', '2', '--fixed-point-iters', '2', '--json', '--out', out]));
  const ids = json.rows.map((r: { id: string }) => r.id);
  for (const id of ['real', 'weak', 'strong', 'w2sd-ddim', 'w2sd-fixed-point', 's2wd', 'self-ddim', 'self-fixed-point', 'w2sd-equal-compute', 'autoguidance-w2']) assert.ok(ids.includes(id), id);
  const real = json.rows.find((r: { id: string }) => r.id === 'real');
  assert.equal(real.metrics.frameAccuracy, 1, 'real clips are read correctly by the classifier');
  assert.equal(json.rows.find((r: { id: string }) => r.id === 'w2sd-ddim').nfe, 3 + 2 * 2);
  const files = (await readdir(join(out, 'video'))).sort();
  assert.equal(files.filter((f) => f.endsWith('.gif')).length, ids.length);
  assert.match(await readFile(join(out, 'video', 'results.md'), 'utf8'), /\| W2SD \(ddim inversion\) \| 7 \|/);
  const empty = await mkdtemp(join(tmpdir(), 'w2sd-video-'));
  await assert.rejects(runCommand(registerLab, ['lab', 'video', '--samples', '0', '--out', empty]), /--samples: expected an integer from 1 to/);
  await assert.rejects(runCommand(registerLab, ['lab', 'video', '--results', join(empty, 'R.md'), '--out', empty]), /--results: only for the MNIST experiments/);
  assert.deepEqual(await readdir(empty), []);
});

test('w2sd lab moe: the routed pair through the MNIST runner (FD, accuracy, precision/recall, paired differences)', async () => {
  const out = await mkdtemp(join(tmpdir(), 'w2sd-moe-'));
  const json = JSON.parse(await runCommand(registerLab, ['lab', 'moe', '--samples', '10', '--batch', '10', '--steps', '3', '--rows', 'weak,w2sd-ddim', '--cosine-samples', '0', '--pr-samples', '10', '--bootstrap', '0', '--json', '--out', out]));
  assert.equal(json.name, 'moe');
  assert.deepEqual(json.rows.map((r: { id: string }) => r.id), ['mnist-train', 'strong', 'weak', 'w2sd-ddim']);
  const w2sd = json.rows.find((r: { id: string }) => r.id === 'w2sd-ddim');
  assert.equal(w2sd.nfe, 3 + 2 * 2);
  for (const k of ['frechet', 'precision', 'recall', 'accuracy']) assert.ok(Number.isFinite(w2sd.metrics[k]), k);
  assert.ok(w2sd.vsStrong.frechet);
  assert.ok((await readdir(join(out, 'moe'))).includes('results.md'));
});
