import { z } from 'zod';
import { loadNative } from '../src/native.ts';
import { bytesOf, checkBytesArgs, checkCodecConfig, decodeExactly, runStep } from './codec-support.ts';
import type { BytesToBytesCodec, CodecConfig, ContainerCodec } from './types.ts';

export interface ZstdConfig extends CodecConfig {
  id: 'zstd';
  /** 1 (fastest) .. 22 (smallest); absent = DEFAULT_ZSTD_LEVEL. */
  level?: number;
}

/** zstd's own default level: a good speed/size balance for already-shuffled bytes. */
export const DEFAULT_ZSTD_LEVEL = 3;
export const MAX_ZSTD_LEVEL = 22;

const ID = 'zstd';
/** The registered HDF5 filter id of zstd. */
export const ZSTD_FILTER_ID = 32015;

/** zstd's options: fromConfig checks them, and the policy language offers them as they are. */
export const ZSTD_OPTIONS = {
  level: {
    expected: `level 1..${MAX_ZSTD_LEVEL}`,
    schema: z.number().int().min(1).max(MAX_ZSTD_LEVEL).meta({ description: `1 (fastest) .. ${MAX_ZSTD_LEVEL} (smallest), default ${DEFAULT_ZSTD_LEVEL}` }),
  },
};

/**
 * Zstandard compression of bytes, as one standard zstd frame that records its content size (the
 * format HDF5 filter 32015, numcodecs and the `zstd` tool read). Decoding accepts any valid zstd
 * input, including several concatenated frames and streamed frames without a content size.
 *
 * @example
 * const zstd = ZstdCodec.fromConfig({ id: 'zstd', level: 3 });
 * const packed = zstd.encode(bytes);
 * const back = zstd.decode(packed); // equal to bytes
 */
export class ZstdCodec implements BytesToBytesCodec {
  static readonly id = ID;
  readonly id = ID;
  readonly kind = 'bytes-to-bytes';
  readonly lossless = true;
  readonly level: number;
  readonly #config: ZstdConfig;

  private constructor(config: ZstdConfig) {
    this.#config = { ...config };
    this.level = config.level ?? DEFAULT_ZSTD_LEVEL;
  }

  /**
   * Checks `config` and builds the codec; throws SxError('usage') listing every problem.
   *
   * @example
   * ZstdCodec.fromConfig({ id: 'zstd', level: 40 }); // throws "Expected level 1..22 for zstd but received 40"
   */
  static fromConfig(config: CodecConfig): ZstdCodec {
    checkCodecConfig(config, ID, ZSTD_OPTIONS);
    return new ZstdCodec(config as ZstdConfig);
  }

  /** The config this codec was built from (absent options stay absent). */
  toConfig(): ZstdConfig {
    return { ...this.#config };
  }

  encode(bytes: Uint8Array): Uint8Array {
    checkBytesArgs(ID, 'encode', bytes);
    return runStep(ID, 'encode', () => loadNative().zstdCompress(bytes, this.level));
  }

  /**
   * Decompresses `bytes`; with `out` the result lands there and the used part of `out` is
   * returned (`out` itself when it fits exactly). Corrupt input throws SxError('input').
   */
  decode(bytes: Uint8Array, out?: Uint8Array): Uint8Array {
    checkBytesArgs(ID, 'decode', bytes, out);
    const result = runStep(ID, 'decode', () => loadNative().zstdDecompress(bytes, out ?? null));
    return out !== undefined && result.length === out.length ? out : result;
  }
}

/**
 * zstd in HDF5 containers: filter 32015, whose one client value is the level (the HDF5 zstd
 * plugin's convention), so every level the policy allows is the level written.
 *
 * @example
 * zstdContainer.hdf5Filter({ id: 'zstd', level: 9 }); // { id: 32015, cd_values: [9] }
 */
export const zstdContainer: ContainerCodec = {
  id: ID,
  options: ZSTD_OPTIONS,
  hdf5Filter: (config) => ({ id: ZSTD_FILTER_ID, cd_values: [ZstdCodec.fromConfig(config).level] }),
  // The filter stores one zstd frame of the chunk's bytes.
  chunkCodec: (config) => {
    const codec = ZstdCodec.fromConfig(config);
    return {
      encode: (frame) => codec.encode(bytesOf(frame.data)),
      decode: (chunk, out) => {
        decodeExactly(ID, codec.decode(chunk, bytesOf(out)), out);
      },
    };
  },
};
