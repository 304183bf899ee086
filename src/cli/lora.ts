import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { COMPONENTS, type LoraComponent } from '../models/lora/keys.js';
import { mergeLoraIntoOnnx, parseLoraSpec } from '../models/lora/apply.js';

interface MergeRaw {
  scale: string;
  out: string;
  component?: string;
  unetConfig?: string;
  json?: boolean;
}

export interface LoraIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: LoraIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

function finite(value: string, name: string): number {
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(v)) throw new Error(`${name}: expected a finite number (negative allowed, e.g. -1.5), got ${JSON.stringify(value)}`);
  return v;
}

function checkInputs(model: string, raw: MergeRaw): void {
  if (!existsSync(model) || !statSync(model).isFile()) throw new Error(`MODEL ${model}: expected an existing .onnx file`);
  if (extname(raw.out).toLowerCase() !== '.onnx') throw new Error(`--out ${raw.out}: expected a file name ending in .onnx`);
  const parent = dirname(resolve(raw.out));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new Error(`--out ${raw.out}: folder ${parent} does not exist`);
  if (raw.component !== undefined && !(COMPONENTS as readonly string[]).includes(raw.component)) {
    throw new Error(`--component: expected one of ${COMPONENTS.join(', ')}, got ${JSON.stringify(raw.component)}`);
  }
  if (raw.unetConfig !== undefined && !existsSync(raw.unetConfig)) throw new Error(`--unet-config ${raw.unetConfig}: file not found`);
}

/** `w2sd lora merge MODEL LORA[:SCALE]... --scale S --out OUT`. */
export function registerLora(program: Command, io: LoraIo = STDIO): Command {
  const lora = program.command('lora').description('LoRA files (kohya, diffusers/PEFT) on ONNX models');
  lora
    .command('merge')
    .description('Write MODEL with LoRA deltas merged: W + s·(alpha/rank)·up·down on every targeted weight (MODEL is never modified)')
    .argument('<model>', 'ONNX model file (a UNet or text encoder export)')
    .argument('<lora...>', 'LoRA .safetensors files, each FILE or FILE:SCALE')
    .requiredOption('--out <file.onnx>', 'output model (external weights go to <file.onnx>_data beside it when the input has them)')
    .option('--scale <s>', 'scale of files given without :SCALE (negative allowed)', '1')
    .option('--component <name>', `${COMPONENTS.join(', ')} (default: from the model's inputs)`)
    .option('--unet-config <file>', "the UNet's diffusers config.json, for LDM-named keys (default: config.json beside MODEL)")
    .option('--json', 'print a JSON summary')
    .action((model: string, files: string[], raw: MergeRaw) => {
      const scale = finite(raw.scale, '--scale');
      const specs = files.map((f) => parseLoraSpec(f, scale));
      for (const s of specs) if (!existsSync(s.path)) throw new Error(`LoRA file ${s.path}: not found`);
      checkInputs(model, raw);
      const logs: string[] = [];
      const r = mergeLoraIntoOnnx({
        model,
        loras: specs,
        out: raw.out,
        component: raw.component as LoraComponent | undefined,
        unetConfig: raw.unetConfig,
        log: (m) => (raw.json ? logs.push(m) : io.err(`${m}\n`)),
      });
      if (raw.json) {
        io.out(JSON.stringify({ component: r.component, model: r.model, data: r.data ?? null, initializers: r.initializers, loras: r.matches.map((m, i) => ({ path: m.lora.path, scale: specs[i].scale, report: m.report, notes: m.notes })) }, null, 2) + '\n');
      } else {
        io.out(`merged ${specs.length} LoRA file(s) into ${r.component}: ${r.initializers} initializers changed; wrote ${r.model}${r.data ? ` and ${r.data}` : ''}\n`);
      }
    });
  return lora;
}
