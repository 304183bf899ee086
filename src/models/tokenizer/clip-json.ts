/**
 * The CLIP tokenizer in Hugging Face `tokenizer.json` form, built from the `vocab.json` + `merges.txt` pair
 * that Stable Diffusion folders ship. The pipeline stages are CLIP's own: NFC, whitespace collapsed, lower
 * case; words split by CLIP's pattern (letters, single digits, runs of other symbols, English clitics); bytes
 * mapped to printable characters; BPE with a word-final `</w>`.
 */

/** CLIP's word pattern (openai/CLIP simple_tokenizer), without its special-token alternatives. */
export const CLIP_WORD_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export interface SpecialTokens {
  readonly bos: string;
  readonly eos: string;
}

export function clipTokenizerJson(vocab: Readonly<Record<string, number>>, merges: readonly string[], special: SpecialTokens): object {
  const idOf = (token: string): number => {
    const id = vocab[token];
    if (id === undefined) throw new Error(`vocab.json has no entry for special token ${token}`);
    return id;
  };
  const added = (content: string) => ({ id: idOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(special.bos), ...(special.eos === special.bos ? [] : [added(special.eos)])],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_WORD_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: special.eos,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
}

/** merges.txt: one "a b" pair a line after a `#version` header. */
export function parseMerges(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith('#version')));
}
