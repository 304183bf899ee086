import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClipTokenizer, loadClipTokenizerFile } from '../src/models/tokenizer/load.js';
import { FIXTURES } from './helpers/onnx-graphs.js';

const FIX = FIXTURES;
const CLIP = `${FIX}/clip-tokenizer`;
const tmp = mkdtempSync(join(tmpdir(), 'w2sd-tok-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A tokenizer folder as SD repositories lay it out: the real vocabulary plus one model's config files. */
function folder(name: string, configsFrom?: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  symlinkSync(`${CLIP}/vocab.json`, join(dir, 'vocab.json'));
  symlinkSync(`${CLIP}/merges.txt`, join(dir, 'merges.txt'));
  if (configsFrom) {
    for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(`${configsFrom}/${f}`, join(dir, f));
  }
  return dir;
}

const sd15 = loadClipTokenizer(folder('sd15', `${FIX}/configs/sd15/tokenizer`));
const vocab = JSON.parse(readFileSync(`${CLIP}/vocab.json`, 'utf8')) as Record<string, number>;

function unpadded(ids: Int32Array, eos = 49407): number[] {
  return Array.from(ids.subarray(0, ids.indexOf(eos) + 1));
}

test('tokenizer: the published vector', () => {
  const e = sd15.encode('An astronaut riding a horse');
  assert.deepEqual(unpadded(e.ids), [49406, 550, 18376, 6765, 320, 4558, 49407]);
  assert.equal(e.ids.length, 77);
  assert.equal(e.tokenCount, 5);
  assert.equal(e.truncated, null);
});

test('tokenizer: whole words are the vocabulary’s own word-final entries (looked up in vocab.json)', () => {
  const words = ['a', 'photo', 'of', 'cat', 'highly', 'detailed', 'masterpiece'];
  const e = sd15.encode(words.join(' '));
  assert.deepEqual(unpadded(e.ids), [49406, ...words.map((w) => vocab[`${w}</w>`]), 49407]);
});

test('tokenizer: punctuation, digits, case, whitespace, clitics, accents, emoji, CJK', () => {
  // Expected ids from an independent Python implementation of CLIP's BPE (byte map, </w>, lowest-rank merge
  // first) written for this test against the same vocab.json and merges.txt.
  const cases: [string, number[]][] = [
    ['a photo of a cat, 4k!!', [49406, 320, 1125, 539, 320, 2368, 267, 275, 330, 748, 49407]],
    ['1234 3.14', [49406, 272, 273, 274, 275, 274, 269, 272, 275, 49407]],
    ["don't you're", [49406, 847, 713, 592, 982, 49407]],
    ['café naïve', [49406, 15304, 1097, 35689, 563, 49407]],
    ['emoji 🐱🚀', [49406, 16327, 35710, 13542, 49407]],
    ['a red-haired woman (masterpiece:1.2), highly detailed', [49406, 320, 736, 268, 27202, 2308, 263, 12066, 281, 272, 269, 273, 2361, 5302, 12609, 49407]],
    ['日本語', [49406, 39121, 44353, 34002, 508, 49407]],
    ['Straße', [49406, 1894, 127, 253, 324, 49407]],
  ];
  for (const [text, ids] of cases) assert.deepEqual(unpadded(sd15.encode(text).ids), ids, text);
  // Digits are single tokens, so "4k" is two tokens and "1234" four.
  assert.equal(sd15.tokenize('1234').length, 4);
  // Case and whitespace are normalised away; a decomposed accent equals the composed one (NFC).
  assert.deepEqual(sd15.encode('  Hello\t\n  WORLD  ').ids, sd15.encode('hello world').ids);
  assert.deepEqual(unpadded(sd15.encode('HELLO world').ids), [49406, 3306, 1002, 49407]);
  assert.deepEqual(sd15.encode('cafe\u0301').ids, sd15.encode('café').ids);
  assert.deepEqual(unpadded(sd15.encode('').ids), [49406, 49407]);
});

test('tokenizer: long prompts are cut at 77 with the dropped text reported', () => {
  const words = Array.from({ length: 80 }, (_, i) => (i < 75 ? 'cat' : 'dog'));
  const e = sd15.encode(words.join(' '));
  assert.equal(e.ids.length, 77);
  assert.equal(e.tokenCount, 75);
  assert.equal(e.ids[0], 49406);
  assert.equal(e.ids[76], 49407);
  assert.ok(e.ids.subarray(1, 76).every((id) => id === vocab['cat</w>']));
  assert.equal(e.truncated?.trim(), 'dog dog dog dog dog');
  const exact = sd15.encode(Array(75).fill('cat').join(' '));
  assert.equal(exact.truncated, null);
  assert.equal(exact.ids[76], 49407);
});

test('tokenizer: pad token comes from the folder (SD 1.5: 49407, SDXL tokenizer_2: 0 "!")', () => {
  const xl1 = loadClipTokenizer(folder('xl1', `${FIX}/configs/sdxl-turbo/tokenizer`));
  const xl2 = loadClipTokenizer(folder('xl2', `${FIX}/configs/sdxl-turbo/tokenizer_2`));
  const onnx = loadClipTokenizer(folder('sd15onnx', `${FIX}/configs/sd15-onnx/tokenizer`));
  assert.equal(sd15.config.pad, 49407);
  assert.equal(onnx.config.pad, 49407);
  assert.equal(xl1.config.pad, 49407);
  assert.equal(xl2.config.pad, 0);
  assert.equal(vocab['!'], 0);
  const a = xl2.encode('a cat');
  assert.deepEqual(Array.from(a.ids.subarray(0, 5)), [49406, 320, 2368, 49407, 0]);
  assert.ok(a.ids.subarray(4).every((id) => id === 0));
  const b = sd15.encode('a cat');
  assert.ok(b.ids.subarray(3).every((id) => id === 49407));
  for (const t of [sd15, xl1, xl2]) assert.equal(t.config.maxLength, 77);
});

test('tokenizer: tiny-sd-export tokenizer.json (1000-token vocabulary, bos 0 / eos 1 from diffusers.json)', () => {
  const d = JSON.parse(readFileSync(`${FIX}/tiny-sd-export/diffusers.json`, 'utf8')) as { tokenizer: { 'bos-token': number; 'eos-token': number; 'model-max-length': number } };
  const tiny = loadClipTokenizerFile(`${FIX}/tiny-sd-export/tokenizer.json`, {
    bos: d.tokenizer['bos-token'],
    eos: d.tokenizer['eos-token'],
    maxLength: d.tokenizer['model-max-length'],
  });
  assert.deepEqual(tiny.config, { bos: 0, eos: 1, pad: 1, maxLength: 77 });
  // Independent Python BPE over the same tokenizer.json vocab and merges.
  assert.deepEqual(unpadded(tiny.encode('An astronaut riding a horse').ids, 1), [0, 425, 416, 619, 382, 66, 527, 83, 463, 383, 197, 73, 377, 741, 1]);
  assert.deepEqual(unpadded(tiny.encode('the cat').ids, 1), [0, 449, 195, 68, 434, 1]);
  // A byte with no entry in the small vocabulary becomes the unknown token (here <|endoftext|> = 1).
  assert.deepEqual(Array.from(tiny.encode('\u0481 ok').ids.subarray(0, 6)), [0, 1, 273, 80, 210, 1]);
  // Without diffusers.json the ids come from the file's own post-processor.
  const bare = loadClipTokenizerFile(`${FIX}/tiny-sd-export/tokenizer.json`);
  assert.equal(bare.config.bos, 0);
  assert.equal(bare.config.eos, 1);
});

test('tokenizer: a folder without vocabulary files is refused, naming what is missing', () => {
  const dir = join(tmp, 'empty');
  mkdirSync(dir);
  copyFileSync(`${CLIP}/vocab.json`, join(dir, 'vocab.json'));
  assert.throws(() => loadClipTokenizer(dir), /expected tokenizer\.json, or vocab\.json and merges\.txt \(missing merges\.txt\)/);
});
