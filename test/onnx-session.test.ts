import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSession, releaseAllSessions, type OnnxSession } from '../src/models/onnx/session.js';
import { checkProvider, parseProvider, providerAvailable } from '../src/models/onnx/providers.js';
import { float32ToFloat16Bits } from '../src/models/onnx/float16.js';
import { FIXTURES, GraphBuilder, referenceUnet, writeTestUnet, type TestUnetSpec } from './helpers/onnx-graphs.js';

const TINY = `${FIXTURES}/tiny-sd-export`;
const dir = mkdtempSync(join(tmpdir(), 'w2sd-onnx-'));
after(async () => {
  await releaseAllSessions();
  rmSync(dir, { recursive: true, force: true });
});

const base: TestUnetSpec = { timestep: 'int64', io: 'float32', channels: 4, sequence: 77, hidden: 8, seed: 3 };
const variants: Record<string, TestUnetSpec> = {
  'int64 [B] timestep (optimum ≤ 1.23)': base,
  'float32 scalar timestep (optimum ≥ 1.24)': { ...base, timestep: 'float32-scalar' },
  'fp16 IO with float16 timestep': { ...base, io: 'float16', timestep: 'float16' },
  'SDXL extras': { ...base, hidden: 12, sdxl: { textEmbeds: 5, timeIds: 6 } },
};

function inputs(spec: TestUnetSpec, B: number) {
  const dims = [B, spec.channels, 3, 5];
  const sample = Float32Array.from({ length: B * spec.channels * 15 }, (_, i) => Math.cos(i * 0.37));
  const ehs = Float32Array.from({ length: B * spec.sequence * spec.hidden }, (_, i) => Math.sin(i * 0.011) * (1 + (i % 7)));
  const textEmbeds = spec.sdxl ? Float32Array.from({ length: B * spec.sdxl.textEmbeds }, (_, i) => i - 2) : undefined;
  const timeIds = spec.sdxl ? Float32Array.from({ length: B * spec.sdxl.timeIds }, (_, i) => 64 * (i % 3)) : undefined;
  return { dims, sample, ehs, textEmbeds, timeIds };
}

async function runUnet(session: OnnxSession, spec: TestUnetSpec, B: number, timesteps: number[]) {
  const x = inputs(spec, B);
  const feeds: Record<string, { data: Float32Array | Int32Array; dims: number[] }> = {
    sample: { data: x.sample, dims: x.dims },
    timestep: { data: Float32Array.from(timesteps), dims: [B] },
    encoder_hidden_states: { data: x.ehs, dims: [B, spec.sequence, spec.hidden] },
  };
  if (spec.sdxl) {
    feeds.text_embeds = { data: x.textEmbeds!, dims: [B, spec.sdxl.textEmbeds] };
    feeds.time_ids = { data: x.timeIds!, dims: [B, spec.sdxl.timeIds] };
  }
  const out = await session.run(feeds);
  const textEmbeds = x.textEmbeds;
  const timeIds = x.timeIds;
  const expected = referenceUnet(spec)(x.sample, x.dims, timesteps, x.ehs, textEmbeds && timeIds ? { textEmbeds, timeIds } : undefined);
  return { out: out.out_sample, expected };
}

for (const [name, spec] of Object.entries(variants)) {
  test(`session: test UNet with ${name} declares optimum's signature and computes its formula`, async () => {
    const path = join(dir, `unet-${name.replace(/\W+/g, '_')}.onnx`);
    writeTestUnet(path, spec);
    const s = await openSession(path);
    const names = s.inputs.map((i) => i.name);
    assert.deepEqual(names, ['sample', 'timestep', 'encoder_hidden_states', ...(spec.sdxl ? ['text_embeds', 'time_ids'] : [])]);
    const ts = s.input('timestep');
    assert.equal(ts.dtype, spec.timestep === 'int64' ? 'int64' : spec.timestep === 'float16' ? 'float16' : 'float32');
    assert.equal(ts.dims.length, spec.timestep === 'float32-scalar' ? 0 : 1);
    assert.equal(s.input('sample').dtype, spec.io);
    assert.equal(s.output('out_sample').dtype, spec.io);

    const B = 2;
    const timesteps = spec.timestep === 'float32-scalar' ? [741, 741] : [741, 321];
    const { out, expected } = await runUnet(s, spec, B, timesteps);
    assert.deepEqual([...out.dims], [B, 4, 3, 5]);
    const tol = spec.io === 'float16' ? 2e-2 : 1e-4;
    for (let i = 0; i < expected.length; i++) {
      assert.ok(Math.abs(out.data[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${i}: ${out.data[i]} vs ${expected[i]}`);
    }
  });
}

test('session: a scalar timestep refuses a batch of different timesteps, and shapes are checked against the declaration', async () => {
  const spec = variants['float32 scalar timestep (optimum ≥ 1.24)'];
  const path = join(dir, 'scalar.onnx');
  writeTestUnet(path, spec);
  const s = await openSession(path);
  await assert.rejects(runUnet(s, spec, 2, [10, 20]), /timestep.*scalar.*one value/);
  const x = inputs(spec, 1);
  await assert.rejects(
    s.run({ sample: { data: x.sample, dims: x.dims }, timestep: { data: Float32Array.of(1), dims: [1] }, encoder_hidden_states: { data: x.ehs.subarray(0, 77 * 4), dims: [1, 77, 4] } }),
    /encoder_hidden_states.*expects \[batch, sequence, 8\].*axis 2/,
  );
  await assert.rejects(s.run({ sample: { data: x.sample, dims: x.dims } }), /input 'timestep' was not provided/);
});

test('session: a model is loaded once per resolved path and runtime options', async () => {
  const path = join(dir, 'shared.onnx');
  writeTestUnet(path, base);
  const link = join(dir, 'shared-link.onnx');
  symlinkSync(path, link);
  const a = await openSession(path);
  const b = await openSession(join(dir, '.', 'shared.onnx'));
  const c = await openSession(link);
  const d = await openSession(path, { threads: 1 });
  assert.equal(a, b);
  assert.equal(a, c);
  assert.notEqual(a, d);
});

test('session: external weights (model.onnx_data, legacy weights.pb) load from the model path', async () => {
  for (const file of ['model.onnx_data', 'weights.pb'] as const) {
    const sub = join(dir, file.replace('.', '_'));
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(sub);
    const spec: TestUnetSpec = { ...base, external: file };
    writeTestUnet(join(sub, 'model.onnx'), spec);
    const s = await openSession(join(sub, 'model.onnx'));
    const { out, expected } = await runUnet(s, spec, 1, [500]);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(out.data[i] - expected[i]) < 1e-4);
  }
  const missing = join(dir, 'missing-data');
  mkdirSync(missing);
  writeTestUnet(join(missing, 'model.onnx'), { ...base, seed: 9, external: 'model.onnx_data' });
  unlinkSync(join(missing, 'model.onnx_data'));
  await assert.rejects(openSession(join(missing, 'model.onnx')), /cannot load ONNX model .*model\.onnx/);
});

test('session: missing and corrupt files fail with the path in the message', async () => {
  await assert.rejects(openSession(join(dir, 'nope.onnx')), /ONNX model not found: .*nope\.onnx/);
  const bad = join(dir, 'corrupt.onnx');
  writeFileSync(bad, Buffer.from('this is not a protobuf'));
  await assert.rejects(openSession(bad), /cannot load ONNX model .*corrupt\.onnx/);
  const truncated = join(dir, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(`${TINY}/text_encoder.onnx`).subarray(0, 5000));
  await assert.rejects(openSession(truncated), /cannot load ONNX model .*truncated\.onnx/);
});

test('session: the real tiny text encoder takes int32 ids; int64-id models get int64', async () => {
  const s = await openSession(`${TINY}/text_encoder.onnx`);
  assert.equal(s.input('input_ids').dtype, 'int32');
  const ids = Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 0 : i < 5 ? 10 + i : 1));
  const out = await s.run({ input_ids: { data: ids, dims: [1, 77] } }, ['last_hidden_state']);
  assert.deepEqual([...out.last_hidden_state.dims], [1, 77, 32]);
  // A non-integer id is a pipeline bug, not something to round silently.
  await assert.rejects(s.run({ input_ids: { data: Float32Array.from(ids, (v) => v + 0.5), dims: [1, 77] } }), /integer input/);
});

test('float16 codec agrees with ONNX Runtime’s own float32→float16 Cast', async () => {
  const g = new GraphBuilder();
  g.input('x', 'float32', ['n']);
  g.op('Cast', ['x'], { to: 10 }, 'y');
  g.output('y', 'float16', ['n']);
  const path = join(dir, 'cast.onnx');
  g.write(path);
  const s = await openSession(path);
  const values = Float32Array.from({ length: 4000 }, (_, i) => Math.sinh((i - 2000) / 180) * (i % 2 ? 1 : 1e-3));
  // Read raw bits back: ORT's output through the float32 decoder must match our own encoding.
  const out = await s.run({ x: { data: values, dims: [values.length] } });
  for (let i = 0; i < values.length; i++) {
    const ours = float32ToFloat16Bits(values[i]);
    assert.equal(float32ToFloat16Bits(out.y.data[i]), ours, `value ${values[i]}`);
  }
});

test('providers: names are checked, unavailable providers fail with a clear message', () => {
  assert.equal(parseProvider('CUDA'), 'cuda');
  assert.throws(() => parseProvider('tpu'), /execution provider 'tpu': expected one of cpu, cuda, tensorrt, webgpu, coreml, dml/);
  checkProvider('cpu');
  if (process.platform === 'linux') {
    assert.throws(() => checkProvider('coreml'), /'coreml' is not available in onnxruntime-node on linux/);
    assert.throws(() => checkProvider('dml'), /'dml' is not available/);
  }
  if (!providerAvailable('cuda')) {
    assert.throws(() => checkProvider('cuda'), /'cuda' is not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  }
});
