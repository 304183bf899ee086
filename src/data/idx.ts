/**
 * IDX, the file format of the MNIST distribution (LeCun et al.): a 4-byte magic number — two zero bytes, a
 * type code, the number of dimensions — then one big-endian uint32 per dimension, then the values.
 * Only unsigned bytes (type 0x08) are used by MNIST, so only they are accepted.
 */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const UBYTE = 0x08;

export function parseIdx(bytes: Uint8Array, source: string, expectedRank?: number): IdxArray {
  if (bytes.length < 4) throw new Error(`${source}: ${bytes.length} bytes is too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2];
  const rank = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== UBYTE) {
    throw new Error(
      `${source}: magic number 0x${magic.toString(16).padStart(8, '0')} is not an unsigned-byte IDX file ` +
        `(expected 0x000008NN); a gzip-compressed file starts 0x1f8b and must be unpacked first`,
    );
  }
  if (expectedRank !== undefined && rank !== expectedRank) {
    throw new Error(`${source}: magic number 0x${magic.toString(16).padStart(8, '0')} says ${rank} dimensions, expected ${expectedRank}`);
  }
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new Error(`${source}: ${bytes.length} bytes is too short for a ${rank}-dimension IDX header`);
  const dims: number[] = [];
  let total = 1;
  for (let d = 0; d < rank; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    total *= n;
  }
  if (bytes.length !== header + total) {
    throw new Error(`${source}: ${bytes.length} bytes, but the header [${dims.join(' × ')}] needs ${header + total} (truncated or padded file)`);
  }
  return { dims, data: bytes.subarray(header) };
}
