import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { forgetSdModels } from '../src/models/sd/model.js';
import { generate, type GenerateOptions } from '../src/pipelines/txt2img.js';
import { writeTinySdFolder } from '../test/helpers/onnx-graphs.js';

/*
 * Stable Diffusion pipeline costs: how a sampling step splits into UNet time (inside ONNX Runtime) and
 * everything else (CFG, sampler, reflection, tensor conversion), and the peak resident memory of a single
 * model against a two-model pair. Runs on test UNets built here and on any model folder given with
 * `--sd-model <dir>` (repeatable; `--sd-steps`, `--sd-size` to keep real models affordable on a CPU).
 */

export interface StepSplitRow {
  readonly model: string;
  readonly method: string;
  readonly latent: string;
  readonly steps: number;
  readonly evaluations: number;
  readonly unetMsPerEval: number;
  readonly otherMsPerEval: number;
  readonly otherShare: number;
}

export interface RssRow {
  readonly setting: string;
  readonly peakRssMB: number;
}

function argValues(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === name && args[i + 1] !== undefined) out.push(args[i + 1]);
    else if (a.startsWith(`${name}=`)) out.push(a.slice(name.length + 1));
  });
  return out;
}

async function split(label: string, opts: GenerateOptions): Promise<StepSplitRow> {
  await generate({ ...opts, steps: 2, lambda: opts.pair ? 1 : undefined }); // load sessions, warm ORT's allocator
  const r = await generate(opts);
  const other = r.timingsMs.sample - r.timingsMs.unet;
  return {
    model: label,
    method: r.pair ? `${r.method} (${r.pair})` : r.method,
    latent: r.latentShape.slice(1).join('×'),
    steps: r.steps,
    evaluations: r.evaluations,
    unetMsPerEval: r.timingsMs.unet / r.evaluations,
    otherMsPerEval: other / r.evaluations,
    otherShare: other / r.timingsMs.sample,
  };
}

/*
 * Peak RSS of a fresh process that runs one generation. Linux's getrusage maxrss survives fork + exec (a child
 * starts with its parent's peak), so the per-address-space VmHWM is read where /proc has it.
 */
const PEAK_KB = `(await import('node:fs')).existsSync('/proc/self/status') ? Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) : process.resourceUsage().maxRSS`;

function peakRss(setting: string, opts: object | null): RssRow {
  const entry = fileURLToPath(new URL('../src/pipelines/txt2img.js', import.meta.url));
  const code = opts
    ? `import { generate } from ${JSON.stringify(entry)}; await generate(${JSON.stringify(opts)}); console.log(${PEAK_KB});`
    : `await import(${JSON.stringify(entry)}); await import('onnxruntime-node'); console.log(${PEAK_KB});`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`rss ${setting}: ${res.stderr}`);
  return { setting, peakRssMB: Number(res.stdout.trim().split('\n').pop()) / 1024 };
}

export async function benchSd(args: readonly string[] = []): Promise<{ split: StepSplitRow[]; rss: RssRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-bench-sd-'));
  try {
    // 64×64 latents = a 512² SD image; the tiny VAE has factor 2, so 128² pixels here.
    const size = { width: 128, height: 128 };
    const light = writeTinySdFolder(join(dir, 'light'), { family: 'sd1' }).dir;
    // SD 1.5's UNet opens with conv_in (4 → 320) and ends with conv_out (320 → 4) at full latent size; this
    // test UNet is just those plus one 320-channel 3×3 conv: a small lower bound of the real UNet's cost.
    const conv = writeTinySdFolder(join(dir, 'conv'), { family: 'sd1', unet: { convWidth: 320 } }).dir;
    const base = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: 0, ...size };
    const rows: StepSplitRow[] = [];
    rows.push(await split('test UNet, formula only', { ...base, model: light, steps: 20 }));
    rows.push(await split('test UNet, 3 convs of width 320', { ...base, model: conv, steps: 5 }));
    rows.push(await split('test UNet, 3 convs of width 320', { ...base, model: conv, steps: 5, pair: 'guidance' }));
    const steps = Number(argValues(args, '--sd-steps')[0] ?? 4);
    const side = argValues(args, '--sd-size')[0];
    for (const m of argValues(args, '--sd-model')) {
      const extra = side ? { width: Number(side), height: Number(side) } : {};
      rows.push(await split(m, { prompt: base.prompt, model: m, steps, ...extra }));
    }
    await releaseAllSessions();
    forgetSdModels();

    // Two "checkpoints" with 96 MiB of UNet weights each, inside model.onnx and as external data (what
    // optimum writes for UNets over protobuf's 2 GB limit).
    const mem = { prompt: 'a cat', width: 32, height: 32, steps: 3 };
    const rss = [peakRss('node + onnxruntime-node, no model', null)];
    for (const external of [undefined, 'model.onnx_data'] as const) {
      const where = external ? 'weights in model.onnx_data' : 'weights inside model.onnx';
      const a = writeTinySdFolder(join(dir, `mem-a-${external ?? 'inline'}`), { family: 'sd1', unet: { ballastMB: 96, seed: 1, external } }).dir;
      const b = writeTinySdFolder(join(dir, `mem-b-${external ?? 'inline'}`), { family: 'sd1', unet: { ballastMB: 96, seed: 2, external } }).dir;
      rss.push(peakRss(`${where}: one model (CFG)`, { ...mem, model: a }));
      rss.push(peakRss(`${where}: guidance pair (three legs, one folder)`, { ...mem, model: a, pair: 'guidance' }));
      rss.push(peakRss(`${where}: cumulative pair (two folders)`, { ...mem, model: a, pair: 'cumulative', weakModel: b }));
    }
    for (const m of argValues(args, '--sd-model')) {
      const extra = side ? { width: Number(side), height: Number(side) } : {};
      rss.push(peakRss(`${m} (CFG, ${steps} steps)`, { prompt: 'a cat', model: m, steps, ...extra }));
    }
    printSd(rows, rss);
    return { split: rows, rss };
  } finally {
    await releaseAllSessions();
    forgetSdModels();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printSd(rows: readonly StepSplitRow[], rss: readonly RssRow[]): void {
  const f = (v: number, d = 3) => v.toFixed(d);
  console.log('\n## Stable Diffusion: where a step goes\n');
  console.log('| model | method | latent | steps | evaluations | UNet ms/eval | other ms/eval | other share |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.method} | ${r.latent} | ${r.steps} | ${r.evaluations} | ${f(r.unetMsPerEval, 2)} | ${f(r.otherMsPerEval)} | ${f(r.otherShare * 100, 2)} % |`);
  }
  console.log('\n| setting (test UNets with 96 MiB of weights each, 4×16×16 latents) | peak RSS MiB |');
  console.log('|---|---|');
  for (const r of rss) console.log(`| ${r.setting} | ${r.peakRssMB.toFixed(0)} |`);
}
