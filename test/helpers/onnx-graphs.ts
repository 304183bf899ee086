/**
 * Small ONNX graphs written by the test suite (with onnx-proto) in the exact signatures of optimum's
 * Stable Diffusion exports, so the pipeline runs end to end in CI without real weights. Each network's
 * output depends on every one of its inputs through a formula that `reference*` functions recompute in
 * plain TypeScript: a dropped, swapped or mis-typed input changes the numbers and fails a test.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';

/** Real externally produced files copied into test/fixtures/hf (see its README; this file runs from dist/test/helpers/). */
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/hf', import.meta.url));

const { onnx } = onnxProto;
type ElemName = 'float32' | 'float16' | 'int32' | 'int64';
const ELEM: Record<ElemName, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

type Dim = number | string;

function valueInfo(name: string, elem: ElemName, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

interface Attr {
  readonly [k: string]: number | number[] | string;
}

function attribute(name: string, v: number | number[] | string): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (Number.isInteger(v)) return { name, type: T.INT, i: v };
  return { name, type: T.FLOAT, f: v };
}

/** A graph under construction: nodes, constant tensors and the model's declared IO. */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits: { name: string; dims: number[]; elem: ElemName; data: Float32Array | BigInt64Array }[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  input(name: string, elem: ElemName, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(name: string, elem: ElemName, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** Adds a node; returns its (single) output name, or `out` when given. */
  op(opType: string, inputs: string[], attrs: Attr = {}, out?: string): string {
    const output = out ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ opType, input: inputs, output: [output], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return output;
  }

  floats(dims: number[], data: ArrayLike<number>, named?: string): string {
    const name = named ?? `w_${this.counter++}`;
    this.inits.push({ name, dims, elem: 'float32', data: Float32Array.from(data) });
    return name;
  }

  int64s(values: number[]): string {
    const name = `c_${this.counter++}`;
    this.inits.push({ name, dims: [values.length], elem: 'int64', data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  scalar(v: number): string {
    return this.floats([], [v]);
  }

  /**
   * Serialises the model. With `external`, every float initializer of more than 16 values goes to that file
   * beside the model (ONNX external data: location/offset/length), the way large exports keep their weights.
   */
  write(path: string, external?: { dir: string; file: string }): void {
    let blob = Buffer.alloc(0);
    const initializer = this.inits.map((t) => {
      const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      if (external && t.elem === 'float32' && t.data.length > 16) {
        const offset = blob.length;
        blob = Buffer.concat([blob, bytes]);
        return {
          name: t.name,
          dims: t.dims,
          dataType: ELEM[t.elem],
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: external.file },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: String(bytes.length) },
          ],
        };
      }
      return { name: t.name, dims: t.dims, dataType: ELEM[t.elem], rawData: new Uint8Array(bytes) };
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'w2sd-tests',
      opsetImport: [{ domain: '', version: 17 }],
      graph: { name: 'g', node: this.nodes, initializer, input: this.inputs, output: this.outputs },
    });
    fs.writeFileSync(path, onnx.ModelProto.encode(model).finish());
    if (external) fs.writeFileSync(`${external.dir}/${external.file}`, blob);
  }
}

/** Deterministic pseudo-random weights, the same in the graph and in the reference code. */
export function pattern(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(scale * Math.sin(seed * 12.9898 + i * 78.233 + 0.5 * seed * i));
  return out;
}

export interface TestUnetSpec {
  /** optimum ≤ 1.23: int64 [B]; ≥ 1.24: float32 scalar; fp16 exports: float16 [B]. */
  readonly timestep: 'int64' | 'float32-scalar' | 'float32' | 'float16';
  /** dtype of sample, encoder_hidden_states (and SDXL extras) and out_sample. */
  readonly io: 'float32' | 'float16';
  readonly channels: number;
  readonly sequence: number;
  readonly hidden: number;
  /** SDXL: text_embeds [B, textEmbeds] and time_ids [B, timeIds]. */
  readonly sdxl?: { readonly textEmbeds: number; readonly timeIds: number };
  /** Seed of the weights: two "checkpoints" of one architecture differ only here. */
  readonly seed: number;
  /** Adds two 3×3 convolutions of this width on `sample` (compute for benchmarks; 0 = none). */
  readonly convWidth?: number;
  readonly external?: 'model.onnx_data' | 'weights.pb';
  /**
   * Benchmarks only: this many MiB of extra weights that every run reads (a negligible term, not in the
   * reference), so peak memory behaves like a model of that size.
   */
  readonly ballastMB?: number;
}

/** Coefficients of the test UNet, shared by the graph and its TypeScript reference. */
function unetWeights(spec: TestUnetSpec) {
  const s = spec.seed;
  return {
    a: 0.9 + 0.05 * Math.sin(s),
    perChannel: pattern(spec.channels, s + 1, 0.5),
    tokenWeights: pattern(spec.sequence * spec.hidden, s + 2, 1 / spec.sequence),
    textEmbedWeights: spec.sdxl ? pattern(spec.sdxl.textEmbeds, s + 3, 1 / spec.sdxl.textEmbeds) : undefined,
    timeIdWeights: spec.sdxl ? pattern(spec.sdxl.timeIds, s + 4, 1e-3) : undefined,
  };
}

/**
 * out[b,c,h,w] = a·sample[b,c,h,w] + k[c]·(t_b/1000 + Σ_{s,d} W[s,d]·ehs[b,s,d] + Σ u·text_embeds[b] + Σ v·time_ids[b])
 * (+ conv stack). Every term is per batch item, so halves swapped between cond and uncond show up too.
 */
export function writeTestUnet(path: string, spec: TestUnetSpec): void {
  const g = new GraphBuilder();
  const w = unetWeights(spec);
  const C = spec.channels;
  const io = spec.io;
  const sample = g.input('sample', io, ['batch', C, 'height', 'width']);
  const tsDims = spec.timestep === 'float32-scalar' ? [] : ['batch'];
  const tsElem: ElemName = spec.timestep === 'int64' ? 'int64' : spec.timestep === 'float16' ? 'float16' : 'float32';
  const timestep = g.input('timestep', tsElem, tsDims);
  const ehs = g.input('encoder_hidden_states', io, ['batch', 'sequence', spec.hidden]);
  const toF32 = (x: string, elem: ElemName) => (elem === 'float32' ? x : g.op('Cast', [x], { to: ELEM.float32 }));
  const perItem = g.int64s([-1, 1, 1, 1]);

  const s32 = toF32(sample, io);
  let t = g.op('Div', [toF32(timestep, tsElem), g.scalar(1000)]);
  if (tsDims.length === 1) t = g.op('Reshape', [t, perItem]);
  const tokens = g.op('Mul', [toF32(ehs, io), g.floats([spec.sequence, spec.hidden], w.tokenWeights)]);
  let cond = g.op('Add', [t, g.op('Reshape', [g.op('ReduceSum', [tokens, g.int64s([1, 2])], { keepdims: 1 }), perItem])]);
  if (spec.sdxl) {
    const te = g.input('text_embeds', io, ['batch', spec.sdxl.textEmbeds]);
    const ti = g.input('time_ids', io, ['batch', spec.sdxl.timeIds]);
    const teSum = g.op('ReduceSum', [g.op('Mul', [toF32(te, io), g.floats([spec.sdxl.textEmbeds], w.textEmbedWeights!)]), g.int64s([1])], { keepdims: 1 });
    const tiSum = g.op('ReduceSum', [g.op('Mul', [toF32(ti, io), g.floats([spec.sdxl.timeIds], w.timeIdWeights!)]), g.int64s([1])], { keepdims: 1 });
    cond = g.op('Add', [cond, g.op('Reshape', [g.op('Add', [teSum, tiSum]), perItem])]);
  }
  let out = g.op('Add', [g.op('Mul', [s32, g.scalar(w.a)]), g.op('Mul', [cond, g.floats([1, C, 1, 1], w.perChannel)])]);
  if (spec.convWidth) {
    const W = spec.convWidth;
    const h1 = g.op('Conv', [s32, g.floats([W, C, 3, 3], pattern(W * C * 9, spec.seed + 5, 0.1))], { pads: [1, 1, 1, 1] });
    const a1 = g.op('Mul', [h1, g.op('Sigmoid', [h1])]);
    const h2 = g.op('Conv', [a1, g.floats([W, W, 3, 3], pattern(W * W * 9, spec.seed + 6, 0.02))], { pads: [1, 1, 1, 1] });
    const a2 = g.op('Mul', [h2, g.op('Sigmoid', [h2])]);
    const h3 = g.op('Conv', [a2, g.floats([C, W, 3, 3], pattern(C * W * 9, spec.seed + 7, 1e-4))], { pads: [1, 1, 1, 1] });
    out = g.op('Add', [out, h3]);
  }
  if (spec.ballastMB) {
    const n = Math.round(spec.ballastMB * 262144);
    const weights = g.floats([n], new Float32Array(n).fill(1e-3));
    // The reduction axis is computed from the timestep (always 0), so ONNX Runtime can neither fold the sum
    // away at load time nor needs an intermediate as large as the weights.
    const zero = g.op('Cast', [g.op('Mul', [g.op('ReduceMean', [t], { keepdims: 0 }), g.scalar(0)])], { to: ELEM.int64 });
    const axis = g.op('Reshape', [zero, g.int64s([1])]);
    const read = g.op('ReduceSum', [weights, axis], { keepdims: 0 });
    out = g.op('Add', [out, g.op('Mul', [read, g.scalar(1e-12)])]);
  }
  if (io === 'float16') g.op('Cast', [out], { to: ELEM.float16 }, 'out_sample');
  else g.op('Identity', [out], {}, 'out_sample');
  g.output('out_sample', io, ['batch', C, 'height', 'width']);
  const dir = path.slice(0, path.lastIndexOf('/'));
  g.write(path, spec.external ? { dir, file: spec.external } : undefined);
}

/** The test UNet's formula in float64 (no conv stack), for checking what the pipeline fed it. */
export function referenceUnet(spec: TestUnetSpec) {
  const w = unetWeights(spec);
  return (
    sample: Float32Array,
    dims: readonly number[],
    timesteps: readonly number[],
    ehs: Float32Array,
    extras?: { textEmbeds: Float32Array; timeIds: Float32Array },
  ): Float32Array => {
    const [B, C, H, W] = dims;
    const per = C * H * W;
    const S = spec.sequence;
    const D = spec.hidden;
    const out = new Float32Array(sample.length);
    for (let b = 0; b < B; b++) {
      let cond = timesteps[b] / 1000;
      for (let i = 0; i < S * D; i++) cond += w.tokenWeights[i] * ehs[b * S * D + i];
      if (spec.sdxl && extras) {
        const E = spec.sdxl.textEmbeds;
        const N = spec.sdxl.timeIds;
        for (let i = 0; i < E; i++) cond += w.textEmbedWeights![i] * extras.textEmbeds[b * E + i];
        for (let i = 0; i < N; i++) cond += w.timeIdWeights![i] * extras.timeIds[b * N + i];
      }
      for (let c = 0; c < C; c++) {
        for (let j = 0; j < H * W; j++) {
          const k = b * per + c * H * W + j;
          out[k] = w.a * sample[k] + w.perChannel[c] * cond;
        }
      }
    }
    return out;
  };
}

export interface TestTextEncoderSpec {
  readonly vocab: number;
  readonly sequence: number;
  readonly hidden: number;
  readonly layers: number;
  readonly ids: 'int32' | 'int64';
  /** CLIPTextModelWithProjection (SDXL's text_encoder_2): adds `text_embeds` [B, projection]. */
  readonly projection?: number;
  readonly seed: number;
  /**
   * CLIP's final_layer_norm on last_hidden_state (hidden_states stay before it), its weights under torch's names
   * reached through Identity nodes as torch's exporter writes shared weights; the value is its epsilon.
   */
  readonly finalNorm?: number;
}

function encoderWeights(spec: TestTextEncoderSpec) {
  return {
    embedding: pattern(spec.vocab * spec.hidden, spec.seed, 1),
    layerScale: Array.from({ length: spec.layers }, (_, k) => pattern(spec.hidden, spec.seed + 10 + k, 1)),
    projection: spec.projection ? pattern(spec.hidden * spec.projection, spec.seed + 99, 0.5) : undefined,
    normWeight: Float32Array.from(pattern(spec.hidden, spec.seed + 50, 0.5), (v) => 1 + v),
    normBias: pattern(spec.hidden, spec.seed + 51, 0.3),
  };
}

/**
 * A CLIP-shaped text encoder: h0 = embedding[ids] + position term, h_k = tanh(h_{k−1}·s_k + 0.1),
 * outputs last_hidden_state (= h_L), pooler_output (h_L at the last position) or text_embeds
 * (mean_s h_L · P), and hidden_states.0..L as optimum's SDXL exports do.
 */
export function writeTestTextEncoder(path: string, spec: TestTextEncoderSpec): void {
  const g = new GraphBuilder();
  const w = encoderWeights(spec);
  const ids = g.input('input_ids', spec.ids, ['batch', 'sequence']);
  const idx = spec.ids === 'int64' ? ids : g.op('Cast', [ids], { to: ELEM.int64 });
  const positions = g.floats([spec.sequence, 1], Array.from({ length: spec.sequence }, (_, s) => s / spec.sequence));
  let h = g.op('Add', [g.op('Gather', [g.floats([spec.vocab, spec.hidden], w.embedding), idx], { axis: 0 }), positions]);
  const hidden: string[] = [g.op('Identity', [h], {}, 'hidden_states.0')];
  for (let k = 0; k < spec.layers; k++) {
    h = g.op('Tanh', [g.op('Add', [g.op('Mul', [h, g.floats([spec.hidden], w.layerScale[k])]), g.scalar(0.1)])]);
    hidden.push(g.op('Identity', [h], {}, `hidden_states.${k + 1}`));
  }
  if (spec.finalNorm !== undefined) {
    const axis = { axes: [-1], keepdims: 1 };
    const centred = g.op('Sub', [h, g.op('ReduceMean', [h], axis)]);
    const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], axis);
    const normed = g.op('Div', [centred, g.op('Sqrt', [g.op('Add', [variance, g.scalar(spec.finalNorm)])])]);
    g.floats([spec.hidden], w.normWeight, 'shared.weight');
    g.floats([spec.hidden], w.normBias, 'shared.bias');
    const weight = g.op('Identity', ['shared.weight'], {}, 'text_model.final_layer_norm.weight');
    const bias = g.op('Identity', ['shared.bias'], {}, 'text_model.final_layer_norm.bias');
    h = g.op('Add', [g.op('Mul', [normed, weight]), bias]);
  }
  g.op('Identity', [h], {}, 'last_hidden_state');
  const dims = ['batch', 'sequence', spec.hidden];
  if (spec.projection) {
    const mean = g.op('ReduceMean', [h], { axes: [1], keepdims: 0 });
    g.op('MatMul', [mean, g.floats([spec.hidden, spec.projection], w.projection!)], {}, 'text_embeds');
    g.output('text_embeds', 'float32', ['batch', spec.projection]);
  } else {
    const last = g.op('Gather', [h, g.int64s([spec.sequence - 1])], { axis: 1 });
    g.op('Reshape', [last, g.int64s([-1, spec.hidden])], {}, 'pooler_output');
    g.output('pooler_output', 'float32', ['batch', spec.hidden]);
  }
  g.output('last_hidden_state', 'float32', dims);
  for (let k = 0; k <= spec.layers; k++) g.output(`hidden_states.${k}`, 'float32', dims);
  g.write(path);
}

/** The test encoder's final layer norm weights, for references. */
export function testFinalNorm(spec: TestTextEncoderSpec): { weight: Float32Array; bias: Float32Array } {
  const w = encoderWeights(spec);
  return { weight: w.normWeight, bias: w.normBias };
}

/** hidden_states.k of the test encoder for one sequence of ids (float64 arithmetic, float32 out). */
export function referenceTextEncoder(spec: TestTextEncoderSpec) {
  const w = encoderWeights(spec);
  return (ids: readonly number[], layer: number): Float32Array => {
    const D = spec.hidden;
    const h = new Float32Array(ids.length * D);
    ids.forEach((id, s) => {
      for (let d = 0; d < D; d++) h[s * D + d] = w.embedding[id * D + d] + Math.fround(s / spec.sequence);
    });
    for (let k = 0; k < layer; k++) {
      for (let i = 0; i < h.length; i++) h[i] = Math.tanh(h[i] * w.layerScale[k][i % D] + 0.1);
    }
    return h;
  };
}

export function referenceTextEmbeds(spec: TestTextEncoderSpec) {
  const w = encoderWeights(spec);
  const enc = referenceTextEncoder(spec);
  return (ids: readonly number[]): Float32Array => {
    const h = enc(ids, spec.layers);
    const D = spec.hidden;
    const P = spec.projection!;
    const mean = new Float64Array(D);
    for (let s = 0; s < ids.length; s++) for (let d = 0; d < D; d++) mean[d] += h[s * D + d] / ids.length;
    const out = new Float32Array(P);
    for (let p = 0; p < P; p++) {
      let acc = 0;
      for (let d = 0; d < D; d++) acc += mean[d] * w.projection![d * P + p];
      out[p] = acc;
    }
    return out;
  };
}

export interface TinyFolderOptions {
  readonly family: 'sd1' | 'sd2' | 'sdxl';
  /** Overrides of the test UNet (timestep variant, IO dtype, seed = "weights"). */
  readonly unet?: Partial<Pick<TestUnetSpec, 'timestep' | 'io' | 'seed' | 'convWidth' | 'external' | 'channels' | 'ballastMB'>>;
  /** SDXL test encoders' input_ids dtype (optimum ≤ 1.23 int32, ≥ 1.24 int64). */
  readonly ids?: 'int32' | 'int64';
  /** Changes to the scheduler config (e.g. clip_sample). */
  readonly scheduler?: Readonly<Record<string, unknown>>;
  /** Leaves out the VAE decoder (a weak-only folder). */
  readonly noVae?: boolean;
  /** Overrides of the VAE config (e.g. another scaling factor or latent channels). */
  readonly vae?: Readonly<Record<string, unknown>>;
  /** SD 1.x/2.x: a graph-built text encoder with hidden_states and a final layer norm instead of the real tiny one. */
  readonly graphEncoder?: boolean;
}

export interface TinyFolder {
  readonly dir: string;
  readonly unet: TestUnetSpec;
  readonly encoders?: readonly [TestTextEncoderSpec, TestTextEncoderSpec];
  /** SD 1.x/2.x with `graphEncoder`: its spec. */
  readonly encoder?: TestTextEncoderSpec;
}

/** SDXL test encoders: small widths, the real CLIP vocabulary size. */
export const XL_ENCODERS = (ids: 'int32' | 'int64'): [TestTextEncoderSpec, TestTextEncoderSpec] => [
  { vocab: 49408, sequence: 77, hidden: 4, layers: 3, ids, seed: 21 },
  { vocab: 49408, sequence: 77, hidden: 6, layers: 3, ids, projection: 5, seed: 22 },
];

/** SD 1.x-shaped graph text encoder over the tiny tokenizer's 1000 tokens, with CLIP's final layer norm. */
export const SD1_GRAPH_ENCODER: TestTextEncoderSpec = { vocab: 1000, sequence: 77, hidden: 32, layers: 3, ids: 'int32', seed: 31, finalNorm: 1e-5 };

/**
 * A complete model folder in optimum's layout for CI: the real tiny text encoder, tokenizer and VAE decoder
 * (SD 1.x/2.x; VAE factor 2) or graph-built SDXL encoders over the real CLIP vocabulary, and a test UNet.
 */
export function writeTinySdFolder(dir: string, o: TinyFolderOptions): TinyFolder {
  const tiny = `${FIXTURES}/tiny-sd-export`;
  const put = (rel: string, content: unknown) => {
    fs.mkdirSync(`${dir}/${rel.slice(0, rel.lastIndexOf('/'))}`, { recursive: true });
    fs.writeFileSync(`${dir}/${rel}`, typeof content === 'string' ? content : JSON.stringify(content, null, 1));
  };
  const link = (rel: string, target: string) => {
    fs.mkdirSync(`${dir}/${rel.slice(0, rel.lastIndexOf('/'))}`, { recursive: true });
    fs.symlinkSync(target, `${dir}/${rel}`);
  };
  const xl = o.family === 'sdxl';
  const sched = JSON.parse(fs.readFileSync(`${FIXTURES}/configs/${xl ? 'sdxl-turbo' : 'sd15'}/scheduler/scheduler_config.json`, 'utf8')) as Record<string, unknown>;
  put('scheduler/scheduler_config.json', { ...sched, ...(o.family === 'sd2' ? { prediction_type: 'v_prediction' } : {}), ...o.scheduler });
  put('model_index.json', {
    _class_name: xl ? 'ORTStableDiffusionXLPipeline' : 'ORTStableDiffusionPipeline',
    ...(xl ? { force_zeros_for_empty_prompt: true, text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'] } : {}),
  });
  if (!o.noVae) link('vae_decoder/model.onnx', `${tiny}/vae_decoder.onnx`);
  put('vae_decoder/config.json', {
    _class_name: 'AutoencoderKL',
    block_out_channels: [32, 64],
    latent_channels: 4,
    scaling_factor: xl ? 0.13025 : 0.18215,
    force_upcast: xl,
    ...o.vae,
  });
  let encoders: [TestTextEncoderSpec, TestTextEncoderSpec] | undefined;
  let hidden = 32;
  let extras: TestUnetSpec['sdxl'];
  if (xl) {
    encoders = XL_ENCODERS(o.ids ?? 'int64');
    writeTestTextEncoder(`${mk(dir, 'text_encoder')}/model.onnx`, encoders[0]);
    writeTestTextEncoder(`${mk(dir, 'text_encoder_2')}/model.onnx`, encoders[1]);
    for (const [sub, cfgDir] of [['tokenizer', 'tokenizer'], ['tokenizer_2', 'tokenizer_2']]) {
      link(`${sub}/vocab.json`, `${FIXTURES}/clip-tokenizer/vocab.json`);
      link(`${sub}/merges.txt`, `${FIXTURES}/clip-tokenizer/merges.txt`);
      for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) link(`${sub}/${f}`, `${FIXTURES}/configs/sdxl-turbo/${cfgDir}/${f}`);
    }
    hidden = encoders[0].hidden + encoders[1].hidden;
    extras = { textEmbeds: encoders[1].projection!, timeIds: 6 };
  } else {
    if (o.graphEncoder) {
      writeTestTextEncoder(`${mk(dir, 'text_encoder')}/model.onnx`, SD1_GRAPH_ENCODER);
    } else link('text_encoder/model.onnx', `${tiny}/text_encoder.onnx`);
    link('tokenizer/tokenizer.json', `${tiny}/tokenizer.json`);
    put('tokenizer/tokenizer_config.json', { model_max_length: 77, bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' });
  }
  const unet: TestUnetSpec = { timestep: 'int64', io: 'float32', channels: 4, sequence: 77, hidden, seed: 1, ...(extras ? { sdxl: extras } : {}), ...o.unet };
  writeTestUnet(`${mk(dir, 'unet')}/model.onnx`, unet);
  put('unet/config.json', { sample_size: 8, in_channels: 4 });
  return { dir, unet, encoders, encoder: o.graphEncoder && !xl ? SD1_GRAPH_ENCODER : undefined };
}

function mk(dir: string, sub: string): string {
  fs.mkdirSync(`${dir}/${sub}`, { recursive: true });
  return `${dir}/${sub}`;
}
