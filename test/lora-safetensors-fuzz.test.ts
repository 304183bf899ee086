import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SafetensorsError, SafetensorsFile, bufferSource } from '../src/models/lora/safetensors.js';
import { encodeSafetensors, f32Bytes, u16Bytes } from './helpers/safetensors.js';

/*
 * Fuzzing the safetensors reader: valid seed files mutated at the byte level (flips, overwrites, inserted and
 * deleted runs, truncation, extension), at the header level (numbers, dtypes, keys and offsets swapped for
 * hostile values) and wholly random inputs. Every input must either open (and then every tensor must read
 * back with exactly the declared number of values) or raise SafetensorsError; anything else — a TypeError, a
 * RangeError from a huge allocation, a hang — fails. W2SD_FUZZ_INPUTS overrides the count (default 100,000).
 */
const INPUTS = Number(process.env.W2SD_FUZZ_INPUTS ?? 100_000);

let state = 0x9e3779b9;
function rand(): number {
  // xorshift32: a fixed sequence, so a failure reproduces
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

const SEEDS: Uint8Array[] = [
  encodeSafetensors(
    {
      'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': { dtype: 'F16', shape: [4, 8], bytes: u16Bytes(Array.from({ length: 32 }, (_, i) => 0x3c00 + i)) },
      'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': { dtype: 'F16', shape: [8, 4], bytes: u16Bytes(Array.from({ length: 32 }, (_, i) => 0xbc00 + i)) },
      'lora_unet_down_blocks_0_attentions_0_proj_in.alpha': { dtype: 'F32', shape: [], bytes: f32Bytes([4]) },
    },
    { ss_network_alpha: '4', ss_network_dim: '4' },
  ),
  encodeSafetensors({
    'unet.mid_block.attentions.0.proj_out.lora_A.weight': { dtype: 'BF16', shape: [2, 3, 1, 1], bytes: u16Bytes([0x3f80, 0x4000, 0x4040, 0xbf80, 0, 0x7f80]) },
    'unet.mid_block.attentions.0.proj_out.lora_B.weight': { dtype: 'F32', shape: [3, 2, 1, 1], bytes: f32Bytes([1, 2, 3, 4, 5, 6]) },
    empty: { dtype: 'F32', shape: [0, 5], bytes: new Uint8Array(0) },
  }),
  encodeSafetensors({ x: { dtype: 'F32', shape: [1], bytes: f32Bytes([NaN]) } }, { format: 'pt' }, 7),
];

const HOSTILE_NUMBERS = ['-1', '0', '1', '1e308', '-0', '1.5', '9007199254740993', '18446744073709551616', 'null', '"4"', '[]', '{}', 'true', '4294967296', '1e-7'];
const HOSTILE_STRINGS = ['"F64"', '"I64"', '"BOOL"', '"F8_E4M3"', '""', '"f32"', '"F32 "', '"__metadata__"', '"\\u0000"', '"\\ud800"'];

function mutateBytes(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  switch (int(7)) {
    case 0:
      for (let k = 1 + int(4); k > 0; k--) out[int(out.length)] ^= 1 << int(8);
      return out;
    case 1:
      for (let k = 1 + int(4); k > 0; k--) out[int(out.length)] = pick([0, 0xff, 0x7f, 0x80, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30 + int(10)]);
      return out;
    case 2:
      return out.subarray(0, int(out.length));
    case 3: {
      const extra = new Uint8Array(1 + int(64)).map(() => int(256));
      const at = int(out.length);
      return Uint8Array.from([...out.subarray(0, at), ...extra, ...out.subarray(at)]);
    }
    case 4: {
      const at = int(out.length);
      return Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1 + int(16))]);
    }
    case 5: {
      // the header length itself: small, huge, off by a little
      const dv = new DataView(out.buffer);
      const len = dv.getBigUint64(0, true);
      dv.setBigUint64(0, pick([len + BigInt(int(9)) - 4n, BigInt(int(1 << 30)), 0xffffffffffffffffn, 1n << BigInt(int(64)), 0n]), true);
      return out;
    }
    default:
      return Uint8Array.from([...out, ...new Uint8Array(int(40)).map(() => int(256))]);
  }
}

/** Rewrites one token of the JSON header (a number, a string or a structural character) and re-frames it. */
function mutateHeader(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset);
  const n = Number(dv.getBigUint64(0, true));
  let json = new TextDecoder().decode(b.subarray(8, 8 + n));
  const data = b.subarray(8 + n);
  for (let k = 1 + int(3); k > 0; k--) {
    const tokens = [...json.matchAll(/-?\d+(\.\d+)?|"(?:[^"\\]|\\.)*"|[[\]{},:]/g)];
    if (tokens.length === 0) break;
    const t = pick(tokens);
    const at = t.index!;
    const rep = /^-?\d/.test(t[0]) ? pick(HOSTILE_NUMBERS) : t[0].startsWith('"') ? pick([...HOSTILE_STRINGS, ...HOSTILE_NUMBERS]) : pick(['', '[', ']', '{', '}', ',', ':', '""', t[0] + t[0]]);
    json = json.slice(0, at) + rep + json.slice(at + t[0].length);
  }
  const enc = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + enc.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(enc.length), true);
  out.set(enc, 8);
  out.set(data, 8 + enc.length);
  return out;
}

function randomInput(): Uint8Array {
  if (rand() < 0.5) return new Uint8Array(int(200)).map(() => int(256));
  // a plausible frame around random JSON-ish text
  const alphabet = '{}[]":,0123456789-.eEFBI163 abcdtype_shapeoffsets';
  const text = Array.from({ length: int(160) }, () => alphabet[int(alphabet.length)]).join('');
  const enc = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + enc.length + int(64));
  new DataView(out.buffer).setBigUint64(0, BigInt(enc.length), true);
  out.set(enc, 8);
  return out;
}

test(`safetensors fuzz: ${INPUTS} mutated and random inputs open or fail with SafetensorsError only`, { timeout: 300_000 }, () => {
  const t0 = performance.now();
  let opened = 0;
  let refused = 0;
  let slowest = 0;
  for (let i = 0; i < INPUTS; i++) {
    const r = rand();
    const input = r < 0.45 ? mutateBytes(pick(SEEDS)) : r < 0.9 ? mutateHeader(pick(SEEDS)) : randomInput();
    const ti = performance.now();
    try {
      const f = SafetensorsFile.fromSource(bufferSource(input), 'fuzz');
      for (const t of f.tensors.values()) {
        const values = f.read(t.name);
        assert.equal(values.length, t.shape.reduce((a, d) => a * d, 1), `input ${i}: ${t.name} read back the wrong count`);
      }
      opened++;
    } catch (err) {
      if (!(err instanceof SafetensorsError)) {
        throw new Error(`input ${i} (${Buffer.from(input.subarray(0, 300)).toString('base64')}) crashed the reader: ${(err as Error).stack}`);
      }
      assert.ok(err.message.startsWith('fuzz: ') && err.message.length < 600, `input ${i}: unclear error ${err.message}`);
      refused++;
    }
    slowest = Math.max(slowest, performance.now() - ti);
  }
  const s = (performance.now() - t0) / 1000;
  assert.ok(slowest < 1000, `one input took ${slowest.toFixed(0)} ms`);
  assert.ok(opened > 0.01 * INPUTS && refused > 0.5 * INPUTS, `opened ${opened}, refused ${refused}: the mutators lost their aim`);
  console.log(`safetensors fuzz: ${INPUTS} inputs in ${s.toFixed(1)} s, ${opened} opened, ${refused} refused with SafetensorsError, 0 crashes, slowest ${slowest.toFixed(1)} ms`);
});
