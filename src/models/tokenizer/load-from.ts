import { Tokenizer } from '@huggingface/tokenizers';
import { ClipTokenizer } from './clip.js';
import { clipTokenizerJson, parseMerges } from './clip-json.js';
import type { ModelFiles } from '../host.js';

const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';
/** transformers writes a huge sentinel for "no limit"; anything above this is not a CLIP context length. */
const SANE_MAX_LENGTH = 4096;

function readJson(files: ModelFiles, path: string): Record<string, unknown> {
  try {
    return JSON.parse(files.readText(path)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A special token entry is either its text or an AddedToken object with `content`. */
function tokenText(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as { content?: unknown }).content === 'string') {
    return (entry as { content: string }).content;
  }
  return undefined;
}

export interface TokenizerOverrides {
  readonly bos?: number;
  readonly eos?: number;
  readonly pad?: number;
  readonly maxLength?: number;
}

/**
 * Loads a CLIP tokenizer folder as found in Stable Diffusion model folders: `tokenizer.json`, or
 * `vocab.json` + `merges.txt`; special tokens and length from `special_tokens_map.json` (which wins, as in
 * transformers) and `tokenizer_config.json`. The pad token is the folder's own: SD 1.x `<|endoftext|>`,
 * SD 2.x and SDXL's tokenizer_2 `!` (id 0).
 */
export function loadClipTokenizerIn(files: ModelFiles, dir: string, overrides: TokenizerOverrides = {}): ClipTokenizer {
  const inDir = (f: string) => files.join(dir, f);
  const has = (f: string) => files.exists(inDir(f));
  const config = has('tokenizer_config.json') ? readJson(files, inDir('tokenizer_config.json')) : {};
  const specialMap = has('special_tokens_map.json') ? readJson(files, inDir('special_tokens_map.json')) : {};
  const special = (key: string): string | undefined => tokenText(specialMap[key]) ?? tokenText(config[key]);

  let json: Record<string, unknown>;
  if (has('tokenizer.json')) {
    json = readJson(files, inDir('tokenizer.json'));
  } else if (has('vocab.json') && has('merges.txt')) {
    const vocab = readJson(files, inDir('vocab.json')) as Record<string, number>;
    const merges = parseMerges(files.readText(inDir('merges.txt')));
    json = clipTokenizerJson(vocab, merges, { bos: special('bos_token') ?? BOS, eos: special('eos_token') ?? EOS }) as Record<string, unknown>;
  } else {
    const missing = ['vocab.json', 'merges.txt'].filter((f) => !has(f)).join(' and ');
    throw new Error(`tokenizer folder ${dir}: expected tokenizer.json, or vocab.json and merges.txt (missing ${missing})`);
  }
  return fromTokenizerJson(json, `${dir}`, {
    bos: special('bos_token'),
    eos: special('eos_token'),
    pad: special('pad_token'),
    maxLength: typeof config.model_max_length === 'number' && config.model_max_length <= SANE_MAX_LENGTH ? config.model_max_length : undefined,
  }, overrides);
}

/** A lone tokenizer.json (flat exports such as tiny-sd-export, whose ids come from diffusers.json). */
export function loadClipTokenizerFileIn(files: ModelFiles, path: string, overrides: TokenizerOverrides = {}): ClipTokenizer {
  return fromTokenizerJson(readJson(files, path), path, {}, overrides);
}

interface Named {
  readonly bos?: string;
  readonly eos?: string;
  readonly pad?: string;
  readonly maxLength?: number;
}

function postProcessorIds(json: Record<string, unknown>): { bos?: number; eos?: number } {
  const pp = json.post_processor as { type?: string; cls?: [string, number]; sep?: [string, number] } | null | undefined;
  if (pp && (pp.type === 'RobertaProcessing' || pp.type === 'BertProcessing')) return { bos: pp.cls?.[1], eos: pp.sep?.[1] };
  return {};
}

function fromTokenizerJson(json: Record<string, unknown>, source: string, named: Named, overrides: TokenizerOverrides): ClipTokenizer {
  const model = json.model as { type?: string } | undefined;
  if (!model || model.type !== 'BPE') throw new Error(`${source}: expected a BPE tokenizer, got model type ${model?.type ?? 'none'}`);
  let bpe: Tokenizer;
  try {
    bpe = new Tokenizer(json, {});
  } catch (err) {
    throw new Error(`${source}: cannot build the tokenizer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const idOf = (token: string | undefined, what: string): number | undefined => {
    if (token === undefined) return undefined;
    const id = bpe.token_to_id(token);
    if (id === undefined) throw new Error(`${source}: ${what} ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  };
  const fromPost = postProcessorIds(json);
  const bos = overrides.bos ?? idOf(named.bos, 'bos_token') ?? fromPost.bos ?? idOf(BOS, 'start token');
  const eos = overrides.eos ?? idOf(named.eos, 'eos_token') ?? fromPost.eos ?? idOf(EOS, 'end token');
  const pad = overrides.pad ?? idOf(named.pad, 'pad_token') ?? eos;
  const maxLength = overrides.maxLength ?? named.maxLength ?? 77;
  return new ClipTokenizer(bpe, { bos: bos!, eos: eos!, pad: pad!, maxLength });
}
