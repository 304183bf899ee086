import type { LoraSpec } from '../models/lora/apply.js';
import { loraFolder } from '../models/lora/folder.js';
import type { LegSpec } from './legs.js';
import type { GenerateOptions } from './options.js';
import type { PairPreset } from './presets.js';
import type { Request } from './request.js';

/**
 * The model folder generation runs on when LoRAs are given. Ordinary use (`--lora FILE[:SCALE]`, repeatable)
 * merges them at load time; the lora pair (`--pair lora --lora FILE`) rewrites the UNet and text encoders once
 * with the LoRA as a runtime-scaled branch, so the main (0.8), strong (+0.8) and weak (−1.5) legs share one
 * resident session each. Everything is matched before any weight is computed.
 */
export function loraModelFolder(model: string, loras: readonly LoraSpec[] | undefined, pair: PairPreset | undefined, warn: (m: string) => void): string {
  if (pair === 'lora') {
    if (!loras || loras.length !== 1) throw new Error(`the lora pair needs exactly one LoRA file (--lora FILE), got ${loras?.length ?? 0}`);
    if (loras[0].scale !== 1) {
      throw new Error(`--pair lora: the legs' scales come from --lora-main-scale / --lora-strong-scale / --lora-weak-scale (defaults 0.8, 0.8, −1.5), not from ${loras[0].path}:${loras[0].scale}`);
    }
    const f = loraFolder(model, { kind: 'runtime', loras: [loras[0].path] });
    for (const n of f.notes) warn(n);
    return f.dir;
  }
  if (!loras || loras.length === 0) return model;
  for (const l of loras) if (!Number.isFinite(l.scale)) throw new Error(`LoRA scale for ${l.path}: expected a finite number, got ${l.scale}`);
  const f = loraFolder(model, { kind: 'merge', loras });
  for (const n of f.notes) warn(n);
  return f.dir;
}

/**
 * The request with its LoRAs applied: every leg that runs on `--model` runs on the LoRA folder instead (the
 * merged copy, or the runtime-scale rewrite for the lora pair). The request is fully checked before this.
 */
export function withLoras(req: Request, o: Pick<GenerateOptions, 'model' | 'loras' | 'pair'>, warn: (m: string) => void): Request {
  const dir = loraModelFolder(o.model, o.loras, o.pair, warn);
  if (dir === o.model) return req;
  const swap = (l: LegSpec): LegSpec => (l.model === o.model ? { ...l, model: dir } : l);
  return { ...req, legs: { main: swap(req.legs.main), strong: swap(req.legs.strong), weak: swap(req.legs.weak) } };
}
