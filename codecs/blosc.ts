import { loadNative } from '../src/native.ts';
import { checkBytesArgs, checkCodecConfig, isIntIn, runStep } from './codec-support.ts';
import type { BytesToBytesCodec, CodecConfig } from './types.ts';

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

/** numcodecs' defaults. */
export const DEFAULT_BLOSC = { cname: 'lz4', clevel: 5, shuffle: 'shuffle', typesize: 1, blocksize: 0 } as const;

const ID = 'blosc';

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
    checkCodecConfig(config, ID, {
      cname: { expected: `cname ${BLOSC_CNAMES.join(', ')}`, ok: (v) => BLOSC_CNAMES.includes(v as BloscCname) },
      clevel: { expected: 'clevel 0..9', ok: (v) => isIntIn(v, 0, 9) },
      shuffle: { expected: `shuffle ${BLOSC_SHUFFLES.join(', ')}`, ok: (v) => BLOSC_SHUFFLES.includes(v as BloscShuffle) },
      typesize: { expected: 'typesize 1..255', ok: (v) => isIntIn(v, 1, 255) },
      blocksize: { expected: 'blocksize 0 (automatic) or a byte count up to 2^31 - 1', ok: (v) => isIntIn(v, 0, 0x7fffffff) },
    });
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
