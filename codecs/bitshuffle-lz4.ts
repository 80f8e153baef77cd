import { z } from 'zod';
import { SxError } from '../src/errors.ts';
import { loadNative } from '../src/native.ts';
import { assertLittleEndianHost, bytesOf, checkCodecConfig, checkDecodeArgs, checkEncodeFrame, describe, isIntIn, runStep } from './codec-support.ts';
import type { ArrayToBytesCodec, CodecConfig, ContainerCodec, FrameArray } from './types.ts';
import type { GroupMaxima } from '../src/group-maxima.ts';
import { type PixelArray, type PixelType, PIXEL_BYTES, allocPixelsUnsafe, pixelTypeOfArray } from '../src/pixels.ts';

export interface BitshuffleLz4Config extends CodecConfig {
  id: 'bitshuffle-lz4';
  /** Elements per block, a multiple of 8 up to MAX_BITSHUFFLE_BLOCK; 0 or absent = automatic (8192 bytes). */
  blockSize?: number;
}

/** 0 = the HDF5 filter's automatic choice: 8192 bytes per block (4096 uint16 pixels). */
export const DEFAULT_BITSHUFFLE_BLOCK = 0;
export const MAX_BITSHUFFLE_BLOCK = 1 << 24;

const ID = 'bitshuffle-lz4';
const HEADER_BYTES = 12;
/** The registered HDF5 filter id of bitshuffle, and its compressor code for LZ4. */
export const BITSHUFFLE_FILTER_ID = 32008;
export const BITSHUFFLE_LZ4_COMPRESSOR = 2;

/** bitshuffle-lz4's options: fromConfig checks them, and the policy language offers them as they are. */
export const BITSHUFFLE_LZ4_OPTIONS = {
  blockSize: {
    expected: `blockSize 0 (automatic) or a multiple of 8 up to ${MAX_BITSHUFFLE_BLOCK}`,
    schema: z.number().int().min(0).max(MAX_BITSHUFFLE_BLOCK).multipleOf(8)
      .meta({ description: 'pixels per bitshuffle block, a multiple of 8; 0 (default) = automatic, 8192 bytes' }),
  },
};

/**
 * Bitshuffle + LZ4 of one frame, byte for byte the chunk format of the HDF5 bitshuffle filter
 * (id 32008, compressor 2 = LZ4), so encoded frames can be written into HDF5/NeXus files as raw
 * chunks and Eiger/Jungfraujoch chunks decoded as they are: 8-byte big-endian uncompressed size,
 * 4-byte big-endian block size in bytes, then per block a 4-byte big-endian length + LZ4 data of
 * the bit-transposed block; the last `n % 8` pixels are appended as they are. Pixels are stored
 * little-endian. Lossless; the frame's mask is not stored (keep it once per run, not per frame).
 * About 1.2 (simulated Eiger 4M) to 2.2 (Poisson mean 0.5) bits per pixel, at 1.5-2 GB/s per core.
 *
 * @example
 * const codec = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
 * const chunk = codec.encode({ data: frame, width: 2068, height: 2162 });
 * const back = codec.decode(chunk, { width: 2068, height: 2162, pixelType: 'uint16' });
 */
export class BitshuffleLz4Codec implements ArrayToBytesCodec {
  static readonly id = ID;
  readonly id = ID;
  readonly kind = 'array-to-bytes';
  readonly lossless = true;
  /** Elements per block; 0 = automatic. */
  readonly blockSize: number;
  readonly #config: BitshuffleLz4Config;

  private constructor(config: BitshuffleLz4Config) {
    this.#config = { ...config };
    this.blockSize = config.blockSize ?? DEFAULT_BITSHUFFLE_BLOCK;
  }

  /**
   * Checks `config` and builds the codec; throws SxError('usage') listing every problem.
   *
   * @example
   * BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4', blockSize: 2048 });
   */
  static fromConfig(config: CodecConfig): BitshuffleLz4Codec {
    checkCodecConfig(config, ID, BITSHUFFLE_LZ4_OPTIONS);
    return new BitshuffleLz4Codec(config as BitshuffleLz4Config);
  }

  /** The config this codec was built from (absent options stay absent). */
  toConfig(): BitshuffleLz4Config {
    return { ...this.#config };
  }

  encode(frame: FrameArray): Uint8Array {
    const type = checkEncodeFrame(frame, ID);
    assertLittleEndianHost(ID);
    return runStep(ID, 'encode', () =>
      loadNative().bitshuffleLz4Encode(bytesOf(frame.data), PIXEL_BYTES[type], this.blockSize),
    );
  }

  /**
   * Decodes one chunk; with `out` (the pixel type's array of width x height) the pixels land
   * there, and with `maxima` (uint16 only) the group maxima are taken on the way. Corrupt or
   * mismatched chunks throw SxError('input') "bitshuffle-lz4 decode: ...".
   */
  decode(
    bytes: Uint8Array,
    shape: { width: number; height: number; pixelType: PixelType },
    out?: PixelArray,
    maxima?: GroupMaxima,
  ): FrameArray {
    const pixels = checkDecodeArgs(ID, bytes, shape, out);
    assertLittleEndianHost(ID);
    const { width, height, pixelType } = shape;
    const expected = pixels * PIXEL_BYTES[pixelType];
    if (bytes.length >= HEADER_BYTES) {
      const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, false);
      if (declared !== BigInt(expected)) {
        throw new SxError(
          'input',
          `${ID} decode: the chunk holds ${declared} bytes but ${width} x ${height} ${pixelType} needs ${expected}`,
        );
      }
    }
    const data = out ?? allocPixelsUnsafe(pixelType, pixels);
    if (maxima && pixelType !== 'uint16') throw new SxError('usage', `${ID} decode: group maxima are taken of uint16 frames only, not ${pixelType}`);
    runStep(ID, 'decode', () =>
      maxima
        ? loadNative().bitshuffleLz4Decode(bytes, 2, bytesOf(data), maxima.values, maxima.group, maxima.cap)
        : loadNative().bitshuffleLz4Decode(bytes, PIXEL_BYTES[pixelType], bytesOf(data)),
    );
    return { data, width, height };
  }
}

/**
 * The native bit transpose of `bytes` (whole `elemSize`-byte elements), in blocks as the HDF5
 * filter makes them; `inverse` undoes it. Same result as `bitshuffleReference`.
 *
 * @example
 * const planes = bitshuffle(bytesOf(frame), 2);
 */
export function bitshuffle(bytes: Uint8Array, elemSize: number, blockSize = 0, inverse = false): Uint8Array {
  const problems: string[] = [];
  if (!(bytes instanceof Uint8Array)) problems.push(`Expected bytes to be a Uint8Array for bitshuffle but received ${describe(bytes)}`);
  if (!isIntIn(elemSize, 1, 255)) {
    problems.push(`Expected elemSize 1..255 for bitshuffle but received ${describe(elemSize)}`);
  } else if (bytes instanceof Uint8Array && bytes.length % elemSize !== 0) {
    problems.push(`Expected whole ${elemSize}-byte elements for bitshuffle but received ${bytes.length} bytes`);
  }
  if (!(isIntIn(blockSize, 0, MAX_BITSHUFFLE_BLOCK) && blockSize % 8 === 0)) {
    problems.push(`Expected blockSize 0 or a multiple of 8 up to ${MAX_BITSHUFFLE_BLOCK} for bitshuffle but received ${describe(blockSize)}`);
  }
  if (problems.length > 0) throw new SxError('usage', problems.join('; '));
  const out = new Uint8Array(bytes.length);
  loadNative().bitshuffle(bytes, elemSize, blockSize, inverse, out);
  return out;
}

/**
 * bitshuffle-lz4 in HDF5 containers: filter 32008 with client values [block size, 2 = LZ4]; the
 * filter puts its version and the element size in front itself (h5py then reports five values).
 *
 * @example
 * bitshuffleLz4Container.hdf5Filter({ id: 'bitshuffle-lz4' }); // { id: 32008, cd_values: [0, 2] }
 */
export const bitshuffleLz4Container: ContainerCodec = {
  id: ID,
  options: BITSHUFFLE_LZ4_OPTIONS,
  hdf5Filter: (config) => ({ id: BITSHUFFLE_FILTER_ID, cd_values: [BitshuffleLz4Codec.fromConfig(config).blockSize, BITSHUFFLE_LZ4_COMPRESSOR] }),
  // The codec's chunks are the filter's (header with sizes and block size, then LZ4 blocks).
  chunkCodec: (config) => {
    const codec = BitshuffleLz4Codec.fromConfig(config);
    return {
      encode: (frame) => codec.encode(frame),
      decode: (chunk, out) => {
        codec.decode(chunk, { width: out.length, height: 1, pixelType: pixelTypeOfArray(out)! }, out);
      },
      decodeWithMaxima: (chunk, out, maxima) => {
        codec.decode(chunk, { width: out.length, height: 1, pixelType: 'uint16' }, out, maxima);
      },
    };
  },
};
