// The bitshuffle transpose in plain TypeScript, bit by bit from its description: the tests compare
// the native kernel (native/kernels/bitshuffle.cpp) with it. Slow on purpose: no tricks to get
// wrong. LZ4 itself is the system library and needs no reference.

/** Blocks hold a multiple of 8 elements; the last `n % 8` elements are kept as they are. */
export const BITSHUFFLE_GROUP = 8;
/** The automatic block size aims at this many bytes, as the HDF5 filter does. */
export const BITSHUFFLE_TARGET_BLOCK_BYTES = 8192;
export const BITSHUFFLE_MIN_BLOCK = 128;

/**
 * The HDF5 filter's automatic block size in elements: 8192 bytes / elemSize, rounded down to a
 * multiple of 8, at least 128.
 *
 * @example
 * defaultBlockSize(2); // 4096
 * defaultBlockSize(4); // 2048
 */
export function defaultBlockSize(elemSize: number): number {
  const size = Math.floor(BITSHUFFLE_TARGET_BLOCK_BYTES / elemSize / BITSHUFFLE_GROUP) * BITSHUFFLE_GROUP;
  return Math.max(size, BITSHUFFLE_MIN_BLOCK);
}

/**
 * Bit-transposes `input` (whole `elemSize`-byte elements) the way bitshuffle does: full blocks of
 * `blockSize` elements (0 = `defaultBlockSize`), then one block of the remaining elements
 * rounded down to a multiple of 8, then the last `n % 8` elements unchanged. Within a block of
 * m elements the output is elemSize x 8 bit planes of m / 8 bytes, plane (byte j, bit k) first
 * ordered by j then k; bit i % 8 of the plane's byte i / 8 is bit k of byte j of element i.
 *
 * @example
 * bitshuffleReference(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0), 1); // [1, 0, 0, 0, 0, 0, 0, 0]
 * bitshuffleReference(Uint8Array.of(0, 1, 1, 1, 1, 1, 1, 1), 1); // [254, 0, 0, 0, 0, 0, 0, 0]
 */
export function bitshuffleReference(input: Uint8Array, elemSize: number, blockSize = 0): Uint8Array {
  return transposeBuffer(input, elemSize, blockSize, false);
}

/**
 * The inverse of `bitshuffleReference`.
 *
 * @example
 * bitunshuffleReference(bitshuffleReference(bytes, 2), 2); // equal to bytes
 */
export function bitunshuffleReference(input: Uint8Array, elemSize: number, blockSize = 0): Uint8Array {
  return transposeBuffer(input, elemSize, blockSize, true);
}

function transposeBuffer(input: Uint8Array, elemSize: number, blockSize: number, inverse: boolean): Uint8Array {
  const block = blockSize === 0 ? defaultBlockSize(elemSize) : blockSize;
  const nElems = input.length / elemSize;
  const out = new Uint8Array(input.length);
  let done = 0;
  while (nElems - done >= BITSHUFFLE_GROUP) {
    const m = Math.min(block, Math.floor((nElems - done) / BITSHUFFLE_GROUP) * BITSHUFFLE_GROUP);
    const offset = done * elemSize;
    transposeBlock(input.subarray(offset), out.subarray(offset), m, elemSize, inverse);
    done += m;
  }
  out.set(input.subarray(done * elemSize), done * elemSize);
  return out;
}

/** Moves every bit of a block of m elements between element order and bit-plane order. */
function transposeBlock(input: Uint8Array, out: Uint8Array, m: number, elemSize: number, inverse: boolean): void {
  const planeBytes = m / BITSHUFFLE_GROUP;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < elemSize; j++) {
      for (let k = 0; k < 8; k++) {
        // Bit k of byte j of element i <-> bit i % 8 of byte i / 8 of plane j * 8 + k.
        const elemByte = i * elemSize + j;
        const planeByte = (j * 8 + k) * planeBytes + (i >> 3);
        const planeBit = i & 7;
        if (inverse) {
          if ((input[planeByte] >> planeBit) & 1) out[elemByte] |= 1 << k;
        } else if ((input[elemByte] >> k) & 1) {
          out[planeByte] |= 1 << planeBit;
        }
      }
    }
  }
}
