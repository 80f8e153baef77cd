import { SxError } from '../src/errors.ts';
import { assertLittleEndianHost, bytesOf, checkCodecConfig, checkDecodeArgs, checkEncodeFrame, decodeExactly } from './codec-support.ts';
import type { ArrayToBytesCodec, CodecConfig, ContainerCodec, FrameArray } from './types.ts';
import { type PixelArray, type PixelType, PIXEL_BYTES, allocPixelsUnsafe } from '../src/pixels.ts';

export interface NoneConfig extends CodecConfig {
  id: 'none';
}

const ID = 'none';

/**
 * No compression: a frame's pixels as raw little-endian bytes (fs fastest), as an uncompressed
 * HDF5 chunk holds them. encode copies, so the bytes never alias the caller's frame.
 *
 * @example
 * const none = NoneCodec.fromConfig({ id: 'none' });
 * const raw = none.encode({ data: Uint16Array.of(1, 2), width: 2, height: 1 }); // [1, 0, 2, 0]
 */
export class NoneCodec implements ArrayToBytesCodec {
  static readonly id = ID;
  readonly id = ID;
  readonly kind = 'array-to-bytes';
  readonly lossless = true;

  private constructor() {}

  /**
   * Checks `config` (it takes no options) and builds the codec.
   *
   * @example
   * NoneCodec.fromConfig({ id: 'none' });
   */
  static fromConfig(config: CodecConfig): NoneCodec {
    checkCodecConfig(config, ID, {});
    return new NoneCodec();
  }

  toConfig(): NoneConfig {
    return { id: ID };
  }

  encode(frame: FrameArray): Uint8Array {
    checkEncodeFrame(frame, ID);
    assertLittleEndianHost(ID);
    return bytesOf(frame.data).slice();
  }

  /** Copies the bytes into a new pixel array, or into `out` (width x height of the pixel type). */
  decode(bytes: Uint8Array, shape: { width: number; height: number; pixelType: PixelType }, out?: PixelArray): FrameArray {
    const pixels = checkDecodeArgs(ID, bytes, shape, out);
    assertLittleEndianHost(ID);
    const { width, height, pixelType } = shape;
    const expected = pixels * PIXEL_BYTES[pixelType];
    if (bytes.length !== expected) {
      throw new SxError('input', `${ID} decode: received ${bytes.length} bytes but ${width} x ${height} ${pixelType} needs ${expected}`);
    }
    const data = out ?? allocPixelsUnsafe(pixelType, pixels);
    bytesOf(data).set(bytes);
    return { data, width, height };
  }
}

/**
 * No compression in HDF5 containers: no filter, so any HDF5 reader opens the frames.
 *
 * @example
 * noneContainer.hdf5Filter({ id: 'none' }); // null
 */
export const noneContainer: ContainerCodec = {
  id: ID,
  options: {},
  hdf5Filter: (config) => {
    NoneCodec.fromConfig(config);
    return null;
  },
  // No filter: a chunk is the frame's little-endian bytes.
  chunkCodec: (config) => {
    const codec = NoneCodec.fromConfig(config);
    return {
      encode: (frame) => codec.encode(frame),
      decode: (chunk, out) => {
        decodeExactly(ID, chunk, out);
        bytesOf(out).set(chunk);
      },
    };
  },
};
