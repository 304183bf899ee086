import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { mergeLoraIntoOnnx } from '../src/models/lora/apply.js';
import { float32ToFloat16Bits } from '../src/models/onnx/float16.js';
import { LORA_FIXTURES, feeds, loadReferences, reference, relativeError, runModel } from './helpers/lora-fixtures.js';

/*
 * fp16 weights: the PyTorch export with every Conv/Gemm/MatMul weight stored as float16 under its own name and
 * upcast by a Cast node (how fp16 exports that keep float32 arithmetic look). The merged fp16 model is compared
 * with the float32 PyTorch reference. Tolerance: the best any fp16 model can do is the exact merged weights
 * rounded once to fp16; that model's error e₁ is measured here (the float32 merge, itself within 3.3e-6 of the
 * reference, stored as fp16). Merging into fp16 weights adds one more rounding (of W before the delta), so its
 * error may be about twice that: ≤ 2·e₁ + 1e-4. A merge that dropped a delta or patched a weight transposed
 * moves the output by more than 1e-3 (see lora-merge).
 */
const { onnx } = onnxProto;
const refs = loadReferences();
const dir = mkdtempSync(join(tmpdir(), 'w2sd-lora-fp16-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function toFp16Weights(src: string, out: string): void {
  const model = onnx.ModelProto.decode(readFileSync(src));
  const g = model.graph!;
  const nodes = g.node!;
  const weights = new Set<string>();
  for (const n of nodes) if ((n.opType === 'Conv' || n.opType === 'Gemm' || n.opType === 'MatMul') && n.input!.length > 1) weights.add(n.input![1]);
  const converted = new Set<string>();
  const casts: onnxProto.onnx.INodeProto[] = [];
  for (const t of g.initializer!) {
    const name = t.name!;
    if (!weights.has(name) || t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    const raw = Uint8Array.from(t.rawData!); // a copy: rawData may be a Buffer view into the whole file
    const f = new Float32Array(raw.buffer, 0, raw.length / 4);
    t.rawData = new Uint8Array(Uint16Array.from(f, (v) => float32ToFloat16Bits(v)).buffer);
    t.dataType = onnx.TensorProto.DataType.FLOAT16;
    converted.add(name);
    casts.push({ opType: 'Cast', name: `${name}/Cast`, input: [name], output: [`${name}_fp32`], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT }] });
  }
  for (const n of nodes) if (n.input!.length > 1 && converted.has(n.input![1])) n.input![1] = `${n.input![1]}_fp32`;
  g.node = [...casts.map((c) => onnx.NodeProto.create(c)), ...nodes];
  writeFileSync(out, onnx.ModelProto.encode(model).finish());
}

test('lora merge on fp16 weights: within 2× the error of the exact merge stored in fp16, at +0.8 and −1.5', async () => {
  const half = join(dir, 'unet-fp16.onnx');
  toFp16Weights(join(LORA_FIXTURES, 'unet.onnx'), half);
  const e0 = relativeError(await runModel(half, 'unet', feeds(refs, 'unet')), reference(refs, null, 0, 'unet')!.values);
  assert.ok(e0 > 0 && e0 < 5e-3, `fp16 storage error ${e0}`); // fp16 storage really happened, and is small
  for (const scale of [0.8, -1.5]) {
    const out = join(dir, `merged-${scale}.onnx`);
    const r = mergeLoraIntoOnnx({ model: half, loras: [{ path: join(LORA_FIXTURES, 'kohya.safetensors'), scale }], out, unetConfig: join(LORA_FIXTURES, 'unet_config.json') });
    assert.equal(r.initializers, refs.targets.kohya.unet);
    const want = reference(refs, 'kohya', scale, 'unet')!.values;
    const err = relativeError(await runModel(out, 'unet', feeds(refs, 'unet')), want);
    const exact = join(dir, `merged32-${scale}.onnx`);
    mergeLoraIntoOnnx({ model: join(LORA_FIXTURES, 'unet.onnx'), loras: [{ path: join(LORA_FIXTURES, 'kohya.safetensors'), scale }], out: exact, unetConfig: join(LORA_FIXTURES, 'unet_config.json') });
    toFp16Weights(exact, `${exact}.fp16.onnx`);
    const e1 = relativeError(await runModel(`${exact}.fp16.onnx`, 'unet', feeds(refs, 'unet')), want);
    assert.ok(err <= 2 * e1 + 1e-4, `merged fp16 @ ${scale}: ${err} vs the exact merge stored in fp16 ${e1}`);
    assert.ok(err < 2e-2);
    console.log(`fp16 merge @ ${scale}: relative error ${err.toExponential(2)}; exact merge stored in fp16 ${e1.toExponential(2)}; base stored in fp16 ${e0.toExponential(2)}`);
  }
});
