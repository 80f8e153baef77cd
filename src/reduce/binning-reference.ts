import {
  allocateBinnedData,
  resolveBinning,
  type BinFrameOptions,
  type BinnableFrame,
  type BinnedData,
  type BinnedFrame,
} from './binning.ts';

/**
 * `binFrame` in plain TypeScript, with bit-identical results: the tests compare the native
 * kernel (native/kernels/binning.cpp) against it. Sums run in the same order (row by row within
 * a bin) in doubles, which are exact for integer frames (|sum| < 2^53).
 *
 * @example
 * const binned = binFrameReference(new Uint16Array(16).fill(1), { width: 4, height: 4, factor: 2 });
 * // binned.data = Uint32Array [4, 4, 4, 4]
 */
export function binFrameReference<F extends BinnableFrame>(
  frame: F,
  options: BinFrameOptions,
): BinnedFrame<BinnedData<F>> {
  const { width, height, factor, minGood, saturation, mask, outWidth, outHeight } = resolveBinning(
    frame,
    options,
  );
  const full = factor * factor;
  const data = allocateBinnedData(frame, outWidth * outHeight);
  const badMask = new Uint8Array(outWidth * outHeight);
  let nBad = 0;
  for (let oy = 0; oy < outHeight; oy++) {
    const y1 = Math.min(oy * factor + factor, height);
    for (let ox = 0; ox < outWidth; ox++) {
      const x1 = Math.min(ox * factor + factor, width);
      let sum = 0;
      let nGood = 0;
      let saturated = false;
      for (let y = oy * factor; y < y1; y++) {
        for (let x = ox * factor; x < x1; x++) {
          const i = y * width + x;
          const v = frame[i];
          if ((mask !== null && mask[i] !== 0) || !Number.isFinite(v)) continue;
          sum += v;
          nGood++;
          if (v >= saturation) saturated = true;
        }
      }
      const o = oy * outWidth + ox;
      if (nGood < minGood || saturated) {
        badMask[o] = 1;
        nBad++;
      } else {
        const value = nGood === full ? sum : (sum * full) / nGood;
        // A Float32Array store narrows like the kernel's double -> float cast.
        data[o] = data instanceof Float32Array ? value : clampToOutput(data, roundHalfAwayFromZero(value));
      }
    }
  }
  return { data, badMask, width: outWidth, height: outHeight, nBad };
}

/** C++ std::round: Math.round alone would send -2.5 to -2. */
function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Typed-array stores wrap out-of-range integers; the kernel saturates instead. */
function clampToOutput(data: Uint32Array | Int32Array, x: number): number {
  const [lo, hi] = data instanceof Int32Array ? [-0x80000000, 0x7fffffff] : [0, 0xffffffff];
  return Math.min(Math.max(x, lo), hi);
}
