// One interface for every codec, as zarr v3 and numcodecs shape theirs: a codec has an id, a
// JSON config that round-trips (`fromConfig(codec.toConfig())` behaves as `codec`, and a full
// config comes back unchanged; the reductions name their defaults in `toConfig()`, so a stored
// config survives a change of default), and turns one frame's data into its kept form and back. Three kinds, told apart by `kind`:
// - 'array-to-array': a reduction that yields a smaller frame (binned, quantized);
// - 'array-to-bytes': a frame to compressed bytes (bitshuffle-lz4, peaks);
// - 'bytes-to-bytes': bytes to compressed bytes (zstd, blosc).
import type { z } from 'zod';
import type { PixelArray, PixelType } from '../src/pixels.ts';
import type { Hdf5Filter } from '../src/hdf5-filter.ts';
import type { GroupMaxima } from '../src/group-maxima.ts';

export interface CodecConfig {
  id: string;
  [key: string]: unknown;
}

/** A frame as codecs see it: row-major pixels, fs fastest. */
export interface FrameArray {
  data: PixelArray;
  width: number;
  height: number;
  /** Per-pixel mask, 1 = bad; reductions carry it along (a binned frame has a binned mask). */
  mask?: Uint8Array;
}

/** What some codecs need beyond the pixels: the frame's peaks (peaks-only keeps boxes around them). */
export interface FrameContext {
  peaks?: { count: number; fs: Float32Array; ss: Float32Array };
}

interface CodecBase {
  readonly id: string;
  toConfig(): CodecConfig;
}

export interface ArrayToArrayCodec extends CodecBase {
  readonly kind: 'array-to-array';
  /** Whether decode(encode(x)) === x; quantized and binned are lossy, with documented bounds. */
  readonly lossless: boolean;
  /**
   * `reuse`: an earlier result of this codec, whose arrays it may overwrite for this one (binned
   * does when they fit), so that frame after frame allocates nothing; the earlier result is then
   * no longer the caller's.
   */
  encode(frame: FrameArray, context?: FrameContext, reuse?: FrameArray): FrameArray;
  /** Back to the original shape where that is defined (quantized); binned returns the binned frame itself. */
  decode(frame: FrameArray): FrameArray;
}

export interface ArrayToBytesCodec extends CodecBase {
  readonly kind: 'array-to-bytes';
  readonly lossless: boolean;
  encode(frame: FrameArray, context?: FrameContext): Uint8Array;
  decode(bytes: Uint8Array, shape: { width: number; height: number; pixelType: PixelType }): FrameArray;
}

export interface BytesToBytesCodec extends CodecBase {
  readonly kind: 'bytes-to-bytes';
  readonly lossless: true;
  encode(bytes: Uint8Array): Uint8Array;
  decode(bytes: Uint8Array, out?: Uint8Array): Uint8Array;
}

export type Codec = ArrayToArrayCodec | ArrayToBytesCodec | BytesToBytesCodec;

/** How a codec class is registered: built from a validated config. */
export interface CodecClass<C extends Codec = Codec> {
  readonly id: string;
  fromConfig(config: CodecConfig): C;
}

/**
 * One option of a codec's config: its zod schema (the one definition of its range, which the
 * policy language reuses) and what is expected, for the message.
 */
export interface OptionSpec {
  /** e.g. 'level 1..22' -> "Expected level 1..22 for zstd but received 40". */
  expected: string;
  schema: z.ZodType;
}

/**
 * A codec that HDF5 containers are compressed with, as the HDF5 filter the container's frame
 * dataset declares (h5py, CrystFEL and h5wasm then decode it themselves). Its module exports this
 * beside the class; the registry lists them, and the policy language offers exactly `options`.
 */
export interface ContainerCodec {
  readonly id: string;
  /** The options the HDF5 filter honours (all or some of the codec's own), with their ranges. */
  readonly options: Record<string, OptionSpec>;
  /**
   * The filter settings for `config`, checked by the codec's own `fromConfig`; null for no
   * filter. Throws SxError('usage') for a config the filter cannot honour.
   */
  hdf5Filter(config: CodecConfig): Hdf5Filter | null;
  /**
   * Frames in the filter's own chunk format, so containers are written and read by direct chunk
   * I/O: h5py and CrystFEL decode these bytes with the filter itself. Checked by `fromConfig`.
   */
  chunkCodec(config: CodecConfig): ChunkCodec;
}

/** One frame <-> one stored chunk of an HDF5 dataset with the codec's filter. */
export interface ChunkCodec {
  encode(frame: FrameArray): Uint8Array;
  /** Any chunk the filter stored (whatever its settings, e.g. block size or level) into `out`. */
  decode(chunk: Uint8Array, out: PixelArray): void;
  /** `decode` of a uint16 chunk that also fills `maxima`; only codecs that need no second pass for it have one. */
  decodeWithMaxima?(chunk: Uint8Array, out: Uint16Array, maxima: GroupMaxima): void;
}
