/**
 * Builds tiny shipped-model folders for tests: a real ONNX graph with the shipped models' signature whose ε
 * is an affine function we know by hand, ε = a·x_t + b·label + c·t, plus the config files beside it. It lets
 * the loader, the batched CFG call and the lab run end to end without the trained networks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface TinyModelSpec {
  /** Coefficients of ε = a·x_t + b·label + c·t. */
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly side?: number;
  /** Rename or drop inputs to build mismatched files. */
  readonly sampleName?: string;
  readonly withLabels?: boolean;
  readonly labelType?: 'int64' | 'int32';
  readonly outputName?: string;
  readonly conditioning?: 'class' | 'unconditional';
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function scalar(name: string, value: number) {
  return onnx.TensorProto.create({ name, dataType: FLOAT, dims: [], floatData: [value] });
}

export function tinyModelBytes(spec: TinyModelSpec): Uint8Array {
  const side = spec.side ?? 28;
  const sample = spec.sampleName ?? 'sample';
  const out = spec.outputName ?? 'out_sample';
  const withLabels = spec.withLabels ?? true;
  const nodes = [
    onnx.NodeProto.create({ opType: 'Reshape', input: ['timestep', 'shape4'], output: ['t4'] }),
    onnx.NodeProto.create({ opType: 'Mul', input: [sample, 'a'], output: ['ax'] }),
    onnx.NodeProto.create({ opType: 'Mul', input: ['t4', 'c'], output: ['ct'] }),
  ];
  if (withLabels) {
    nodes.push(
      onnx.NodeProto.create({ opType: 'Cast', input: ['class_labels'], output: ['lf'], attribute: [{ name: 'to', type: 2, i: FLOAT }] }),
      onnx.NodeProto.create({ opType: 'Reshape', input: ['lf', 'shape4'], output: ['l4'] }),
      onnx.NodeProto.create({ opType: 'Mul', input: ['l4', 'b'], output: ['bl'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['ax', 'bl'], output: ['axbl'] }),
      onnx.NodeProto.create({ opType: 'Add', input: ['axbl', 'ct'], output: [out] }),
    );
  } else {
    nodes.push(onnx.NodeProto.create({ opType: 'Add', input: ['ax', 'ct'], output: [out] }));
  }
  const inputs = [valueInfo(sample, FLOAT, ['batch', 1, side, side]), valueInfo('timestep', FLOAT, ['batch'])];
  if (withLabels) inputs.push(valueInfo('class_labels', spec.labelType === 'int32' ? INT32 : INT64, ['batch']));
  const graph = onnx.GraphProto.create({
    name: 'tiny-classcond',
    node: nodes,
    input: inputs,
    output: [valueInfo(out, FLOAT, ['batch', 1, side, side])],
    initializer: [
      scalar('a', spec.a),
      scalar('b', spec.b),
      scalar('c', spec.c),
      onnx.TensorProto.create({ name: 'shape4', dataType: INT64, dims: [4], int64Data: [-1, 1, 1, 1] }),
    ],
  });
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'w2sd-test', graph });
  return onnx.ModelProto.encode(model).finish();
}

/** The shipped models' scheduler config (models/README.md). */
export const SCHEDULER_CONFIG = {
  _class_name: 'DDIMScheduler',
  num_train_timesteps: 1000,
  beta_schedule: 'linear',
  beta_start: 0.0001,
  beta_end: 0.02,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
};

/** Writes `<root>/<name>/{model.onnx, scheduler_config.json, config.json}` and returns the folder. */
export function writeTinyModel(root: string, name: string, spec: TinyModelSpec): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), tinyModelBytes(spec));
  writeFileSync(join(dir, 'scheduler_config.json'), JSON.stringify(SCHEDULER_CONFIG));
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      kind: 'diffusion',
      sample_size: spec.side ?? 28,
      num_classes: 10,
      null_class: 10,
      conditioning: spec.conditioning ?? 'class',
      data_range: [-1, 1],
    }),
  );
  return dir;
}

/**
 * A classifier folder: logits = [Σ pixels, −Σ pixels, 0, …] (class 0 for bright images, 1 for dark) and
 * features = the mean of each image row (28 values), so tests can predict both by hand.
 */
export function writeTinyClassifier(root: string, name = 'tiny-classifier'): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const w = new Array<number>(784 * 10).fill(0);
  for (let p = 0; p < 784; p++) {
    w[p * 10 + 0] = 1;
    w[p * 10 + 1] = -1;
  }
  const rowMean = new Array<number>(784 * 28).fill(0);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) rowMean[(y * 28 + x) * 28 + y] = 1 / 28;
  const graph = onnx.GraphProto.create({
    name: 'tiny-classifier',
    node: [
      onnx.NodeProto.create({ opType: 'Reshape', input: ['image', 'flat'], output: ['v'] }),
      onnx.NodeProto.create({ opType: 'MatMul', input: ['v', 'w'], output: ['logits'] }),
      onnx.NodeProto.create({ opType: 'MatMul', input: ['v', 'rows'], output: ['features'] }),
    ],
    input: [valueInfo('image', FLOAT, ['batch', 1, 28, 28])],
    output: [valueInfo('logits', FLOAT, ['batch', 10]), valueInfo('features', FLOAT, ['batch', 28])],
    initializer: [
      onnx.TensorProto.create({ name: 'flat', dataType: INT64, dims: [2], int64Data: [-1, 784] }),
      onnx.TensorProto.create({ name: 'w', dataType: FLOAT, dims: [784, 10], floatData: w }),
      onnx.TensorProto.create({ name: 'rows', dataType: FLOAT, dims: [784, 28], floatData: rowMean }),
    ],
  });
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'w2sd-test', graph });
  writeFileSync(join(dir, 'model.onnx'), onnx.ModelProto.encode(model).finish());
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ kind: 'classifier', num_classes: 10, feature_dim: 28 }));
  return dir;
}
