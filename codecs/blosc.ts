import { z } from 'zod';
import { SxError } from '../src/errors.ts';
import { loadNative } from '../src/native.ts';
import { bytesOf, checkBytesArgs, checkCodecConfig, decodeExactly, describe, runStep } from './codec-support.ts';
import type { BytesToBytesCodec, CodecConfig, ContainerCodec } from './types.ts';

/** Compressors of the system's c-blosc 1.x (snappy is left out: Debian builds blosc without it). */
export const BLOSC_CNAMES = ['blosclz', 'lz4', 'lz4hc', 'zlib', 'zstd'] as const;
export type BloscCname = (typeof BLOSC_CNAMES)[number];
/** Names as zarr v3's blosc codec spells them; stored as 0, 1, 2 in the blosc header. */
export const BLOSC_SHUFFLES = ['noshuffle', 'shuffle', 'bitshuffle'] as const;
export type BloscShuffle = (typeof BLOSC_SHUFFLES)[number];

export interface BloscConfig extends CodecConfig {
  id: 'blosc';
  cname?: BloscCname;
  /** 0 (store) .. 9. */
  clevel?: number;
  shuffle?: BloscShuffle;
  /** Element size in bytes the shuffle works on, 1..255 (set it to the pixel size). */
  typesize?: number;
  /** Bytes per internal block; 0 = automatic. */
  blocksize?: number;
}

/**
 * One default everywhere, the one containers get: LZ4 at clevel 5 with bit shuffle, the Blosc
 * setting closest to bitshuffle-lz4 (sparse photon counts compress far better bit-shuffled than
 * byte-shuffled). numcodecs defaults to byte shuffle; a config that wants it says so.
 */
export const DEFAULT_BLOSC = { cname: 'lz4', clevel: 5, shuffle: 'bitshuffle', typesize: 1, blocksize: 0 } as const;

const ID = 'blosc';
/** The registered HDF5 filter id of Blosc. */
export const BLOSC_FILTER_ID = 32001;
/** c-blosc's compressor codes (BLOSC_BLOSCLZ ... BLOSC_ZSTD), as the HDF5 filter's 7th value takes them. */
const BLOSC_COMPRESSOR_CODES: Record<BloscCname, number> = { blosclz: 0, lz4: 1, lz4hc: 2, zlib: 4, zstd: 5 };

/** Blosc's options: fromConfig checks them; containers honour cname, clevel and shuffle. */
export const BLOSC_OPTIONS = {
  cname: {
    expected: `cname ${BLOSC_CNAMES.join(', ')}`,
    schema: z.enum(BLOSC_CNAMES).meta({ description: `compressor inside Blosc, default ${DEFAULT_BLOSC.cname}` }),
  },
  clevel: { expected: 'clevel 0..9', schema: z.number().int().min(0).max(9).meta({ description: `0 (store) .. 9, default ${DEFAULT_BLOSC.clevel}` }) },
  shuffle: {
    expected: `shuffle ${BLOSC_SHUFFLES.join(', ')}`,
    schema: z.enum(BLOSC_SHUFFLES).meta({ description: `noshuffle, shuffle (bytes) or bitshuffle (bits), default ${DEFAULT_BLOSC.shuffle}` }),
  },
  typesize: { expected: 'typesize 1..255', schema: z.number().int().min(1).max(255) },
  blocksize: { expected: 'blocksize 0 (automatic) or a byte count up to 2^31 - 1', schema: z.number().int().min(0).max(0x7fffffff) },
};

/**
 * Blosc (c-blosc 1.x format, as HDF5 filter 32001, numcodecs and zarr read it) of bytes: a
 * 16-byte header with sizes and flags, then the shuffled and compressed blocks. Runs on one
 * thread (callers parallelise across frames) and keeps no global blosc state.
 *
 * @example
 * const blosc = BloscCodec.fromConfig({ id: 'blosc', cname: 'zstd', clevel: 5, shuffle: 'bitshuffle', typesize: 2 });
 * const back = blosc.decode(blosc.encode(bytes)); // equal to bytes
 */
export class BloscCodec implements BytesToBytesCodec {
  static readonly id = ID;
  readonly id = ID;
  readonly kind = 'bytes-to-bytes';
  readonly lossless = true;
  readonly cname: BloscCname;
  readonly clevel: number;
  readonly shuffle: BloscShuffle;
  readonly typesize: number;
  readonly blocksize: number;
  readonly #config: BloscConfig;

  private constructor(config: BloscConfig) {
    this.#config = { ...config };
    this.cname = config.cname ?? DEFAULT_BLOSC.cname;
    this.clevel = config.clevel ?? DEFAULT_BLOSC.clevel;
    this.shuffle = config.shuffle ?? DEFAULT_BLOSC.shuffle;
    this.typesize = config.typesize ?? DEFAULT_BLOSC.typesize;
    this.blocksize = config.blocksize ?? DEFAULT_BLOSC.blocksize;
  }

  /**
   * Checks `config` and builds the codec; throws SxError('usage') listing every problem.
   *
   * @example
   * BloscCodec.fromConfig({ id: 'blosc', cname: 'lz5' }); // throws "Expected cname blosclz, lz4, ... for blosc but received \"lz5\""
   */
  static fromConfig(config: CodecConfig): BloscCodec {
    checkCodecConfig(config, ID, BLOSC_OPTIONS);
    return new BloscCodec(config as BloscConfig);
  }

  /** The config this codec was built from (absent options stay absent). */
  toConfig(): BloscConfig {
    return { ...this.#config };
  }

  encode(bytes: Uint8Array): Uint8Array {
    checkBytesArgs(ID, 'encode', bytes);
    const shuffle = BLOSC_SHUFFLES.indexOf(this.shuffle);
    return runStep(ID, 'encode', () =>
      loadNative().bloscCompress(bytes, this.cname, this.clevel, shuffle, this.typesize, this.blocksize),
    );
  }

  /**
   * Decompresses one blosc buffer; with `out` the result lands there and the used part of `out`
   * is returned (`out` itself when it fits exactly). Corrupt input throws SxError('input').
   */
  decode(bytes: Uint8Array, out?: Uint8Array): Uint8Array {
    checkBytesArgs(ID, 'decode', bytes, out);
    const result = runStep(ID, 'decode', () => loadNative().bloscDecompress(bytes, out ?? null));
    return out !== undefined && result.length === out.length ? out : result;
  }
}

const CONTAINER_OPTIONS = { cname: BLOSC_OPTIONS.cname, clevel: BLOSC_OPTIONS.clevel, shuffle: BLOSC_OPTIONS.shuffle };

/**
 * Blosc in HDF5 containers: filter 32001 with client values [0, 0, 0, 0, clevel, shuffle,
 * compressor]; the filter fills the first four itself (its version, Blosc's, the type size from
 * the pixel type and the chunk size), so typesize and blocksize are not a container's to set.
 *
 * @example
 * bloscContainer.hdf5Filter({ id: 'blosc', cname: 'zstd', clevel: 7 }); // { id: 32001, cd_values: [0, 0, 0, 0, 7, 2, 5] }
 */
export const bloscContainer: ContainerCodec = {
  id: ID,
  options: CONTAINER_OPTIONS,
  hdf5Filter: (config) => {
    const codec = BloscCodec.fromConfig(config);
    const own = ['typesize', 'blocksize'].filter((key) => key in config);
    if (own.length > 0) {
      throw new SxError('usage', `Expected no ${own.join(' or ')} for blosc in an HDF5 container (the filter takes the type size from the pixels and sizes its own blocks) but received ${own.map((k) => `${k} ${describe(config[k])}`).join(', ')}`);
    }
    return { id: BLOSC_FILTER_ID, cd_values: [0, 0, 0, 0, codec.clevel, BLOSC_SHUFFLES.indexOf(codec.shuffle), BLOSC_COMPRESSOR_CODES[codec.cname]] };
  },
  // The filter stores one Blosc buffer, shuffled by the element size as the filter sets it.
  chunkCodec: (config) => {
    bloscContainer.hdf5Filter(config);
    const codecs = new Map<number, BloscCodec>();
    const forSize = (typesize: number) => {
      let codec = codecs.get(typesize);
      if (!codec) codecs.set(typesize, (codec = BloscCodec.fromConfig({ ...config, typesize })));
      return codec;
    };
    return {
      encode: (frame) => forSize(frame.data.BYTES_PER_ELEMENT).encode(bytesOf(frame.data)),
      decode: (chunk, out) => {
        decodeExactly(ID, forSize(out.BYTES_PER_ELEMENT).decode(chunk, bytesOf(out)), out);
      },
    };
  },
};
