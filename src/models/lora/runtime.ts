import onnxProto from 'onnx-proto';
import type { LoraComponent } from './keys.js';
import type { LoraMatch, MatchedModule } from './match.js';
import { encodeFloats, num, type OnnxWeights, type WeightTarget } from './onnx-weights.js';
import { writeOnnxWithInitializers } from './write.js';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;
const DT = onnx.TensorProto.DataType;

/** Input k of a runtime-scale model: the scale of LoRA k for each batch item, float32 [batch]. */
export const loraScaleInput = (k: number): string => `lora_scale.${k}`;

/**
 * One resident model for any LoRA scale: every targeted Conv / Gemm / MatMul keeps its base weight W and gains
 * a side branch y += s_b·(alpha/rank)·up·(down·x), with s_b read per batch item from the graph input
 * `lora_scale.k`. So one ONNX Runtime session serves the pair's strong (+0.8), weak (−1.5) and main (0.8) legs,
 * and a batch may mix scales. The branch's factors are small initializers (rank r): memory stays that of the
 * base model, and the extra work is O(r·(in + out)) per position against the base layer's O(in·out).
 */
export function writeRuntimeScaleModel(weights: OnnxWeights, component: LoraComponent, matches: readonly LoraMatch[], out: string): { model: string; data?: string; branches: number } {
  const added: Tensor[] = [];
  // consumer node name → branches to add to its output
  const byNode = new Map<string, { k: number; m: MatchedModule; t: WeightTarget; file: LoraMatch['lora']['file'] }[]>();
  matches.forEach((match, k) => {
    for (const m of match.byComponent.get(component) ?? []) {
      for (const t of m.targets) {
        for (const n of consumersOf(weights, t)) byNode.set(n, [...(byNode.get(n) ?? []), { k, m, t, file: match.lora.file }]);
      }
    }
  });
  let branches = 0;
  const rewrite = (graph: onnxProto.onnx.IGraphProto): onnxProto.onnx.IGraphProto => {
    const scaleDtypes = new Set<string>();
    const out: Node[] = [];
    for (const node of graph.node ?? []) {
      const list = byNode.get(node.name ?? '');
      if (!list) {
        out.push(node);
        continue;
      }
      const y = node.output![0];
      const base = `${y}/lora_base`;
      out.push({ ...node, output: [base, ...node.output!.slice(1)] });
      let acc = base;
      list.forEach((b, i) => {
        const dtype = b.t.viaCast ? 'float32' : b.t.dtype;
        scaleDtypes.add(`${b.k}:${dtype}`);
        const p = `${y}/lora${b.k}_${i}`;
        const branch = branchNodes(node, b.m, b.t, b.file, p, dtype, added);
        const scaled = `${p}/scaled`;
        out.push(...branch.nodes);
        out.push(...scaleFor(branch.output, b.t.op, `${scaleName(b.k, dtype)}`, p, scaled));
        const sum = i === list.length - 1 ? y : `${p}/sum`;
        out.push({ opType: 'Add', name: `${p}/Add`, input: [acc, scaled], output: [sum] });
        acc = sum;
        branches++;
      });
    }
    const pre: Node[] = [];
    for (const key of scaleDtypes) {
      const [k, dtype] = key.split(':');
      if (dtype === 'float16') pre.push({ opType: 'Cast', name: `lora_scale.${k}/Cast`, input: [loraScaleInput(Number(k))], output: [scaleName(Number(k), 'float16')], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DT.FLOAT16 }] });
    }
    added.push(int64('lora/minus1', [-1]), int64('lora/one', [1]));
    const inputs = matches.map((_, k) => ({
      name: loraScaleInput(k),
      type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [{ dimParam: 'batch' }] } } },
    }));
    return { ...graph, node: [...pre, ...out], input: [...(graph.input ?? []), ...inputs], initializer: [...(graph.initializer ?? []), ...added] };
  };
  const written = writeOnnxWithInitializers(weights, new Map(), out, rewrite);
  return { ...written, branches };
}

function scaleName(k: number, dtype: string): string {
  return dtype === 'float16' ? `${loraScaleInput(k)}/fp16` : loraScaleInput(k);
}

function consumersOf(weights: OnnxWeights, t: WeightTarget): string[] {
  // every node that reads this initializer (directly or through Cast/Transpose) as the weight of the same op
  const names: string[] = [];
  const producers = new Map<string, Node>();
  const graphNodes = weights.model.graph!.node ?? [];
  for (const n of graphNodes) for (const o of n.output ?? []) producers.set(o, n);
  for (const n of graphNodes) {
    if (n.opType !== t.op || (n.input?.length ?? 0) < 2) continue;
    let name = n.input![1];
    for (let d = 0; d < 4 && name !== t.initializer; d++) {
      const p = producers.get(name);
      if (!p || (p.opType !== 'Cast' && p.opType !== 'Transpose')) break;
      name = p.input![0];
    }
    if (name === t.initializer) names.push(n.name ?? '');
  }
  return names;
}

function int64(name: string, values: number[]): Tensor {
  return { name, dims: [values.length], dataType: DT.INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) };
}

function floats(name: string, dims: number[], values: Float32Array, dtype: 'float32' | 'float16'): Tensor {
  return { name, dims, dataType: dtype === 'float16' ? DT.FLOAT16 : DT.FLOAT, rawData: encodeFloats(values, dtype) };
}

/** The branch up·(down·x) with (alpha/rank) folded into up; returns its nodes and output name. */
function branchNodes(node: Node, m: MatchedModule, t: WeightTarget, file: LoraMatch['lora']['file'], p: string, dtype: 'float32' | 'float16', added: Tensor[]): { nodes: Node[]; output: string } {
  const r = m.module.rank;
  const out = t.shape[0];
  const down = file.read(m.module.down.name);
  const up = file.read(m.module.up.name).map((v) => v * m.module.alphaOverRank);
  for (const v of [...down, ...up]) if (!Number.isFinite(v)) throw new Error(`${m.module.key}: NaN or Inf in the LoRA factors`);
  const x = node.input![0];
  const attrs0 = node.attribute ?? [];
  const gemmAlpha = attrs0.find((a) => a.name === 'alpha');
  if (t.op === 'Gemm' && gemmAlpha && gemmAlpha.f !== 1) throw new Error(`${m.module.key}: Gemm ${node.name} has alpha ${gemmAlpha.f}; only alpha = 1 exports are supported`);
  if (t.op === 'Conv') {
    const attrs = node.attribute ?? [];
    const group = attrs.find((a) => a.name === 'group');
    if (group && num(group.i as number) !== 1) throw new Error(`${m.module.key}: grouped convolution ${node.name} cannot take a LoRA branch`);
    const kernel = t.shape.slice(2);
    const inC = t.shape[1];
    added.push(floats(`${p}/down`, [r, inC, ...kernel], padKernel(down, r, inC, m.module.down.shape.slice(2), kernel), dtype));
    added.push(floats(`${p}/up`, [out, r, 1, 1], up, dtype));
    return {
      nodes: [
        { opType: 'Conv', name: `${p}/down/Conv`, input: [x, `${p}/down`], output: [`${p}/d`], attribute: attrs.filter((a) => a.name !== 'group') },
        { opType: 'Conv', name: `${p}/up/Conv`, input: [`${p}/d`, `${p}/up`], output: [`${p}/u`] },
      ],
      output: `${p}/u`,
    };
  }
  // MatMul / Gemm: x [..., in] · downᵀ [in, r] · upᵀ [r, out]
  const inF = t.shape[1];
  added.push(floats(`${p}/downT`, [inF, r], transpose(down, r, inF), dtype));
  added.push(floats(`${p}/upT`, [r, out], transpose(up, out, r), dtype));
  return {
    nodes: [
      { opType: 'MatMul', name: `${p}/down/MatMul`, input: [x, `${p}/downT`], output: [`${p}/d`] },
      { opType: 'MatMul', name: `${p}/up/MatMul`, input: [`${p}/d`, `${p}/upT`], output: [`${p}/u`] },
    ],
    output: `${p}/u`,
  };
}

/** A Linear-shaped down factor [r, in] on a 1×1 conv needs no change; a [r, in, 1, 1] one on a Linear neither. */
function padKernel(down: Float32Array, _r: number, _in: number, have: readonly number[], want: readonly number[]): Float32Array {
  const size = (k: readonly number[]) => k.reduce((a, d) => a * d, 1);
  if (size(have) !== size(want)) throw new Error(`internal: kernel [${have.join(', ')}] vs [${want.join(', ')}]`);
  return down;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/** s (per batch item) reshaped to broadcast over the branch output: [B, 1, …] with the output's rank. */
function scaleFor(u: string, op: WeightTarget['op'], scale: string, p: string, out: string): Node[] {
  const shape = `${p}/sshape`;
  if (op === 'Conv' || op === 'Gemm') {
    const ones = op === 'Conv' ? 3 : 1;
    return [
      { opType: 'Concat', name: `${p}/sshape/Concat`, input: ['lora/minus1', ...Array(ones).fill('lora/one')], output: [shape], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
      { opType: 'Reshape', name: `${p}/s/Reshape`, input: [scale, shape], output: [`${p}/s`] },
      { opType: 'Mul', name: `${p}/Mul`, input: [u, `${p}/s`], output: [out] },
    ];
  }
  // MatMul inputs may have any rank ≥ 2: [-1, 1, …, 1] of the output's rank, built at run time
  return [
    { opType: 'Shape', name: `${p}/rank/Shape`, input: [u], output: [`${p}/ushape`] },
    { opType: 'Shape', name: `${p}/rank/Rank`, input: [`${p}/ushape`], output: [`${p}/rank`] },
    { opType: 'Sub', name: `${p}/rank/Sub`, input: [`${p}/rank`, 'lora/one'], output: [`${p}/rank1`] },
    {
      opType: 'ConstantOfShape',
      name: `${p}/ones`,
      input: [`${p}/rank1`],
      output: [`${p}/onesv`],
      attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: int64('one', [1]) }],
    },
    { opType: 'Concat', name: `${p}/sshape/Concat`, input: ['lora/minus1', `${p}/onesv`], output: [shape], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
    { opType: 'Reshape', name: `${p}/s/Reshape`, input: [scale, shape], output: [`${p}/s`] },
    { opType: 'Mul', name: `${p}/Mul`, input: [u, `${p}/s`], output: [out] },
  ];
}
