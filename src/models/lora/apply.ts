import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { COMPONENTS, readLoraFile, type LoraComponent, type LoraFile } from './keys.js';
import { checkUnetLayout, type UnetLayout } from './ldm.js';
import { formatReport, matchLora, type LoraMatch } from './match.js';
import { mergedInitializers } from './merge.js';
import { OnnxWeights } from './onnx-weights.js';
import { writeRuntimeScaleModel } from './runtime.js';
import { writeOnnxWithInitializers } from './write.js';

/** A LoRA file and the scale s of W + s·(alpha/rank)·up·down. */
export interface LoraSpec {
  readonly path: string;
  readonly scale: number;
}

/** Parses `FILE[:SCALE]` (scale default 1; a Windows drive letter or a path with colons keeps its colons). */
export function parseLoraSpec(text: string, defaultScale = 1): LoraSpec {
  const m = /^(.*):([^:/\\]*)$/.exec(text);
  if (m && m[1] !== '' && !/^[A-Za-z]$/.test(m[1])) {
    const s = m[2].trim() === '' ? NaN : Number(m[2]);
    if (!Number.isFinite(s)) throw new Error(`--lora ${JSON.stringify(text)}: the scale after ':' must be a finite number, got ${JSON.stringify(m[2])}`);
    return { path: m[1], scale: s };
  }
  if (text === '') throw new Error('--lora: expected FILE[:SCALE], got an empty string');
  return { path: text, scale: defaultScale };
}

/** Which component an ONNX file is, from its inputs: a UNet takes `sample`, a text encoder `input_ids`. */
export function guessComponent(w: OnnxWeights): LoraComponent {
  const inputs = (w.model.graph?.input ?? []).map((i) => i.name);
  if (inputs.includes('sample')) return 'unet';
  if (inputs.includes('input_ids')) return 'text_encoder';
  throw new Error(`${w.path}: neither a UNet (input 'sample') nor a text encoder (input 'input_ids'); name the component with --component (${COMPONENTS.join(', ')})`);
}

/** The UNet's diffusers config beside its export (optimum: unet/config.json), if it is there. */
export function unetLayoutBeside(modelPath: string): UnetLayout | undefined {
  const p = join(dirname(modelPath), 'config.json');
  if (!existsSync(p)) return undefined;
  const cfg = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  return 'block_out_channels' in cfg ? checkUnetLayout(cfg, p) : undefined;
}

/** The model a LoRA goes into and where the result is written. */
export interface LoraTarget {
  readonly model: string;
  readonly out: string;
  /** Default: from the model's inputs. */
  readonly component?: LoraComponent;
  /** Default: config.json beside the model when it has the UNet's block layout. */
  readonly unetConfig?: string;
  readonly log?: (msg: string) => void;
}

export interface MergeOptions extends LoraTarget {
  readonly loras: readonly LoraSpec[];
}

export interface MergeResult {
  readonly component: LoraComponent;
  readonly model: string;
  readonly data?: string;
  readonly matches: readonly LoraMatch[];
  readonly initializers: number;
}

/** Opens LoRA files and matches them all against one component before any weight is read. */
export function matchAll(weights: OnnxWeights, component: LoraComponent, specs: readonly LoraSpec[], layout?: UnetLayout): { files: LoraFile[]; matches: LoraMatch[] } {
  const files: LoraFile[] = [];
  try {
    for (const s of specs) {
      if (!Number.isFinite(s.scale)) throw new Error(`LoRA scale for ${s.path}: expected a finite number, got ${s.scale}`);
      files.push(readLoraFile(s.path));
    }
    const others = COMPONENTS.filter((c) => c !== component);
    const matches = files.map((f) => matchLora(f, [{ component, weights, layout }], others));
    return { files, matches };
  } catch (err) {
    for (const f of files) f.file.close();
    throw err;
  }
}

/**
 * Loads one component's model and matches the LoRAs against it (everything checked before any weight is read),
 * logs the match reports, runs `write` and closes the LoRA files.
 */
function withMatched<T>(
  o: LoraTarget,
  specs: readonly LoraSpec[],
  write: (weights: OnnxWeights, component: LoraComponent, matches: LoraMatch[]) => T,
): T & { component: LoraComponent; matches: LoraMatch[] } {
  if (o.component !== undefined && !COMPONENTS.includes(o.component)) throw new Error(`--component: expected one of ${COMPONENTS.join(', ')}, got ${JSON.stringify(o.component)}`);
  const weights = OnnxWeights.load(o.model);
  const component = o.component ?? guessComponent(weights);
  const layout = o.unetConfig ? checkUnetLayout(JSON.parse(readFileSync(o.unetConfig, 'utf8')), o.unetConfig) : component === 'unet' ? unetLayoutBeside(o.model) : undefined;
  const { files, matches } = matchAll(weights, component, specs, layout);
  try {
    for (const m of matches) {
      o.log?.(`${m.lora.path}: ${formatReport(m)}`);
      for (const n of m.notes) o.log?.(`note: ${n}`);
    }
    return { ...write(weights, component, matches), component, matches };
  } finally {
    for (const f of files) f.file.close();
  }
}

/**
 * `w2sd lora merge`: writes MODEL with every targeted W replaced by W + s·(alpha/rank)·up·down (several LoRAs
 * add up). Everything is matched and checked first; MODEL is never modified; on error nothing is written.
 */
export function mergeLoraIntoOnnx(o: MergeOptions): MergeResult {
  if (o.loras.length === 0) throw new Error('lora merge: at least one LoRA file is needed');
  return withMatched(o, o.loras, (weights, component, matches) => {
    const replaced = mergedInitializers(weights, component, matches.map((match, i) => ({ match, scale: o.loras[i].scale })));
    return { ...writeOnnxWithInitializers(weights, replaced, o.out), initializers: replaced.size };
  });
}

export interface RuntimeModelOptions extends LoraTarget {
  readonly loras: readonly string[];
}

/**
 * Writes MODEL with each LoRA as a side branch whose scale is the runtime input `lora_scale.k` (float32
 * [batch], k = the LoRA's position): one session for every scale. Matched and checked like a merge.
 */
export function writeRuntimeLoraModel(o: RuntimeModelOptions): MergeResult & { branches: number } {
  if (o.loras.length === 0) throw new Error('a runtime-scale LoRA model needs at least one LoRA file');
  return withMatched(o, o.loras.map((path) => ({ path, scale: 1 })), (weights, component, matches) => ({
    ...writeRuntimeScaleModel(weights, component, matches, o.out),
    initializers: 0,
  }));
}
