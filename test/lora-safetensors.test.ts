import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_HEADER_BYTES, SafetensorsError, SafetensorsFile, bufferSource } from '../src/models/lora/safetensors.js';
import { encodeSafetensors, f32Bytes, u16Bytes } from './helpers/safetensors.js';

const open = (bytes: Uint8Array) => SafetensorsFile.fromSource(bufferSource(bytes), 'x.safetensors');
const refuses = (bytes: Uint8Array, re: RegExp) => assert.throws(() => open(bytes), (e: unknown) => e instanceof SafetensorsError && re.test(e.message));

function withHeader(header: string, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

test('safetensors: F32, F16 and BF16 values widen exactly; __metadata__ is read', () => {
  // F16 0x3c00 = 1, 0xc000 = −2, 0x0001 = 2^−24 (subnormal), 0x7c00 = +inf; BF16 0x3f80 = 1, 0xc0a0 = −5
  const f = open(
    encodeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 1], bytes: f32Bytes([0.5, -3.25]) },
        h: { dtype: 'F16', shape: [4], bytes: u16Bytes([0x3c00, 0xc000, 0x0001, 0x7c00]) },
        b: { dtype: 'BF16', shape: [2], bytes: u16Bytes([0x3f80, 0xc0a0]) },
        s: { dtype: 'F32', shape: [], bytes: f32Bytes([4]) },
      },
      { ss_network_alpha: '8', ss_network_dim: '16' },
    ),
  );
  assert.deepEqual([...f.read('a')], [0.5, -3.25]);
  assert.deepEqual([...f.read('h')], [1, -2, 2 ** -24, Infinity]);
  assert.deepEqual([...f.read('b')], [1, -5]);
  assert.deepEqual([...f.read('s')], [4]);
  assert.deepEqual(f.info('a').shape, [2, 1]);
  assert.deepEqual(f.metadata, { ss_network_alpha: '8', ss_network_dim: '16' });
  assert.throws(() => f.read('missing'), /no tensor "missing"/);
});

test('safetensors: reads a file lazily from disk, header padding allowed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-st-'));
  try {
    const p = join(dir, 'l.safetensors');
    writeFileSync(p, encodeSafetensors({ w: { dtype: 'F32', shape: [3], bytes: f32Bytes([1, 2, 3]) } }, undefined, 5));
    const f = SafetensorsFile.open(p);
    assert.deepEqual([...f.read('w')], [1, 2, 3]);
    f.close();
    assert.throws(() => SafetensorsFile.open(join(dir, 'none.safetensors')), /cannot open \(ENOENT\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: malformed layouts are refused with the reason', () => {
  refuses(new Uint8Array(4), /too short/);
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
  refuses(huge, /exceeds the 100000000-byte limit/);
  const past = new Uint8Array(16);
  new DataView(past.buffer).setBigUint64(0, 100n, true);
  refuses(past, /runs past the end/);
  refuses(withHeader('[1,2]'), /does not start with '\{'/);
  refuses(withHeader('{"a":'), /not valid JSON/);
  refuses(withHeader('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', 8), /dtype "I64" is not supported \(supported: F32, F16, BF16\)/);
  refuses(withHeader('{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', 8), /dtype "F64" is not supported/);
  refuses(withHeader('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}}', 8), /"Q4" is not a safetensors dtype/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8), /needs 12 bytes but data_offsets span 8/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 4), /past the data section \(4 bytes\)/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', 8), /0 ≤ begin ≤ end/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', 8), /non-negative integers/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /"a" and "b" overlap/);
  refuses(withHeader('{"__metadata__":{"k":1}}'), /__metadata__ "k" must be a string/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":1}}'), /unexpected field/);
  refuses(withHeader('{"a":{"dtype":"F32","shape":[1e300,1e300],"data_offsets":[0,0]}}'), /non-negative integers|too large/);
  const badUtf8 = withHeader('{"\u00e9":1}');
  badUtf8[10] = 0xff;
  refuses(badUtf8, /not valid UTF-8/);
});
