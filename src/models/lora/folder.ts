import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { readSdFolder } from '../sd/folder.js';
import { readLoraFile, type LoraComponent } from './keys.js';
import { formatReport, matchLora, type ComponentModel, type LoraMatch } from './match.js';
import { mergedInitializers } from './merge.js';
import { OnnxWeights } from './onnx-weights.js';
import { writeRuntimeScaleModel } from './runtime.js';
import { unetLayoutBeside, type LoraSpec } from './apply.js';
import { writeOnnxWithInitializers } from './write.js';

/**
 * A model folder with LoRAs applied, for generation: a temporary folder that mirrors the original (symlinks to
 * everything unchanged: tokenizers, VAE, configs) with new UNet and text-encoder models where the LoRAs reach.
 * `merge` bakes the scales in (`--lora FILE:SCALE`); `runtime` adds side branches scaled by the inputs
 * `lora_scale.k`, so legs at different scales share one session. Built once per process for each (folder,
 * LoRAs, mode) and removed at exit.
 */
export type LoraFolderMode = { readonly kind: 'merge'; readonly loras: readonly LoraSpec[] } | { readonly kind: 'runtime'; readonly loras: readonly string[] };

export interface LoraFolder {
  readonly dir: string;
  /** The components that changed and their match reports. */
  readonly report: string[];
  readonly notes: string[];
}

const built = new Map<string, LoraFolder>();
let cleanupRegistered = false;

function keyOf(dir: string, mode: LoraFolderMode): string {
  const files = mode.kind === 'merge' ? mode.loras.map((l) => [resolve(l.path), l.scale]) : mode.loras.map((l) => [resolve(l)]);
  const stamps = files.map(([p]) => (existsSync(p as string) ? statSync(p as string).mtimeMs : 0));
  return JSON.stringify([realpathSync(dir), mode.kind, files, stamps]);
}

/** Mirrors `src` into `dst` with symlinks, descending only into folders that hold a replaced file. */
function mirror(src: string, dst: string, replaced: ReadonlySet<string>): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    if (replaced.has(s)) continue;
    const holds = [...replaced].some((r) => r.startsWith(s + sep));
    if (holds && statSync(s).isDirectory()) mirror(s, join(dst, name), replaced);
    else symlinkSync(realpathSync(s), join(dst, name));
  }
}

export function loraFolder(modelDir: string, mode: LoraFolderMode): LoraFolder {
  if (mode.loras.length === 0) throw new Error('loraFolder: no LoRA files');
  const key = keyOf(modelDir, mode);
  const have = built.get(key);
  if (have) return have;
  const folder = readSdFolder(modelDir);
  const root = realpathSync(folder.dir);
  const c = folder.components;
  const present: [LoraComponent, string][] = [['unet', c.unet], ['text_encoder', c.textEncoder]];
  if (c.textEncoder2) present.push(['text_encoder_2', c.textEncoder2]);
  const models: ComponentModel[] = present.filter(([, p]) => existsSync(p)).map(([component, p]) => ({
    component,
    weights: OnnxWeights.load(p),
    layout: component === 'unet' ? unetLayoutBeside(p) : undefined,
  }));
  const paths = mode.kind === 'merge' ? mode.loras.map((l) => l.path) : mode.loras;
  const files = paths.map((p) => readLoraFile(p));
  try {
    // every LoRA is matched against every component before anything is computed or written
    const matches: LoraMatch[] = files.map((f) => matchLora(f, models));
    const dir = mkdtempSync(join(tmpdir(), 'w2sd-lora-model-'));
    if (!cleanupRegistered) {
      cleanupRegistered = true;
      process.once('exit', () => {
        for (const f of built.values()) rmSync(f.dir, { recursive: true, force: true });
      });
    }
    try {
      const changed = models.filter((m) => matches.some((x) => (x.byComponent.get(m.component)?.length ?? 0) > 0));
      const replaced = new Set<string>();
      for (const m of changed) {
        replaced.add(realpathSync(m.weights.path));
        for (const t of m.weights.model.graph?.initializer ?? []) {
          const ext = m.weights.externalOf(t);
          if (ext) replaced.add(realpathSync(ext.file));
        }
      }
      mirror(root, dir, replaced);
      for (const m of changed) {
        const out = join(dir, relative(root, realpathSync(m.weights.path)));
        mkdirSync(dirname(out), { recursive: true });
        if (mode.kind === 'merge') {
          const bytes = mergedInitializers(m.weights, m.component, matches.map((match, i) => ({ match, scale: mode.loras[i].scale })));
          writeOnnxWithInitializers(m.weights, bytes, out);
        } else {
          writeRuntimeScaleModel(m.weights, m.component, matches, out);
        }
      }
      const result: LoraFolder = { dir, report: matches.map((x) => `${x.lora.path}: ${formatReport(x)}`), notes: matches.flatMap((x) => [...x.notes]) };
      built.set(key, result);
      return result;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  } finally {
    for (const f of files) f.file.close();
  }
}
