import { describeArgument, isNativeFrame } from '../arguments.ts';
import { SxError } from '../errors.ts';
import { loadNative } from '../native.ts';
import { pixelTypeOfArray, type PixelArray, type PixelType } from '../pixels.ts';

/** Frame pixel types that can be binned. */
export type BinnableFrame = PixelArray;

/** The binned pixel type for a frame type: 32-bit, because a uint16 bin sum reaches 16 x 65535. */
export type BinnedData<F extends BinnableFrame> = F extends Float32Array
  ? Float32Array
  : F extends Int32Array
    ? Int32Array
    : Uint32Array;

/** The pixel type of binned frames of `type` (BinnedData). */
export function binnedPixelType(type: PixelType): PixelType {
  return type === 'float32' || type === 'int32' ? type : 'uint32';
}

/** Binning factors: the output is ceil(width/factor) x ceil(height/factor). */
export type BinFactor = 2 | 3 | 4;

/** The shape and pixel type of frames of `shape` binned `factor` x `factor`. */
export function binnedShape(shape: { width: number; height: number; pixelType: PixelType }, factor: BinFactor): { width: number; height: number; pixelType: PixelType } {
  return { width: binnedSize(shape.width, factor), height: binnedSize(shape.height, factor), pixelType: binnedPixelType(shape.pixelType) };
}

export interface BinFrameOptions {
  /** Pixels per row (fast-scan). */
  width: number;
  /** Rows (slow-scan). */
  height: number;
  factor: BinFactor;
  /** One byte per pixel; nonzero marks a bad pixel. */
  mask?: Uint8Array;
  /** Good pixels a bin needs, 1..factor²; default factor², so partial edge bins are bad. */
  minGood?: number;
  /** A good pixel >= this makes its bin bad; default the frame type's maximum (never for float32). */
  saturation?: number;
}

export interface BinnedFrame<D extends Uint32Array | Int32Array | Float32Array> {
  /** Good bins: sum of good pixels x factor² / good pixels, rounded for integers; bad bins: 0. */
  data: D;
  /** One byte per bin, 1 = bad. */
  badMask: Uint8Array;
  width: number;
  height: number;
  /** Number of bad bins. */
  nBad: number;
}

/** Validated binning arguments with the defaults filled in (shared with the reference). */
export interface ResolvedBinning {
  width: number;
  height: number;
  factor: BinFactor;
  minGood: number;
  saturation: number;
  mask: Uint8Array | null;
  outWidth: number;
  outHeight: number;
}

const FRAME_TYPES = 'a Uint16Array, Uint32Array, Int32Array or Float32Array';

/**
 * Bins a detector frame factor x factor with a bad-pixel mask, in native code (the method OM
 * uses; see `binFrameReference` for the same computation in TypeScript). NaN and ±Infinity
 * pixels count as bad. A bin is bad if it has fewer than `minGood` good pixels or a good pixel
 * is saturated.
 *
 * `reuse`: the arrays of an earlier result, overwritten when they fit (type and size), so that a
 * caller binning frame after frame allocates them once.
 *
 * @example
 * const binned = binFrame(frame, { width: 4148, height: 4362, factor: 2, mask });
 * // binned.data: Uint32Array of 2074 x 2181, binned.badMask marks the unusable bins
 */
export function binFrame<F extends BinnableFrame>(
  frame: F,
  options: BinFrameOptions,
  reuse?: { data: PixelArray; badMask: Uint8Array },
): BinnedFrame<BinnedData<F>> {
  const r = resolveBinning(frame, options);
  const bins = r.outWidth * r.outHeight;
  // Every bin is written, so an earlier result's arrays of the same type and size serve as they are.
  const fits = reuse !== undefined && reuse.data.length === bins && pixelTypeOfArray(reuse.data) === binnedPixelType(pixelTypeOfArray(frame)!);
  const data = fits ? (reuse.data as BinnedData<F>) : allocateBinnedData(frame, bins);
  const badMask = reuse?.badMask.length === bins ? reuse.badMask : new Uint8Array(bins);
  const nBad = loadNative().binFrame(
    frame,
    r.mask,
    r.width,
    r.height,
    r.factor,
    r.minGood,
    r.saturation,
    data,
    badMask,
  );
  return { data, badMask, width: r.outWidth, height: r.outHeight, nBad };
}

/**
 * Checks every binning argument, reporting all problems at once, and fills in defaults.
 *
 * @example
 * const { outWidth, outHeight } = resolveBinning(frame, { width: 7, height: 5, factor: 2 });
 */
export function resolveBinning(frame: unknown, options: unknown): ResolvedBinning {
  if (typeof options !== 'object' || options === null) {
    throw new SxError(
      'usage',
      `Expected an options object { width, height, factor } for binning but received ${describeArgument(options)}`,
    );
  }
  const { width, height, factor, mask, minGood, saturation } = options as Record<string, unknown>;
  const problems: string[] = [];
  const frameOk = isNativeFrame(frame);
  if (!frameOk) {
    problems.push(`Expected frame to be ${FRAME_TYPES} for binning but received ${describeArgument(frame)}`);
  }
  const widthOk = isPositiveInteger(width);
  if (!widthOk) {
    problems.push(`Expected width to be a positive integer for binning but received ${describeArgument(width)}`);
  }
  const heightOk = isPositiveInteger(height);
  if (!heightOk) {
    problems.push(`Expected height to be a positive integer for binning but received ${describeArgument(height)}`);
  }
  const factorOk = factor === 2 || factor === 3 || factor === 4;
  if (!factorOk) {
    problems.push(`Expected factor 2, 3 or 4 for binning but received ${describeArgument(factor)}`);
  }
  const pixels = widthOk && heightOk ? width * height : undefined;
  if (frameOk && pixels !== undefined && frame.length !== pixels) {
    problems.push(
      `Expected a frame of ${width} x ${height} = ${pixels} pixels for binning but received ${frame.length}`,
    );
  }
  if (mask !== undefined && !(mask instanceof Uint8Array)) {
    problems.push(`Expected mask to be a Uint8Array for binning but received ${describeArgument(mask)}`);
  } else if (mask !== undefined && pixels !== undefined && mask.length !== pixels) {
    problems.push(
      `Expected a mask of ${width} x ${height} = ${pixels} pixels for binning but received ${mask.length}`,
    );
  }
  const maxGood = factorOk ? factor * factor : 16;
  if (minGood !== undefined && !(isPositiveInteger(minGood) && minGood <= maxGood)) {
    problems.push(
      `Expected minGood to be an integer from 1 to ${maxGood} (factor²) for binning ` +
        `but received ${describeArgument(minGood)}`,
    );
  }
  if (saturation !== undefined && (typeof saturation !== 'number' || Number.isNaN(saturation))) {
    problems.push(
      `Expected saturation to be a number for binning but received ${describeArgument(saturation)}`,
    );
  }
  if (problems.length > 0) throw new SxError('usage', problems.join('; '));

  const f = factor as BinFactor;
  return {
    width: width as number,
    height: height as number,
    factor: f,
    minGood: (minGood as number | undefined) ?? f * f,
    saturation: (saturation as number | undefined) ?? defaultSaturation(frame as BinnableFrame),
    mask: (mask as Uint8Array | undefined) ?? null,
    outWidth: binnedSize(width as number, f),
    outHeight: binnedSize(height as number, f),
  };
}

/**
 * A zeroed output array of the binned type for `frame`.
 *
 * @example
 * allocateBinnedData(new Uint16Array(16), 4); // Uint32Array(4)
 */
export function allocateBinnedData<F extends BinnableFrame>(frame: F, length: number): BinnedData<F> {
  if (frame instanceof Float32Array) return new Float32Array(length) as BinnedData<F>;
  if (frame instanceof Int32Array) return new Int32Array(length) as BinnedData<F>;
  return new Uint32Array(length) as BinnedData<F>;
}

function defaultSaturation(frame: BinnableFrame): number {
  if (frame instanceof Uint16Array) return 0xffff;
  if (frame instanceof Uint32Array) return 0xffffffff;
  if (frame instanceof Int32Array) return 0x7fffffff;
  return Infinity;
}


function binnedSize(n: number, factor: BinFactor): number {
  return Math.ceil(n / factor);
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
