import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import { GraphBuilder, writeTinySdFolder } from './helpers/onnx-graphs.js';

/*
 * Every model call's output shape is checked against the one the pipeline needs, and a wrong one is refused
 * with the model file and both shapes. Each broken graph below keeps the right number of values or a
 * plausible layout, so a check that looked only at the element count (or not at all) would go on with it.
 */
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-shapes-'));
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});
let n = 0;
const sd1 = (vae?: Record<string, unknown>) => writeTinySdFolder(join(tmp, `m${n++}`), { family: 'sd1', vae }).dir;
const opts = (model: string, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({ model, prompt: 'a cat', width: 32, height: 16, steps: 1, guidance: 1, ...extra });

/** Replaces a component of a folder (a symlink to a fixture in the tiny folders) by a graph. */
function replace(dir: string, rel: string, g: GraphBuilder): string {
  const path = join(dir, rel);
  rmSync(path, { force: true });
  g.write(path);
  return path;
}

test('shapes: a UNet whose out_sample has height and width swapped (same element count) is refused', async () => {
  const dir = sd1();
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  g.input('timestep', 'int64', ['batch']);
  g.input('encoder_hidden_states', 'float32', ['batch', 'sequence', 32]);
  g.op('Transpose', [sample], { perm: [0, 1, 3, 2] }, 'out_sample');
  g.output('out_sample', 'float32', ['batch', 4, 'width', 'height']);
  const path = replace(dir, 'unet/model.onnx', g);
  await assert.rejects(generate(opts(dir)), (err: Error) => {
    assert.equal(err.message, `${path}: output 'out_sample' has shape [1, 4, 16, 8], expected [1, 4, 8, 16]`);
    return true;
  });
});

test('shapes: a text encoder whose last_hidden_state has 76 positions instead of 77 is refused', async () => {
  const dir = sd1();
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int32', ['batch', 'sequence']);
  const emb = g.op('Gather', [g.floats([50000, 32], new Float32Array(50000 * 32).fill(0.01)), ids], { axis: 0 });
  g.op('Slice', [emb, g.int64s([0]), g.int64s([76]), g.int64s([1])], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch', 'sequence', 32]);
  const path = replace(dir, 'text_encoder/model.onnx', g);
  await assert.rejects(generate(opts(dir)), (err: Error) => {
    assert.equal(err.message, `${path}: output 'last_hidden_state' has shape [1, 76, 32], expected [1, 77, *]`);
    return true;
  });
});

/** A VAE decoder that keeps three latent channels and tiles them (rows × cols): 1×1 = factor 1 etc. */
function tilingVae(dir: string, rows: number, cols: number): string {
  const g = new GraphBuilder();
  const z = g.input('latent_sample', 'float32', [1, 4, 'h', 'w']);
  const rgb = g.op('Slice', [z, g.int64s([0]), g.int64s([3]), g.int64s([1])]);
  g.op('Tile', [rgb, g.int64s([1, 1, rows, cols])], {}, 'sample');
  g.output('sample', 'float32', [1, 3, 'H', 'W']);
  return replace(dir, 'vae_decoder/model.onnx', g);
}

test('shapes: a VAE decoder that scales width and height differently is refused, also without a configured factor', async () => {
  // no block_out_channels: the factor is measured (2 from the height) and the width must follow it
  const dir = sd1({ block_out_channels: undefined });
  const path = tilingVae(dir, 2, 3);
  await assert.rejects(generate(opts(dir)), (err: Error) => {
    assert.match(err.message, new RegExp(`^${path}: output 'sample' has shape \\[1, 3, 16, 24\\], expected \\[1, 3, 16, 16\\]$`));
    return true;
  });
});

test('shapes: a VAE decoder whose output contradicts the configured factor is refused with both shapes', async () => {
  const dir = sd1(); // block_out_channels [32, 64]: factor 2
  const path = tilingVae(dir, 1, 1);
  // size 32×16 is a multiple of 8 × 2, so the pipeline decodes a 16×8 latent and expects a 32×16 image
  await assert.rejects(generate(opts(dir)), (err: Error) => {
    assert.equal(err.message, `${path}: output 'sample' has shape [1, 3, 8, 16], expected [1, 3, 16, 32]`);
    return true;
  });
});
