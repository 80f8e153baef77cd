import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SxError } from './errors.ts';
import type { PixelArray } from './pixels.ts';
import type { GroupMaxima } from './group-maxima.ts';

/** Frame pixel types the native kernels accept: every pixel type. */
export type NativeFrame = PixelArray;

/** peakfinder8's parameters as the addon reads them (see PeakFinderParams in src/core/peakfinder8.ts). */
export interface NativePeakFinderParams {
  threshold: number;
  minSnr: number;
  minPixCount: number;
  maxPixCount: number;
  localBgRadius: number;
  minRes: number;
  maxRes: number;
  maxPeaksPerPanel: number;
}

/** Value flags of peakfinder8's input (see `PeakFinderInput` in src/core/peakfinder8.ts); undefined = none. */
export interface NativePixelFlags {
  flagLessThan?: number;
  flagMoreThan?: number;
  /** At most 4 values. */
  flagEqual?: number[];
}

/** peakfinder8's result: one element per peak in each column, each column its own ArrayBuffer. */
export interface NativePeakList {
  count: number;
  fs: Float32Array;
  ss: Float32Array;
  panel: Int16Array;
  intensity: Float32Array;
  snr: Float32Array;
  npix: Int32Array;
  maxValue: Float32Array;
}

/** An HDF5 filter in a dataset's pipeline, as H5Pget_filter2 reports it. */
export interface NativeH5Filter {
  id: number;
  /** H5Z_FLAG_OPTIONAL (1) or mandatory (0). */
  flags: number;
  cdValues: number[];
  /** The name stored with the filter in the file ('' when none). */
  name: string;
}

/** What `h5DescribeDataset` reports; sizes count elements, maxShape null = unlimited. */
export interface NativeH5DatasetInfo {
  shape: number[];
  maxShape: (number | null)[];
  /** null unless the layout is chunked. */
  chunks: number[] | null;
  element: { kind: 'uint' | 'int' | 'float'; bytes: number; littleEndian: boolean };
  filters: NativeH5Filter[];
}

/**
 * The functions of the C++ addon (native/binding). They trust nothing but validate only
 * cheaply, with terse messages: call the wrappers in src/ (e.g. `binFrame` in
 * src/reduce/binning.ts), which check every argument first.
 */
export interface SxNative {
  /**
   * Fills a pixel map's arrays (each width x height) from packed panels (PANEL_FIELDS numbers
   * each) and lab bad regions ([minX, maxX, minY, maxY] each), see src/core/pixel-map.ts;
   * `invResolution` is null when there is no wavelength.
   */
  buildPixelMap(
    panels: Float64Array,
    labBoxes: Float64Array,
    width: number,
    height: number,
    lambdaA: number,
    panel: Int16Array,
    bad: Uint8Array,
    x: Float32Array,
    y: Float32Array,
    radius: Float32Array,
    invResolution: Float32Array | null,
  ): void;

  /**
   * Bins `frame` into the caller's `out` and `badMask` (both ceil(width/factor) x
   * ceil(height/factor)) and returns the number of bad bins. `out` must be an Int32Array for
   * Int32Array frames, a Float32Array for Float32Array frames and a Uint32Array otherwise.
   */
  binFrame(
    frame: NativeFrame,
    mask: Uint8Array | null,
    width: number,
    height: number,
    factor: number,
    minGood: number,
    saturation: number,
    out: Uint32Array | Int32Array | Float32Array,
    badMask: Uint8Array,
  ): number;

  /**
   * Runs peakfinder8 on a width x height `frame` with per-pixel `radius`, `panel` and `bad`
   * maps of the same size; pixels whose value `flags` name are bad as well (see `findPeaks` in
   * src/core/peakfinder8.ts). `plan`, an object the addon keeps its per-geometry work in
   * between calls (`PeakFinderPlan.native`), is passed only with the radius and panel maps it
   * was first used with.
   */
  peakfinder8(
    frame: NativeFrame,
    width: number,
    height: number,
    radius: Float32Array,
    panel: Int16Array,
    bad: Uint8Array,
    params: NativePeakFinderParams,
    flags?: NativePixelFlags,
    plan?: object,
    maxima?: GroupMaxima,
  ): NativePeakList;

  /**
   * Quantizes `frame` on the Anscombe scale into `codes` (same type and length); `exact` is the
   * largest count kept exactly (see codecs/quantized.ts, which validates the arguments).
   */
  quantizeFrame(frame: NativeFrame, step: number, exact: number, codes: NativeFrame): void;

  /** The inverse of `quantizeFrame`: bin centres (rounded for integer types) into `out`. */
  dequantizeFrame(codes: NativeFrame, step: number, exact: number, out: NativeFrame): void;

  /**
   * Writes the peaks codec's sparse layout (codecs/peaks.ts) of the boxes around the first
   * `count` peaks into `out`, which must hold `peakBoxesBound(...)` bytes; returns the bytes used.
   */
  encodePeakBoxes(
    frame: NativeFrame,
    width: number,
    height: number,
    fs: Float32Array,
    ss: Float32Array,
    count: number,
    box: number,
    out: Uint8Array,
  ): number;
  /**
   * Bit-transposes `input` (whole `elemSize`-byte elements) into `out` (same length) in blocks of
   * `blockSize` elements (0 = the HDF5 filter's default) as bitshuffle does; `inverse` undoes it.
   * See codecs/bitshuffle-reference.ts for the same in TypeScript.
   */
  bitshuffle(input: Uint8Array, elemSize: number, blockSize: number, inverse: boolean, out: Uint8Array): void;

  /** One chunk in the bitshuffle+LZ4 format of HDF5 filter 32008 (codecs/bitshuffle-lz4.ts). */
  bitshuffleLz4Encode(input: Uint8Array, elemSize: number, blockSize: number): Uint8Array;

  /**
   * Decodes a bitshuffle+LZ4 chunk into `out`, which must be exactly its uncompressed size; throws
   * on corrupt input. With `maxima` (elemSize 2; ceil(pixels / group) values, overwritten) the
   * group maxima of the values <= cap are taken as it decodes (GroupMaxima).
   */
  bitshuffleLz4Decode(input: Uint8Array, elemSize: number, out: Uint8Array, maxima?: Uint16Array, group?: number, cap?: number): void;

  /**
   * Forces the code path of the bitshuffle transpose for the whole process (for tests and
   * benchmarks; every path gives the same bytes) and returns the one now in use; 'auto' (the
   * default) takes the best the CPU has. Throws an Error for a path this CPU or build lacks.
   *
   * @example
   * loadNative().setBitshuffleIsa('scalar'); // 'scalar'
   * loadNative().setBitshuffleIsa('auto'); // 'avx2' on most x86-64 servers
   */
  setBitshuffleIsa(name: 'auto' | 'scalar' | 'sse2' | 'avx2'): string;

  /** One zstd frame (with its content size) at `level` 1..22. */
  zstdCompress(input: Uint8Array, level: number): Uint8Array;

  /** All zstd frames in `input`, into `out` (returns a view of its used part) or a new array. */
  zstdDecompress(input: Uint8Array, out: Uint8Array | null): Uint8Array;

  /** One blosc (1.x format) buffer; `shuffle` 0 none, 1 byte, 2 bit; `blocksize` 0 = automatic. */
  bloscCompress(
    input: Uint8Array,
    cname: string,
    clevel: number,
    shuffle: number,
    typesize: number,
    blocksize: number,
  ): Uint8Array;

  /** A blosc buffer, into `out` (returns a view of its used part) or a new array. */
  bloscDecompress(input: Uint8Array, out: Uint8Array | null): Uint8Array;

  /**
   * Opens an existing HDF5 file with the system libhdf5 (read-only, or read-write when
   * `writable`; never creates one) and returns its handle. Handles are hid_t values as bigints.
   * The h5* functions are for src/store/hdf5-chunks.ts, which checks their arguments first;
   * they may be called from several threads at once (one lock serialises every libhdf5 call).
   */
  h5OpenFile(path: string, writable: boolean): bigint;

  /** Flushes (when writable) and closes the file and all still open in it; throws when anything could not be written. */
  h5CloseFile(file: bigint): void;

  /** Opens the dataset at `path` in `file` and returns its handle. */
  h5OpenDataset(file: bigint, path: string): bigint;

  h5CloseDataset(dataset: bigint): void;

  /** Shape, max shape, chunk dims, element type and filter pipeline; throws unless the elements are integers or floats. */
  h5DescribeDataset(dataset: bigint): NativeH5DatasetInfo;

  /** The stored size of the chunk at `offset` (element coordinates, one per dimension); 0 = never written. */
  h5ChunkBytes(dataset: bigint, offset: number[]): number;

  /**
   * The chunk at `offset` as it is stored (still filtered), read into `out` (`bytes` is then a
   * view of its start) or a new array; throws for a chunk never written or one larger than `out`.
   */
  h5ReadChunk(dataset: bigint, offset: number[], out: Uint8Array | null): { bytes: Uint8Array; filterMask: number };

  /**
   * Reads `count` whole frames (slices along the first dimension) from `start` through HDF5's
   * filters, converted to `out`'s element type; `out` holds exactly that many elements.
   */
  h5ReadFrames(dataset: bigint, start: number, count: number, out: NativeFrame): void;

  /** Grows the first dimension to `frames` (never shrinks). */
  h5ExtendFrames(dataset: bigint, frames: number): void;

  /** Stores `bytes` as the chunk at `offset`; bit i of `filterMask` set = filter i was not applied to them. */
  h5WriteChunk(dataset: bigint, offset: number[], bytes: Uint8Array, filterMask: number): void;
}

const ADDON_PATH = '../native/build/Release/sxnative.node';

let addon: SxNative | undefined;

/**
 * The addon, loaded on first use so that commands which need no native code work without a
 * build.
 *
 * @example
 * const nBad = loadNative().binFrame(frame, null, 4, 4, 2, 4, 65535, out, badMask);
 */
export function loadNative(): SxNative {
  if (addon === undefined) {
    const require = createRequire(import.meta.url);
    try {
      addon = require(ADDON_PATH) as SxNative;
    } catch (err) {
      const path = fileURLToPath(new URL(ADDON_PATH, import.meta.url));
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new SxError(
        'native',
        `Could not load the native addon ${path} (${reason}). It is missing or was built for ` +
          'another Node.js version: rebuild it from the project root with `npm rebuild` ' +
          '(offline, against the system Node headers: `npm_config_nodedir=/usr npm rebuild`) ' +
          'or reinstall with `npm install`.',
        { cause: err },
      );
    }
  }
  return addon;
}
