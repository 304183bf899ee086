import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { mergeLoraIntoOnnx, writeRuntimeLoraModel } from '../src/models/lora/apply.js';
import { encodeSafetensors } from '../test/helpers/safetensors.js';

/*
 * The lora pair's costs on one level of an SD 1.5-sized UNet at 64×64 latents (a 512² image): a resnet (two
 * 3×3 convolutions of width 320) and a transformer block (proj_in, self-attention over 4096 tokens, cross-
 * attention to 77 × 768 text states, GEGLU feed-forward of 1280, proj_out), named as diffusers exports name
 * them. A kohya LoRA of rank r on every Linear of the block (the default attention LoRA) and optionally the
 * resnet convs (LoCon). Measured: the runtime-scale branch's share of a step, and peak memory of the pair on
 * one runtime-scale session against one plain model and against two merged models.
 */
const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const CTX = 768;
/** Width and latent size of the level: SD 1.5's first level (320 at 64×64) or its deepest (1280 at 8×8). */
interface Level {
  readonly C: number;
  readonly H: number;
}
let C = 320;
let H = 64;
let FF = 4 * C;
function setLevel(l: Level): void {
  C = l.C;
  H = l.H;
  FF = 4 * l.C;
}

class Builder {
  nodes: onnxProto.onnx.INodeProto[] = [];
  inits: onnxProto.onnx.ITensorProto[] = [];
  private n = 0;
  private seed = 1;
  op(opType: string, name: string, input: string[], attrs: onnxProto.onnx.IAttributeProto[] = []): string {
    const out = `${name}_output_${this.n++}`;
    this.nodes.push({ opType, name, input, output: [out], attribute: attrs });
    return out;
  }
  weight(name: string, dims: number[], scale: number): string {
    const size = dims.reduce((a, d) => a * d, 1);
    const v = new Float32Array(size);
    for (let i = 0; i < size; i++) v[i] = scale * Math.sin(this.seed * 12.9898 + i * 78.233);
    this.seed++;
    this.inits.push({ name, dims, dataType: DT.FLOAT, rawData: new Uint8Array(v.buffer) });
    return name;
  }
  ints(name: string, values: number[]): string {
    this.inits.push({ name, dims: [values.length], dataType: DT.INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
    return name;
  }
  /** A Linear as exports write it: an anonymous transposed initializer read by /scope/MatMul. */
  linear(module: string, x: string, inF: number, outF: number): string {
    const w = this.weight(`onnx::MatMul_${this.n++}`, [inF, outF], 1 / Math.sqrt(inF));
    return this.op('MatMul', `/${module.replace(/\.(?![0-9])/g, '/')}/MatMul`, [x, w]);
  }
}

const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
const int = (name: string, v: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });

function silu(g: Builder, x: string, p: string): string {
  return g.op('Mul', `${p}/Mul`, [x, g.op('Sigmoid', `${p}/Sigmoid`, [x])]);
}

function attention(g: Builder, p: string, x: string, ctx: string, ctxDim: number): string {
  const q = g.linear(`${p}.to_q`, x, C, C);
  const k = g.linear(`${p}.to_k`, ctx, ctxDim, C);
  const v = g.linear(`${p}.to_v`, ctx, ctxDim, C);
  const kt = g.op('Transpose', `/${p.replace(/\./g, '/')}/Transpose`, [k], [ints('perm', [0, 2, 1])]);
  const s = g.op('Mul', `/${p.replace(/\./g, '/')}/Scale`, [g.op('MatMul', `/${p.replace(/\./g, '/')}/QK`, [q, kt]), g.weight(`${p}.scale`, [], 0)]);
  const a = g.op('Softmax', `/${p.replace(/\./g, '/')}/Softmax`, [s], [int('axis', -1)]);
  return g.linear(`${p}.to_out.0`, g.op('MatMul', `/${p.replace(/\./g, '/')}/AV`, [a, v]), C, C);
}

/** Writes the level's graph: input x [B, 320, 64, 64], encoder_hidden_states [B, 77, 768] → y. */
function writeLevel(path: string): string[] {
  const g = new Builder();
  const modules: string[] = [];
  const conv = (module: string, x: string) => {
    modules.push(module);
    return g.op('Conv', `/${module.replace(/\.(?![0-9])/g, '/')}/Conv`, [x, g.weight(`${module}.weight`, [C, C, 3, 3], 0.02)], [ints('pads', [1, 1, 1, 1]), ints('kernel_shape', [3, 3])]);
  };
  const r = 'down_blocks.0.resnets.0';
  const h = conv(`${r}.conv2`, silu(g, conv(`${r}.conv1`, silu(g, 'x', `/${r}/a`)), `/${r}/b`));
  const res = g.op('Add', `/${r}/Add`, [h, 'x']);
  const a = 'down_blocks.0.attentions.0';
  const tokens = g.op('Transpose', `/${a}/T`, [g.op('Reshape', `/${a}/R`, [res, g.ints('shape_flat', [0, C, -1])])], [ints('perm', [0, 2, 1])]);
  let t = g.linear(`${a}.proj_in`, tokens, C, C);
  const b = `${a}.transformer_blocks.0`;
  t = g.op('Add', `/${b}/Add1`, [t, attention(g, `${b}.attn1`, t, t, C)]);
  t = g.op('Add', `/${b}/Add2`, [t, attention(g, `${b}.attn2`, t, 'encoder_hidden_states', CTX)]);
  const proj = g.linear(`${b}.ff.net.0.proj`, t, C, 2 * FF);
  const half = g.ints('half', [FF]);
  const x1 = g.op('Slice', `/${b}/ff/a`, [proj, g.ints('zero', [0]), half, g.ints('axis2', [2])]);
  const gate = g.op('Slice', `/${b}/ff/g`, [proj, half, g.ints('end', [2 * FF]), 'axis2']);
  const ff = g.linear(`${b}.ff.net.2`, g.op('Mul', `/${b}/ff/Mul`, [x1, silu(g, gate, `/${b}/ff/act`)]), FF, C);
  t = g.op('Add', `/${b}/Add3`, [t, ff]);
  const back = g.op('Reshape', `/${a}/R2`, [g.op('Transpose', `/${a}/T2`, [g.linear(`${a}.proj_out`, t, C, C)], [ints('perm', [0, 2, 1])]), g.ints('shape_back', [0, C, H, H])]);
  g.nodes.push({ opType: 'Add', name: '/out/Add', input: [back, res], output: ['y'] });
  for (const m of ['attn1.to_q', 'attn1.to_k', 'attn1.to_v', 'attn1.to_out.0', 'attn2.to_q', 'attn2.to_k', 'attn2.to_v', 'attn2.to_out.0', 'ff.net.0.proj', 'ff.net.2']) modules.push(`${b}.${m}`);
  modules.push(`${a}.proj_in`, `${a}.proj_out`);
  const vi = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: DT.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const model = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'level', node: g.nodes, initializer: g.inits, input: [vi('x', ['B', C, H, H]), vi('encoder_hidden_states', ['B', 77, CTX])], output: [vi('y', ['B', C, H, H])] } };
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return modules;
}

function writeLora(path: string, modules: readonly string[], rank: number, convs: boolean): void {
  const t: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }> = {};
  const dims: Record<string, [number, number]> = { 'attn2.to_k': [CTX, C], 'attn2.to_v': [CTX, C], 'ff.net.0.proj': [C, 2 * FF], 'ff.net.2': [FF, C] };
  for (const m of modules) {
    const isConv = m.includes('.resnets.');
    if (isConv && !convs) continue;
    const [inF, outF] = Object.entries(dims).find(([k]) => m.endsWith(k))?.[1] ?? [C, C];
    const k = `lora_unet_${m.replace(/\./g, '_')}`;
    const down = isConv ? [rank, inF, 3, 3] : [rank, inF];
    const up = isConv ? [outF, rank, 1, 1] : [outF, rank];
    const fill = (shape: number[]) => new Uint8Array(Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => 0.01 * Math.sin(i)).buffer);
    t[`${k}.lora_down.weight`] = { dtype: 'F32', shape: down, bytes: fill(down) };
    t[`${k}.lora_up.weight`] = { dtype: 'F32', shape: up, bytes: fill(up) };
  }
  writeFileSync(path, encodeSafetensors(t, { ss_network_alpha: String(rank) }));
}

function feeds(B: number, scales?: number[]): Record<string, ort.Tensor> {
  const x = new Float32Array(B * C * H * H).map((_, i) => Math.sin(i * 0.001));
  const e = new Float32Array(B * 77 * CTX).map((_, i) => Math.cos(i * 0.01));
  return {
    x: new ort.Tensor('float32', x, [B, C, H, H]),
    encoder_hidden_states: new ort.Tensor('float32', e, [B, 77, CTX]),
    ...(scales ? { 'lora_scale.0': new ort.Tensor('float32', Float32Array.from(scales), [B]) } : {}),
  };
}

/** Medians of alternating runs of two models (A, B, A, B, …), so a busy shared CPU slows both alike. */
async function pairedMedians(a: string, fa: Record<string, ort.Tensor>, b: string, fb: Record<string, ort.Tensor>, runs: number): Promise<[number, number]> {
  const sa = await ort.InferenceSession.create(a, { graphOptimizationLevel: 'all' });
  const sb = await ort.InferenceSession.create(b, { graphOptimizationLevel: 'all' });
  await sa.run(fa);
  await sb.run(fb);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await sa.run(fa);
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await sb.run(fb);
    tb.push(performance.now() - t0);
  }
  await sa.release();
  await sb.release();
  const med = (t: number[]) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)];
  return [med(ta), med(tb)];
}

export interface LoraStepRow {
  readonly rank: number;
  readonly targets: string;
  readonly baseMs: number;
  readonly branchMs: number;
  readonly share: number;
}

export interface LoraRssRow {
  readonly setting: string;
  readonly peakRssMB: number;
}

const currentC = () => C;
const currentH = () => H;
const PEAK = `(await import('node:fs')).existsSync('/proc/self/status') ? Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) / 1024 : process.resourceUsage().maxRSS / 1024`;

/** Peak RSS of a fresh process that loads `models` (one session each) and runs each scale once at batch 1. */
function peakRss(setting: string, runs: { model: string; scale?: number }[]): LoraRssRow {
  const [C, H] = [currentC(), currentH()];
  const ortEntry = fileURLToPath(import.meta.resolve('onnxruntime-node'));
  const code = `
    const ort = (await import(${JSON.stringify(ortEntry)})).default;
    const C = ${C}, H = ${H}, CTX = ${CTX};
    const runs = ${JSON.stringify(runs)};
    const sessions = new Map();
    for (const r of runs) if (!sessions.has(r.model)) sessions.set(r.model, await ort.InferenceSession.create(r.model, { graphOptimizationLevel: 'all' }));
    for (const r of runs) {
      const f = { x: new ort.Tensor('float32', new Float32Array(C * H * H).fill(0.1), [1, C, H, H]), encoder_hidden_states: new ort.Tensor('float32', new Float32Array(77 * CTX).fill(0.1), [1, 77, CTX]) };
      if (r.scale !== undefined) f['lora_scale.0'] = new ort.Tensor('float32', Float32Array.from([r.scale]), [1]);
      await sessions.get(r.model).run(f);
    }
    console.log(${PEAK});`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`rss ${setting}: ${res.stderr}`);
  return { setting, peakRssMB: Number(res.stdout.trim().split('\n').pop()) };
}

export async function benchLora(): Promise<{ step: LoraStepRow[]; rss: LoraRssRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-bench-lora-'));
  try {
    // time: SD 1.5's first level, where a LoRA branch costs the most relative to the layer (width 320)
    setLevel({ C: 320, H: 64 });
    const base = join(dir, 'level.onnx');
    const modules = writeLevel(base);
    const step: LoraStepRow[] = [];
    for (const [rank, convs] of [[8, false], [32, false], [32, true]] as const) {
      const lora = join(dir, `r${rank}${convs ? 'c' : ''}.safetensors`);
      writeLora(lora, modules, rank, convs);
      const rt = join(dir, `rt${rank}${convs ? 'c' : ''}.onnx`);
      writeRuntimeLoraModel({ model: base, loras: [lora], out: rt, component: 'unet' });
      const [baseMs, branchMs] = await pairedMedians(base, feeds(1), rt, feeds(1, [0.8]), 5);
      step.push({ rank, targets: convs ? 'attention linears + resnet convs (LoCon)' : 'attention linears', baseMs, branchMs, share: branchMs / baseMs - 1 });
    }
    // memory: SD 1.5's deepest level (width 1280, 8×8), where the weights (≈ 280 MB here) dominate as in a UNet
    setLevel({ C: 1280, H: 8 });
    const deep = join(dir, 'deep.onnx');
    const deepModules = writeLevel(deep);
    const lora = join(dir, 'deep-r32.safetensors');
    writeLora(lora, deepModules, 32, false);
    const rt = join(dir, 'deep-rt32.onnx');
    const strong = join(dir, 'strong.onnx');
    const weak = join(dir, 'weak.onnx');
    writeRuntimeLoraModel({ model: deep, loras: [lora], out: rt, component: 'unet' });
    const [deepBase, deepBranch] = await pairedMedians(deep, feeds(1), rt, feeds(1, [0.8]), 5);
    step.push({ rank: 32, targets: 'attention linears, deepest level (1280 at 8×8)', baseMs: deepBase, branchMs: deepBranch, share: deepBranch / deepBase - 1 });
    mergeLoraIntoOnnx({ model: deep, loras: [{ path: lora, scale: 0.8 }], out: strong, component: 'unet' });
    mergeLoraIntoOnnx({ model: deep, loras: [{ path: lora, scale: -1.5 }], out: weak, component: 'unet' });
    const rss = [
      peakRss('one plain model, three runs', [{ model: deep }, { model: deep }, { model: deep }]),
      peakRss('pair on one runtime-scale session (main 0.8, strong 0.8, weak −1.5)', [{ model: rt, scale: 0.8 }, { model: rt, scale: 0.8 }, { model: rt, scale: -1.5 }]),
      peakRss('pair on two merged models (+0.8, −1.5)', [{ model: strong }, { model: strong }, { model: weak }]),
    ];
    printLora(step, rss);
    return { step, rss };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printLora(step: readonly LoraStepRow[], rss: readonly LoraRssRow[]): void {
  console.log('\n## LoRA: runtime-scale branch cost (SD 1.5\'s first level, width 320 at 64×64, unless stated; batch 1)\n');
  console.log('| rank | LoRA targets | plain model ms | runtime-scale model ms | branch share |');
  console.log('|---|---|---|---|---|');
  for (const r of step) console.log(`| ${r.rank} | ${r.targets} | ${r.baseMs.toFixed(0)} | ${r.branchMs.toFixed(0)} | ${(r.share * 100).toFixed(1)} % |`);
  console.log('\n| setting (SD 1.5\'s deepest level, width 1280 at 8×8, rank 32) | peak RSS MiB | vs one plain model |');
  console.log('|---|---|---|');
  for (const r of rss) console.log(`| ${r.setting} | ${r.peakRssMB.toFixed(0)} | ${(r.peakRssMB / rss[0].peakRssMB).toFixed(2)}× |`);
}
