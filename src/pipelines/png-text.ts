/*
 * Generation parameters as PNG text chunks, so an image carries how it was made, whichever encoder made the
 * PNG (pngjs in Node, fast-png in a page). Latin-1 text goes in tEXt (what most viewers and the A1111
 * "parameters" convention read); anything else in iTXt (UTF-8).
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** One PNG chunk: length, type, data, CRC over type and data. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(latin1(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const isLatin1 = (s: string) => [...s].every((c) => c.charCodeAt(0) <= 0xff);

function textChunk(keyword: string, text: string): Uint8Array {
  if (!/^[\u0020-\u007e]{1,79}$/.test(keyword)) throw new Error(`PNG text keyword ${JSON.stringify(keyword)}: 1–79 printable ASCII characters`);
  if (isLatin1(text)) return chunk('tEXt', concat([latin1(keyword), Uint8Array.of(0), latin1(text)]));
  // iTXt: keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, UTF-8 text
  return chunk('iTXt', concat([latin1(keyword), Uint8Array.of(0, 0, 0, 0, 0), new TextEncoder().encode(text)]));
}

/** PNG signature, then IHDR: length and type (8), data (13), CRC (4). */
const IHDR_END = 8 + 8 + 13 + 4;

/** The PNG with text chunks inserted right after IHDR. */
export function withTextChunks(png: Uint8Array, text: Readonly<Record<string, string>>): Uint8Array {
  const chunks = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return concat([png.subarray(0, IHDR_END), ...chunks, png.subarray(IHDR_END)]);
}

/** Escapes every non-ASCII character so JSON fits a plain tEXt chunk. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
