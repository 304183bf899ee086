import { SafetensorsError, SafetensorsFile, type TensorInfo } from './safetensors.js';

/**
 * LoRA key layouts, read from a safetensors file's names and shapes only (no tensor data), so a file can be
 * matched against a model, and refused, before anything is computed:
 *
 * - kohya-ss (sd-scripts, most downloads): `lora_unet_<module with _>.lora_down.weight` / `.lora_up.weight` /
 *   `.alpha`, `lora_te_` (SD 1.x/2.x), `lora_te1_` / `lora_te2_` (SDXL), UNet modules in diffusers' names or in
 *   the original LDM/SGM layout (`input_blocks_4_1_…`); LoCon convs (3×3 down, 1×1 up).
 * - diffusers/PEFT: `unet.<module>.lora_A.weight` / `lora_B.weight`, `unet.<module>.lora.down/up.weight`,
 *   `text_encoder(_2).<module>.lora_linear_layer.down/up.weight`, and the old attention-processor keys
 *   `<attention>.processor.to_q_lora.down.weight` (diffusers ≤ 0.16).
 *
 * LyCORIS LoHa/LoKr, DoRA and other decompositions change the weight by something other than up·down; they
 * are refused by name rather than merged wrongly.
 */

export const COMPONENTS = ['unet', 'text_encoder', 'text_encoder_2'] as const;
export type LoraComponent = (typeof COMPONENTS)[number];

export interface LoraModule {
  /** The module's key in the file without its suffix (what error messages quote). */
  readonly key: string;
  readonly component: LoraComponent;
  /** Component-relative module path: dotted (diffusers) or kohya's underscored form. */
  readonly path: string;
  readonly style: 'dotted' | 'kohya';
  readonly down: TensorInfo;
  readonly up: TensorInfo;
  readonly rank: number;
  /** alpha / rank: from the module's `.alpha`, else the file's ss_network_alpha, else alpha = rank (1). */
  readonly alphaOverRank: number;
  readonly alphaSource: 'tensor' | 'metadata' | 'rank';
}

export interface LoraFile {
  readonly path: string;
  readonly file: SafetensorsFile;
  readonly modules: readonly LoraModule[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly formats: readonly string[];
}

export class LoraFormatError extends Error {
  override readonly name = 'LoraFormatError';
}

const REFUSED: readonly [RegExp, string][] = [
  [/\.hada_(w[12]_[ab]|t[12])$/, 'LyCORIS LoHa (Hadamard product) weights'],
  [/\.lokr_(w[12](_[ab])?|t[12])$/, 'LyCORIS LoKr (Kronecker product) weights'],
  [/\.(dora_scale|lora_magnitude_vector(\.[^.]+)?(\.weight)?)$/, 'DoRA (weight-decomposed) magnitudes'],
  [/\.lora_mid\.weight$/, 'LyCORIS LoCon with a Tucker/CP mid factor'],
  [/\.(diff|diff_b)$/, 'full weight differences (LyCORIS "full")'],
  [/\.(w_norm|b_norm)$/, 'LyCORIS norm fine-tuning'],
  [/\.(a1|a2|b1|b2)\.weight$/, 'GLoRA weights'],
  [/\.(on_input|weight_ia3|ia3_l)$/, '(IA)³ weights'],
  [/\.lora_[AB](\.[^.]+)?\.bias$/, 'PEFT LoRA biases (lora_bias)'],
];

const KOHYA_PREFIX: readonly [string, LoraComponent][] = [
  ['lora_unet_', 'unet'],
  ['lora_te1_', 'text_encoder'],
  ['lora_te2_', 'text_encoder_2'],
  ['lora_te_', 'text_encoder'],
];

const PROCESSOR: Record<string, string> = { to_q_lora: 'to_q', to_k_lora: 'to_k', to_v_lora: 'to_v', to_out_lora: 'to_out.0' };

interface Parsed {
  readonly base: string;
  readonly component: LoraComponent;
  readonly path: string;
  readonly style: 'dotted' | 'kohya';
  readonly role: 'down' | 'up' | 'alpha';
  readonly format: string;
}

function dottedComponent(name: string): { component: LoraComponent; path: string } | undefined {
  for (const c of ['text_encoder_2', 'text_encoder', 'unet'] as const) {
    if (name.startsWith(`${c}.`)) return { component: c, path: name.slice(c.length + 1) };
  }
  // attention processors of diffusers ≤ 0.16 were saved from the UNet without a prefix
  if (/^(down_blocks|mid_block|up_blocks)\./.test(name)) return { component: 'unet', path: name };
  return undefined;
}

function parseKey(name: string): Parsed | undefined {
  for (const [prefix, component] of KOHYA_PREFIX) {
    if (!name.startsWith(prefix)) continue;
    const m = /^([^.]+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(name);
    if (!m) return undefined;
    const role = m[2] === 'alpha' ? 'alpha' : m[2].startsWith('lora_down') ? 'down' : 'up';
    return { base: m[1], component, path: m[1].slice(prefix.length), style: 'kohya', role, format: 'kohya' };
  }
  let m = /^(.+)\.processor\.(to_q_lora|to_k_lora|to_v_lora|to_out_lora)\.(down|up)\.weight$/.exec(name);
  if (m) {
    const c = dottedComponent(m[1]) ?? { component: 'unet' as const, path: m[1] };
    const module = `${c.path}.${PROCESSOR[m[2]]}`;
    return { base: `${m[1]}.processor.${m[2]}`, component: c.component, path: module, style: 'dotted', role: m[3] as 'down' | 'up', format: 'diffusers attention processors' };
  }
  const suffixes: readonly [RegExp, string][] = [
    [/^(.+)\.lora_([AB])\.weight$/, 'PEFT'],
    [/^(.+)\.lora\.(down|up)\.weight$/, 'diffusers'],
    [/^(.+)\.lora_linear_layer\.(down|up)\.weight$/, 'diffusers'],
    [/^(.+)\.(alpha)$/, 'diffusers'],
  ];
  for (const [re, format] of suffixes) {
    m = re.exec(name);
    if (!m) continue;
    const c = dottedComponent(m[1]);
    if (!c) return undefined;
    const role = m[2] === 'A' || m[2] === 'down' ? 'down' : m[2] === 'alpha' ? 'alpha' : 'up';
    return { base: m[1], component: c.component, path: c.path, style: 'dotted', role, format: role === 'alpha' ? '' : format };
  }
  return undefined;
}

function readAlpha(file: SafetensorsFile, t: TensorInfo): number {
  const n = t.shape.reduce((a, d) => a * d, 1);
  if (n !== 1) throw new LoraFormatError(`${file.path}: ${t.name} must hold one value (alpha), has shape [${t.shape.join(', ')}]`);
  const v = file.read(t.name)[0];
  if (!Number.isFinite(v) || v <= 0) throw new LoraFormatError(`${file.path}: ${t.name} = ${v}; alpha must be a positive finite number`);
  return v;
}

function metadataAlpha(path: string, metadata: Readonly<Record<string, string>>): number | undefined {
  const s = metadata.ss_network_alpha;
  if (s === undefined || s === 'None' || s === '') return undefined;
  const v = Number(s);
  if (!Number.isFinite(v) || v <= 0) throw new LoraFormatError(`${path}: metadata ss_network_alpha ${JSON.stringify(s)} is not a positive number`);
  return v;
}

function checkFactors(path: string, base: string, down: TensorInfo, up: TensorInfo): number {
  const r = down.shape[0];
  const ok =
    (down.shape.length === 2 || down.shape.length === 4) &&
    up.shape.length === down.shape.length &&
    r > 0 &&
    up.shape[1] === r &&
    up.shape.slice(2).every((d) => d === 1);
  if (!ok) {
    throw new LoraFormatError(`${path}: ${base}: down [${down.shape.join(', ')}] and up [${up.shape.join(', ')}] are not LoRA factors (down [r, in(, kh, kw)], up [out, r(, 1, 1)])`);
  }
  return r;
}

/** Reads the names, shapes and alphas of a LoRA file; tensor data stays on disk until merged. */
export function readLoraFile(path: string): LoraFile {
  const file = SafetensorsFile.open(path);
  try {
    return parseLora(file);
  } catch (err) {
    file.close();
    throw err;
  }
}

export function parseLora(file: SafetensorsFile): LoraFile {
  const path = file.path;
  const groups = new Map<string, { parsed: Parsed; down?: TensorInfo; up?: TensorInfo; alpha?: TensorInfo }>();
  const formats = new Set<string>();
  for (const t of file.tensors.values()) {
    for (const [re, what] of REFUSED) {
      if (re.test(t.name)) throw new LoraFormatError(`${path}: ${t.name}: ${what} are not supported (only LoRA/LoCon up·down factors)`);
    }
    const p = parseKey(t.name);
    if (!p) {
      throw new LoraFormatError(`${path}: unrecognised key ${JSON.stringify(t.name)} (expected kohya lora_unet_/lora_te*_ … .lora_down/.lora_up/.alpha, or diffusers/PEFT unet./text_encoder(_2). … .lora_A/.lora_B/.lora.down/.lora.up)`);
    }
    if (p.format) formats.add(p.format);
    const id = `${p.component}:${p.base}`;
    const g = groups.get(id) ?? { parsed: p };
    if (p.role !== 'alpha' && g.parsed.role === 'alpha') g.parsed = p;
    if (g[p.role]) throw new LoraFormatError(`${path}: two ${p.role} tensors for ${p.base}`);
    g[p.role] = t;
    groups.set(id, g);
  }
  const fallback = metadataAlpha(path, file.metadata);
  const modules: LoraModule[] = [];
  for (const g of groups.values()) {
    const base = g.parsed.base;
    if (!g.down || !g.up) {
      if (!g.down && !g.up) continue; // a lone alpha (some converters keep them for dropped modules)
      throw new LoraFormatError(`${path}: ${base} has a ${g.down ? 'down' : 'up'} factor but no ${g.down ? 'up' : 'down'} factor`);
    }
    const rank = checkFactors(path, base, g.down, g.up);
    const alpha = g.alpha ? readAlpha(file, g.alpha) : fallback;
    modules.push({
      key: base,
      component: g.parsed.component,
      path: g.parsed.path,
      style: g.parsed.style,
      down: g.down,
      up: g.up,
      rank,
      alphaOverRank: alpha === undefined ? 1 : alpha / rank,
      alphaSource: g.alpha ? 'tensor' : alpha !== undefined ? 'metadata' : 'rank',
    });
  }
  if (modules.length === 0) throw new LoraFormatError(`${path}: no LoRA modules (no down/up factor pairs) in ${file.tensors.size} tensors`);
  return { path, file, modules, metadata: file.metadata, formats: [...formats] };
}

export { SafetensorsError };
