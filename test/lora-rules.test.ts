import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { mergeLoraIntoOnnx, parseLoraSpec } from '../src/models/lora/apply.js';
import { readLoraFile } from '../src/models/lora/keys.js';
import { matchLora } from '../src/models/lora/match.js';
import { OnnxWeights } from '../src/models/lora/onnx-weights.js';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/models/onnx/float16.js';
import { encodeSafetensors, f32Bytes } from './helpers/safetensors.js';
import { LORA_FIXTURES } from './helpers/lora-fixtures.js';

/*
 * The rules real exports need, each on a small hand-built graph whose expected weights are written out here:
 * orientation from the graph (a square MatMul weight is stored Wᵀ), shared initializers patched once, copies
 * all patched, Gemm's transB, Transpose/Cast between weight and node, fp16 rounded once, external data.
 */
const { onnx } = onnxProto;
const dir = mkdtempSync(join(tmpdir(), 'w2sd-lora-rules-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const W3 = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // module weight [out=3, in=3], row-major
const transpose3 = (m: number[]) => [0, 1, 2].flatMap((i) => [0, 1, 2].map((o) => m[o * 3 + i]));
const G23 = [0.5, -1, 2, 1.5, 0.25, -0.75]; // [out=2, in=3]

function tensor(name: string, dims: number[], values: number[], half = false): onnxProto.onnx.ITensorProto {
  const raw = half ? new Uint8Array(Uint16Array.from(values, (v) => float32ToFloat16Bits(v)).buffer) : new Uint8Array(Float32Array.from(values).buffer);
  return { name, dims, dataType: half ? onnx.TensorProto.DataType.FLOAT16 : onnx.TensorProto.DataType.FLOAT, rawData: raw };
}

function node(opType: string, name: string, input: string[], output: string, attrs: Record<string, number | number[]> = {}): onnxProto.onnx.INodeProto {
  const T = onnx.AttributeProto.AttributeType;
  return {
    opType,
    name,
    input,
    output: [output],
    attribute: Object.entries(attrs).map(([k, v]) => (Array.isArray(v) ? { name: k, type: T.INTS, ints: v } : { name: k, type: T.INT, i: v })),
  };
}

/** x [B, 3] through every pattern; y = the sum of all branches. */
function writeRulesModel(path: string, external?: string): void {
  const inits = [
    tensor('onnx::MatMul_1', [3, 3], transpose3(W3)),
    tensor('onnx::MatMul_2', [3, 3], transpose3(W3)),
    tensor('onnx::MatMul_3', [3, 3], transpose3(W3)),
    tensor('onnx::MatMul_4', [3, 3], transpose3(W3)),
    tensor('blk.g.weight', [2, 3], G23),
    tensor('blk.h.weight', [3, 2], [0, 1, 2].flatMap((i) => [0, 1].map((o) => G23[o * 3 + i]))),
    tensor('blk.t.weight', [3, 3], W3),
    tensor('onnx::MatMul_5', [3, 3], transpose3(W3).map((v) => v / 7), true),
  ];
  const nodes = [
    node('MatMul', '/blk/sq/MatMul', ['x', 'onnx::MatMul_1'], 'a'),
    node('MatMul', '/blk/shared/MatMul', ['x', 'onnx::MatMul_2'], 'b1'),
    node('MatMul', '/blk/shared/MatMul_1', ['a', 'onnx::MatMul_2'], 'b2'),
    node('MatMul', '/blk/copy/MatMul', ['x', 'onnx::MatMul_3'], 'c1'),
    node('MatMul', '/blk/copy/MatMul_1', ['x', 'onnx::MatMul_4'], 'c2'),
    node('Gemm', '/blk/g/Gemm', ['x', 'blk.g.weight'], 'g', { transB: 1 }),
    node('Gemm', '/blk/h/Gemm', ['x', 'blk.h.weight'], 'h', { transB: 0 }),
    node('Transpose', '/blk/t/Transpose', ['blk.t.weight'], 'tT', { perm: [1, 0] }),
    node('MatMul', '/blk/t/MatMul', ['x', 'tT'], 't'),
    node('Cast', '/blk/half/Cast', ['onnx::MatMul_5'], 'w5', { to: onnx.TensorProto.DataType.FLOAT }),
    node('MatMul', '/blk/half/MatMul', ['x', 'w5'], 'f'),
    node('Add', 'add1', ['a', 'b1'], 's1'),
    node('Add', 'add2', ['s1', 'b2'], 's2'),
    node('Add', 'add3', ['s2', 'c1'], 's3'),
    node('Add', 'add4', ['s3', 'c2'], 's4'),
    node('Add', 'add5', ['s4', 't'], 's5'),
    node('Add', 'add6', ['s5', 'f'], 'y'),
    node('Add', 'add7', ['g', 'h'], 'z'),
  ];
  let blob = Buffer.alloc(0);
  const initializer = inits.map((t) => {
    if (!external || t.dataType !== onnx.TensorProto.DataType.FLOAT) return t;
    const off = blob.length;
    blob = Buffer.concat([blob, Buffer.from(t.rawData!)]);
    return { name: t.name, dims: t.dims, dataType: t.dataType, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: external }, { key: 'offset', value: String(off) }, { key: 'length', value: String(t.rawData!.length) }] };
  });
  const vi = (name: string, n: number) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'B' }, { dimValue: n }] } } } });
  const model = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'rules', node: nodes, initializer, input: [vi('x', 3)], output: [vi('y', 3), vi('z', 2)] } };
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  if (external) writeFileSync(join(path, '..', external), blob);
}

/** A kohya file: rank-1 factors per module (up [out, 1], down [1, in]) and alpha = 1, so delta = s·up·downᵀ. */
const UP3 = [1, -2, 0.5];
const DOWN3 = [0.25, 1, -1];
const UP2 = [2, -1];
function writeRulesLora(path: string, modules: string[], extra: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {}): void {
  const t: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = { ...extra };
  for (const m of modules) {
    const out = m === 'blk_g' || m === 'blk_h' ? UP2 : UP3;
    t[`lora_unet_${m}.lora_down.weight`] = { dtype: 'F32', shape: [1, 3], bytes: f32Bytes(DOWN3) };
    t[`lora_unet_${m}.lora_up.weight`] = { dtype: 'F32', shape: [out.length, 1], bytes: f32Bytes(out) };
    t[`lora_unet_${m}.alpha`] = { dtype: 'F32', shape: [], bytes: f32Bytes([1]) };
  }
  writeFileSync(path, encodeSafetensors(t));
}

const ALL = ['blk_sq', 'blk_shared', 'blk_copy', 'blk_g', 'blk_h', 'blk_t', 'blk_half'];
const deltaOf = (up: number[], s: number) => up.flatMap((u) => DOWN3.map((d) => s * u * d)); // [out, in]
const add = (a: number[], b: number[]) => a.map((v, i) => Math.fround(v + b[i]));

function initializers(path: string): Map<string, Float32Array> {
  const w = OnnxWeights.load(path);
  return new Map([...w.initializers.keys()].map((n) => [n, w.readFloats(n)]));
}

for (const layout of ['internal', 'external'] as const) {
  test(`lora rules (${layout} weights): orientation from the graph, shared once, copies all, Gemm transB, Transpose, fp16 rounded once`, async () => {
    const sub = mkdtempSync(join(dir, `${layout}-`));
    const model = join(sub, 'model.onnx');
    writeRulesModel(model, layout === 'external' ? 'model.onnx_data' : undefined);
    const lora = join(sub, 'l.safetensors');
    writeRulesLora(lora, ALL);
    const out = join(sub, 'out', 'merged.onnx');
    rmSync(join(sub, 'out'), { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(sub, 'out'));
    const s = -1.5;
    const r = mergeLoraIntoOnnx({ model, loras: [{ path: lora, scale: s }], out, component: 'unet' });
    assert.equal(r.matches[0].report[0].matched, ALL.length);
    assert.equal(r.initializers, 8, 'sq, shared (once), copy ×2, g, h, t, half');
    if (layout === 'external') assert.equal(r.data, join(sub, 'out', 'merged.onnx_data'));
    const got = initializers(out);
    const d3 = deltaOf(UP3, s);
    // MatMul stores Wᵀ: the square weight gets (W + Δ)ᵀ, not W + Δᵀ
    assert.deepEqual([...got.get('onnx::MatMul_1')!], transpose3(add(W3, d3)));
    assert.notDeepEqual(transpose3(add(W3, d3)), add(transpose3(W3), d3));
    // one initializer read by two nodes: patched once
    assert.deepEqual([...got.get('onnx::MatMul_2')!], transpose3(add(W3, d3)));
    // two copies of the module's weight: both patched
    assert.deepEqual([...got.get('onnx::MatMul_3')!], transpose3(add(W3, d3)));
    assert.deepEqual([...got.get('onnx::MatMul_4')!], transpose3(add(W3, d3)));
    const d2 = deltaOf(UP2, s);
    assert.deepEqual([...got.get('blk.g.weight')!], add(G23, d2)); // transB = 1: stored W
    assert.deepEqual([...got.get('blk.h.weight')!], [0, 1, 2].flatMap((i) => [0, 1].map((o) => add(G23, d2)[o * 3 + i]))); // transB = 0: Wᵀ
    assert.deepEqual([...got.get('blk.t.weight')!], add(W3, d3)); // Transpose node: stored W
    // fp16: widened exactly, summed in float32, rounded once
    const half = transpose3(W3).map((v) => float16BitsToFloat32(float32ToFloat16Bits(v / 7)));
    const expected16 = half.map((v, k) => float16BitsToFloat32(float32ToFloat16Bits(Math.fround(v + transpose3(d3)[k]))));
    assert.deepEqual([...got.get('onnx::MatMul_5')!], expected16);
    // the written model loads in plain ONNX Runtime and agrees with the unpatched initializers elsewhere
    const sess = await ort.InferenceSession.create(out);
    const y = await sess.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0, 0]), [1, 3]) });
    assert.equal(y.y.dims[1], 3);
    await sess.release();
    // the input model and its data are untouched
    const again = initializers(model);
    assert.deepEqual([...again.get('onnx::MatMul_1')!], transpose3(W3));
  });
}

test('lora rules: an unmatched key and a misfit delta are errors naming the key, checked before anything is written', () => {
  const model = join(dir, 'err.onnx');
  writeRulesModel(model);
  const lora = join(dir, 'unmatched.safetensors');
  writeRulesLora(lora, ['blk_sq', 'blk_nothing']);
  const out = join(dir, 'err-out.onnx');
  assert.throws(() => mergeLoraIntoOnnx({ model, loras: [{ path: lora, scale: 1 }], out, component: 'unet' }), /lora_unet_blk_nothing matches no unet module/);
  const misfit = join(dir, 'misfit.safetensors');
  writeFileSync(
    misfit,
    encodeSafetensors({
      'lora_unet_blk_sq.lora_down.weight': { dtype: 'F32', shape: [1, 4], bytes: f32Bytes([1, 2, 3, 4]) },
      'lora_unet_blk_sq.lora_up.weight': { dtype: 'F32', shape: [3, 1], bytes: f32Bytes([1, 2, 3]) },
    }),
  );
  assert.throws(() => mergeLoraIntoOnnx({ model, loras: [{ path: misfit, scale: 1 }], out, component: 'unet' }), /lora_unet_blk_sq: LoRA delta \[3, 4\] does not fit unet module blk\.sq \[3, 3\]/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('lora rules: LoHa, LoKr, DoRA and Tucker LoCon are refused by name', () => {
  const cases: [string, RegExp][] = [
    ['lora_unet_blk_sq.hada_w1_a', /LoHa/],
    ['lora_unet_blk_sq.lokr_w1', /LoKr/],
    ['lora_unet_blk_sq.dora_scale', /DoRA/],
    ['unet.blk.sq.lora_magnitude_vector', /DoRA/],
    ['lora_unet_blk_sq.lora_mid.weight', /Tucker/],
    ['something_else.weight', /unrecognised key "something_else\.weight"/],
  ];
  for (const [key, re] of cases) {
    const p = join(dir, 'refused.safetensors');
    writeFileSync(p, encodeSafetensors({ [key]: { dtype: 'F32', shape: [1], bytes: f32Bytes([1]) } }));
    assert.throws(() => readLoraFile(p), (e: Error) => re.test(e.message) && e.message.includes(key), key);
  }
});

test('lora rules: per-module .alpha wins over ss_network_alpha; without either alpha = rank', () => {
  const p = join(dir, 'alpha.safetensors');
  const pair = (r: number) => ({ down: { dtype: 'F32', shape: [r, 3], bytes: f32Bytes(Array(3 * r).fill(1)) }, up: { dtype: 'F32', shape: [3, r], bytes: f32Bytes(Array(3 * r).fill(1)) } });
  const a = pair(4);
  const b = pair(4);
  writeFileSync(
    p,
    encodeSafetensors(
      {
        'lora_unet_a.lora_down.weight': a.down,
        'lora_unet_a.lora_up.weight': a.up,
        'lora_unet_a.alpha': { dtype: 'F32', shape: [], bytes: f32Bytes([2]) },
        'lora_unet_b.lora_down.weight': b.down,
        'lora_unet_b.lora_up.weight': b.up,
      },
      { ss_network_alpha: '8' },
    ),
  );
  const f = readLoraFile(p);
  const by = Object.fromEntries(f.modules.map((m) => [m.path, m]));
  assert.equal(by.a.alphaOverRank, 0.5);
  assert.equal(by.a.alphaSource, 'tensor');
  assert.equal(by.b.alphaOverRank, 2);
  assert.equal(by.b.alphaSource, 'metadata');
  const peft = readLoraFile(join(LORA_FIXTURES, 'peft.safetensors'));
  assert.ok(peft.modules.every((m) => m.alphaOverRank === 1 && m.alphaSource === 'rank'));
});

test('lora rules: an SDXL LoRA on the SD-1-style test model is refused in under a second, naming a key', () => {
  const p = join(dir, 'sdxl.safetensors');
  const t: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {};
  const put = (k: string, down: number[], up: number[]) => {
    t[`${k}.lora_down.weight`] = { dtype: 'F32', shape: down, bytes: new Uint8Array(4 * down.reduce((a, x) => a * x, 1)) };
    t[`${k}.lora_up.weight`] = { dtype: 'F32', shape: up, bytes: new Uint8Array(4 * up.reduce((a, x) => a * x, 1)) };
  };
  // SDXL: 2048-wide cross-attention context, two transformer blocks per attention, a second text encoder
  put('lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k', [4, 2048], [16, 4]);
  put('lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q', [4, 16], [16, 4]);
  put('lora_te2_text_model_encoder_layers_0_self_attn_q_proj', [4, 1280], [1280, 4]);
  writeFileSync(p, encodeSafetensors(t, { ss_base_model_version: 'sdxl_base_v1-0' }));
  const t0 = performance.now();
  const unet = OnnxWeights.load(join(LORA_FIXTURES, 'unet.onnx'));
  const te = OnnxWeights.load(join(LORA_FIXTURES, 'text_encoder.onnx'));
  const layout = JSON.parse(readFileSync(join(LORA_FIXTURES, 'unet_config.json'), 'utf8'));
  assert.throws(
    () => matchLora(readLoraFile(p), [{ component: 'unet', weights: unet, layout }, { component: 'text_encoder', weights: te }]),
    (e: Error) =>
      /another base model/.test(e.message) &&
      /sdxl_base_v1-0/.test(e.message) &&
      /lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k: LoRA delta \[16, 2048\] does not fit unet module down_blocks\.1\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k \[16, 32\]/.test(e.message) &&
      /lora_te2_text_model_encoder_layers_0_self_attn_q_proj/.test(e.message),
  );
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
});

test('lora rules: FILE[:SCALE] parses negative scales and keeps drive letters', () => {
  assert.deepEqual(parseLoraSpec('a.safetensors:-1.5'), { path: 'a.safetensors', scale: -1.5 });
  assert.deepEqual(parseLoraSpec('dir/a.safetensors', 0.8), { path: 'dir/a.safetensors', scale: 0.8 });
  assert.deepEqual(parseLoraSpec('C:\\l\\a.safetensors'), { path: 'C:\\l\\a.safetensors', scale: 1 });
  assert.throws(() => parseLoraSpec('a.safetensors:strong'), /the scale after ':' must be a finite number, got "strong"/);
});
