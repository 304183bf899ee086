// Loads an exported model with onnxruntime-node, checks the signature of models/README.md, runs it and
// compares with the PyTorch output saved by training/verify.py. Usage: node verify_onnx.mjs MODEL_DIR REF_JSON
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [dir, refPath] = process.argv.slice(2);
if (!dir || !refPath) throw new Error('usage: node training/verify_onnx.mjs MODEL_DIR REF_JSON');
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const ref = JSON.parse(readFileSync(refPath, 'utf8'));
const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
const expected = config.kind === 'classifier'
  ? { inputs: ['image'], outputs: ['logits', 'features'] }
  : { inputs: ['sample', 'timestep', 'class_labels'], outputs: ['out_sample'] };
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
if (!same(session.inputNames, expected.inputs) || !same(session.outputNames, expected.outputs)) {
  throw new Error(`${dir}: IO ${session.inputNames} -> ${session.outputNames}, expected ${expected.inputs} -> ${expected.outputs}`);
}
const feeds = {};
for (const [name, spec] of Object.entries(ref.inputs)) {
  feeds[name] = spec.dtype === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(spec.data.map(BigInt)), spec.shape)
    : new ort.Tensor('float32', Float32Array.from(spec.data), spec.shape);
}
const out = await session.run(feeds);
const report = { model: dir };
for (const [name, spec] of Object.entries(ref.outputs)) {
  const got = out[name];
  if (got.type !== 'float32' || !same(got.dims.map(Number), spec.shape)) {
    throw new Error(`${dir}: output ${name} is ${got.type} [${got.dims}], expected float32 [${spec.shape}]`);
  }
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < got.data.length; i++) {
    if (!Number.isFinite(got.data[i])) throw new Error(`${dir}: output ${name}[${i}] is ${got.data[i]}`);
    maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - spec.data[i]));
    maxRef = Math.max(maxRef, Math.abs(spec.data[i]));
  }
  if (maxDiff > 1e-3 * Math.max(1, maxRef)) throw new Error(`${dir}: ${name} differs from PyTorch by ${maxDiff}`);
  report[name] = { shape: got.dims.map(Number), maxAbsDiffVsTorch: maxDiff, maxAbs: maxRef };
}
console.log(JSON.stringify(report));
