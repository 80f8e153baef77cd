import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { SxError } from './errors.ts';

/** Frame pixel types the native kernels accept. */
export type NativeFrame = Uint16Array | Uint32Array | Int32Array | Float32Array;

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

/**
 * The functions of the C++ addon (native/binding). They trust nothing but validate only
 * cheaply, with terse messages: call the wrappers in src/ (e.g. `binFrame` in
 * src/reduce/binning.ts), which check every argument first.
 */
export interface SxNative {
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
   * src/core/peakfinder8.ts).
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
  ): NativePeakList;
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
