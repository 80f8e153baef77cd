import { quantizeExact } from './quantized.ts';
import type { PixelArray } from '../src/pixels.ts';

// The kernel's clamps and markers per type (QuantizeTraits in native/kernels/quantize.hpp).
function traits(data: PixelArray): { maxCode: number; marker?: number; integer: boolean; maxValue: number } {
  if (data instanceof Uint16Array) return { maxCode: 65534, marker: 0xffff, integer: true, maxValue: 0xfffe };
  if (data instanceof Uint32Array) return { maxCode: 0xfffffffe, marker: 0xffffffff, integer: true, maxValue: 0xfffffffe };
  if (data instanceof Int32Array) return { maxCode: 0x7fffffff, integer: true, maxValue: 0x7fffffff };
  return { maxCode: 2 ** 24, integer: false, maxValue: Infinity };
}

/**
 * `QuantizedCodec.encode`'s codes in plain TypeScript, bit-identical to the native kernel
 * (native/kernels/quantize.cpp): the same double operations in the same order.
 *
 * @example
 * quantizeReference(Uint16Array.of(0, 3, 100), 1); // Uint16Array [0, 3, 20]
 */
export function quantizeReference<T extends PixelArray>(frame: T, step: number): T {
  const exact = quantizeExact(step);
  const exactEnd = exact + 0.5;
  const a0 = 2 * Math.sqrt(exactEnd + 0.375);
  const { maxCode, marker } = traits(frame);
  const codes = new (frame.constructor as new (n: number) => T)(frame.length);
  for (let i = 0; i < frame.length; i++) {
    const x = frame[i];
    if (x === marker) {
      codes[i] = marker;
      continue;
    }
    let code: number;
    if (!(x > 0)) code = 0;
    else if (x < exactEnd) code = Math.floor(x + 0.5);
    else code = exact + 1 + Math.floor((2 * Math.sqrt(x + 0.375) - a0) / step);
    codes[i] = code < maxCode ? code : maxCode;
  }
  return codes;
}

/**
 * `QuantizedCodec.decode` in plain TypeScript: the centre of each code's bin, rounded for
 * integer types, bit-identical to native/kernels/quantize.cpp.
 *
 * @example
 * dequantizeReference(Uint16Array.of(0, 3, 20), 1); // Uint16Array [0, 3, 104]
 */
export function dequantizeReference<T extends PixelArray>(codes: T, step: number): T {
  const exact = quantizeExact(step);
  const exactEnd = exact + 0.5;
  const a0 = 2 * Math.sqrt(exactEnd + 0.375);
  const { marker, integer, maxValue } = traits(codes);
  const out = new (codes.constructor as new (n: number) => T)(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === marker) {
      out[i] = marker;
      continue;
    }
    if (c <= exact) {
      out[i] = c < 0 ? 0 : c;
      continue;
    }
    const a = a0 + (c - exactEnd) * step;
    let x = a * a * 0.25 - 0.375;
    if (integer) x = Math.min(Math.floor(x + 0.5), maxValue);
    out[i] = x;
  }
  return out;
}
