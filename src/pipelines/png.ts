import { PNG } from 'pngjs';

/*
 * PNG with the generation parameters as text chunks, so an image carries how it was made. Latin-1 text goes
 * in tEXt (what most viewers and the A1111 "parameters" convention read); anything else in iTXt (UTF-8).
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

export function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const isLatin1 = (s: string) => [...s].every((c) => c.charCodeAt(0) <= 0xff);

function textChunk(keyword: string, text: string): Buffer {
  if (!/^[\u0020-\u007e]{1,79}$/.test(keyword)) throw new Error(`PNG text keyword ${JSON.stringify(keyword)}: 1–79 printable ASCII characters`);
  if (isLatin1(text)) return chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]));
  // iTXt: keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, UTF-8 text
  return chunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

/** Encodes 8-bit RGB (interleaved) as PNG with text chunks right after IHDR. */
export function encodePng(rgb: Uint8Array, width: number, height: number, text: Readonly<Record<string, string>> = {}): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`PNG: ${rgb.length} bytes do not fill ${width}×${height} RGB`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  const raw = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  const ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length+type, IHDR data, CRC
  const chunks = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([raw.subarray(0, ihdrEnd), ...chunks, raw.subarray(ihdrEnd)]);
}

/** Escapes every non-ASCII character so JSON fits a plain tEXt chunk. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
