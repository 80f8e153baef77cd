import { z } from 'zod';
import { SxError } from '../src/errors.ts';
import { loadNative } from '../src/native.ts';
import type { ArrayToArrayCodec, CodecConfig, FrameArray } from './types.ts';
import type { PixelArray } from '../src/pixels.ts';

export interface QuantizedConfig extends CodecConfig {
  id: 'quantized';
  /** Bin width on the Anscombe scale, in units of the Poisson sigma: MIN_QUANTIZE_STEP..MAX_QUANTIZE_STEP. */
  step: number;
}

/**
 * Smallest step: finer ones would need more than 16 bits of codes for uint16 frames (and buy
 * nothing, as the error is then far below one photon up to 10^4 photons anyway).
 */
export const MIN_QUANTIZE_STEP = 0.01;
export const MAX_QUANTIZE_STEP = 2;
/** The step a policy's quantized product gets when it names none. */
export const DEFAULT_QUANTIZE_STEP = 1;
/** The step's range as a schema: fromConfig checks with it, and so does the policy language. */
export const QUANTIZE_STEP_SCHEMA = z.number().min(MIN_QUANTIZE_STEP).max(MAX_QUANTIZE_STEP)
  .meta({ description: `quantization step in Poisson sigmas, ${MIN_QUANTIZE_STEP}..${MAX_QUANTIZE_STEP} (default ${DEFAULT_QUANTIZE_STEP}); stored counts are within step*sqrt(x)/2 + 1/2 of x` });

/**
 * The largest count kept exactly for `step`: max(3, ceil(1/step²)). Up to there one integer
 * per code costs no more codes than the Anscombe bins would (their width in photons,
 * step·sqrt(x), is below 1), and 0..3 are exact even for coarse steps.
 *
 * @example
 * quantizeExact(1); // 3
 * quantizeExact(0.1); // 100
 */
export function quantizeExact(step: number): number {
  return Math.max(3, Math.ceil(1 / (step * step)));
}

/**
 * The documented error bound of one pixel: |decode(encode(x)) - x| <= this, for x >= 0 (negative
 * and NaN inputs decode to 0) and x below the clamp (float32 x > ~(2^23·step)², never a real
 * count). Derivation: above the exact range a pixel falls in a bin of width `step` on
 * A(x) = 2 sqrt(x + 3/8) and decodes to the bin centre, so |ΔA| <= step/2 and
 * |x̂ - x| = |ΔA|·(A(x̂) + A(x))/4 <= (step/2)·sqrt(x + 3/8) + step²/16; integer outputs are then
 * rounded (+1/2), float32 ones narrowed (+x·2^-24). Integers 0..quantizeExact(step) are exact.
 * In Poisson terms: the error is at most step/2 sigma, plus half a photon.
 *
 * @example
 * quantizeErrorBound(100, 1); // 5.5 + 1/16 + 0.5 (+ 100·2^-24)
 */
export function quantizeErrorBound(x: number, step: number): number {
  const v = Math.max(x, 0);
  return (step / 2) * Math.sqrt(v + 0.375) + (step * step) / 16 + 0.5 + v * 2 ** -24;
}

const FRAME_TYPES = 'a Uint16Array, Uint32Array, Int32Array or Float32Array';

/**
 * Photon counts rounded on a scale whose step grows like the Poisson noise (the Anscombe
 * transform): count x becomes the code of its bin of width `step` on 2 sqrt(x + 3/8); counts up
 * to `quantizeExact(step)` keep their own code, so zeros and small counts are exact. Codes are
 * in the frame's own pixel type, so decode returns that type. What the codes buy depends on the
 * background: with ~1 photon per pixel (Eiger) counts 0..3 are exact and only the bright tail
 * shrinks (~2-4 % smaller after bitshuffle-lz4); at ~20 photons per pixel the entropy falls from
 * 5.3 to 3.0 bits (step 1) and bitshuffle-lz4 output 1.3x (step 1) or 2.5x (step 2). Containers
 * store decode(encode(x)) instead, photon counts as every reader expects, since codes mean
 * nothing without this codec and its step; counts keep the fewer distinct values but not the
 * small integers, so at ~20 photons bitshuffle-lz4 gains 1.7x at step 2 and nothing at step 1,
 * and at ~1 photon nothing. Negative values (float32, int32) and NaN quantize to 0: counts are
 * never negative, and below-zero values are pedestal noise. For uint16/uint32 frames the
 * all-ones value (Eiger's gap marker, 65535 / 4294967295) round-trips exactly. Error bound:
 * `quantizeErrorBound`. The mask, if any, is carried along unchanged.
 *
 * @example
 * const codec = QuantizedCodec.fromConfig({ id: 'quantized', step: 1 });
 * const codes = codec.encode({ data, width, height });
 * const approx = codec.decode(codes); // |approx - data| <= quantizeErrorBound(data, 1) per pixel
 */
export class QuantizedCodec implements ArrayToArrayCodec {
  static readonly id = 'quantized';
  readonly id = 'quantized';
  readonly kind = 'array-to-array';
  readonly lossless = false;
  readonly step: number;
  /** Counts 0..exact are kept exactly. */
  readonly exact: number;

  private constructor(step: number) {
    this.step = step;
    this.exact = quantizeExact(step);
  }

  static fromConfig(config: CodecConfig): QuantizedCodec {
    const problems: string[] = [];
    if (config?.id !== 'quantized') problems.push(`Expected id "quantized" but received ${JSON.stringify(config?.id)}`);
    const step = config?.step;
    if (!QUANTIZE_STEP_SCHEMA.safeParse(step).success) {
      problems.push(
        `Expected step to be a number from ${MIN_QUANTIZE_STEP} to ${MAX_QUANTIZE_STEP} (in Poisson sigmas) ` +
          `for codec quantized but received ${JSON.stringify(step)}`,
      );
    }
    for (const key of Object.keys(config ?? {})) {
      if (key !== 'id' && key !== 'step') problems.push(`Unknown option ${JSON.stringify(key)} for codec quantized; expected step`);
    }
    if (problems.length > 0) throw new SxError('usage', problems.join('; '));
    return new QuantizedCodec(step as number);
  }

  toConfig(): QuantizedConfig {
    return { id: 'quantized', step: this.step };
  }

  encode(frame: FrameArray): FrameArray {
    checkFrame(frame, 'encode');
    const codes = allocLike(frame.data);
    loadNative().quantizeFrame(frame.data, this.step, this.exact, codes);
    return withData(frame, codes);
  }

  decode(frame: FrameArray): FrameArray {
    checkFrame(frame, 'decode');
    const out = allocLike(frame.data);
    loadNative().dequantizeFrame(frame.data, this.step, this.exact, out);
    return withData(frame, out);
  }
}

/** Throws SxError('usage') unless `frame` holds width x height pixels of a supported type. */
export function checkFrame(frame: FrameArray, direction: string): void {
  const problems: string[] = [];
  const { data, width, height, mask } = frame ?? ({} as FrameArray);
  const typed = data instanceof Uint16Array || data instanceof Uint32Array || data instanceof Int32Array || data instanceof Float32Array;
  if (!typed) problems.push(`Expected frame data to be ${FRAME_TYPES} but received ${describe(data)}`);
  const sizeOk = Number.isSafeInteger(width) && width >= 1 && Number.isSafeInteger(height) && height >= 1;
  if (!sizeOk) problems.push(`Expected width and height to be positive integers but received ${String(width)} x ${String(height)}`);
  if (typed && sizeOk && data.length !== width * height) {
    problems.push(`Expected ${width} x ${height} = ${width * height} pixels but received ${data.length}`);
  }
  if (mask !== undefined && !(mask instanceof Uint8Array && sizeOk && mask.length === width * height)) {
    problems.push(`Expected mask to be a Uint8Array of ${sizeOk ? width * height : 'width x height'} pixels but received ${describe(mask)}`);
  }
  if (problems.length > 0) throw new SxError('usage', `quantized ${direction}: ${problems.join('; ')}`);
}

function allocLike<T extends PixelArray>(data: T): T {
  return new (data.constructor as new (n: number) => T)(data.length);
}

function withData(frame: FrameArray, data: PixelArray): FrameArray {
  return { data, width: frame.width, height: frame.height, ...(frame.mask ? { mask: frame.mask } : {}) };
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${'length' in value ? String(value.length) : ''})`;
  return value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'an object') : String(value);
}
