import { Tokenizer } from '@huggingface/tokenizers';

export interface ClipTokenizerConfig {
  readonly bos: number;
  readonly eos: number;
  /** SD 1.x pads with the end token; SD 2.x and SDXL's second tokenizer with 0 ("!"). */
  readonly pad: number;
  /** Sequence length the text encoder was exported with, start and end tokens included (77). */
  readonly maxLength: number;
}

export interface EncodedPrompt {
  /** Exactly maxLength ids: bos, tokens, eos, padding. */
  readonly ids: Int32Array;
  /** Tokens kept between bos and eos. */
  readonly tokenCount: number;
  /** The part of the prompt that did not fit, decoded back to text; null when nothing was cut. */
  readonly truncated: string | null;
}

/**
 * CLIP's tokenizer as Stable Diffusion pipelines use it: BPE (by @huggingface/tokenizers, which reproduces
 * the reference ids on the real vocabulary), then start token, at most maxLength − 2 tokens, end token, and
 * the model's own pad token up to maxLength.
 */
export class ClipTokenizer {
  constructor(
    private readonly bpe: Tokenizer,
    readonly config: ClipTokenizerConfig,
  ) {
    if (!Number.isInteger(config.maxLength) || config.maxLength < 2) {
      throw new Error(`tokenizer: model_max_length must be an integer ≥ 2, got ${config.maxLength}`);
    }
  }

  /** BPE ids of the text alone, no special tokens, no truncation. */
  tokenize(text: string): number[] {
    return this.bpe.encode(text, { add_special_tokens: false }).ids;
  }

  encode(text: string): EncodedPrompt {
    const { bos, eos, pad, maxLength } = this.config;
    const tokens = this.tokenize(text);
    const room = maxLength - 2;
    const kept = tokens.slice(0, room);
    const ids = new Int32Array(maxLength).fill(pad);
    ids[0] = bos;
    ids.set(kept, 1);
    ids[kept.length + 1] = eos;
    const truncated = tokens.length > room ? this.bpe.decode(tokens.slice(room), { skip_special_tokens: false }) : null;
    return { ids, tokenCount: kept.length, truncated };
  }

  decode(ids: ArrayLike<number>): string {
    return this.bpe.decode(Array.from(ids), { skip_special_tokens: true });
  }

  tokenToId(token: string): number | undefined {
    return this.bpe.token_to_id(token);
  }
}

export function truncationWarning(prompt: string, truncated: string, maxLength: number): string {
  const head = prompt.length > 40 ? `${prompt.slice(0, 40)}…` : prompt;
  return `prompt "${head}" is longer than the text encoder's ${maxLength} tokens; this part was dropped: "${truncated}"`;
}
