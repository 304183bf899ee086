// Runs the PyTorch-merged reference exports of tools/lora/make_fixtures.py in ONNX Runtime and records their
// outputs (with the inputs) as test/fixtures/lora/references.json. Usage: node record_references.mjs jobs.json
import { readFileSync, writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { inputs } = spec;
const flat = (a) => a.flat(Infinity);
const feeds = {
  unet: {
    sample: new ort.Tensor('float32', Float32Array.from(flat(inputs.sample)), [2, 4, 8, 8]),
    timestep: new ort.Tensor('int64', BigInt64Array.from(inputs.timestep.map(BigInt)), [2]),
    encoder_hidden_states: new ort.Tensor('float32', Float32Array.from(flat(inputs.encoder_hidden_states)), [2, 7, 32]),
  },
  text_encoder: { input_ids: new ort.Tensor('int64', BigInt64Array.from(flat(inputs.input_ids).map(BigInt)), [1, inputs.input_ids[0].length]) },
};
const outputName = { unet: 'out_sample', text_encoder: 'last_hidden_state' };
const references = [];
for (const job of spec.jobs) {
  const s = await ort.InferenceSession.create(job.model, { graphOptimizationLevel: 'disabled' });
  const out = (await s.run(feeds[job.component]))[outputName[job.component]];
  references.push({ file: job.file, scale: job.scale, component: job.component, dims: out.dims, values: Array.from(out.data) });
  await s.release();
}
writeFileSync(spec.out, JSON.stringify({ source: 'tools/lora/make_fixtures.py (PyTorch merge, torch.onnx.export, ONNX Runtime)', inputs, targets: spec.targets, references }) + '\n');
