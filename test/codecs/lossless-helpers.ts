import type { ExecutionContext } from 'ava';
import { makeRandom, PIXEL_TYPES } from '../helpers/random.ts';
import type { PixelArray, PixelType } from '../../src/pixels.ts';

export { makeRandom, PIXEL_TYPES };


/** Lengths that exercise every path: empty, below one group of 8, not a multiple of 8, below one block, several blocks + a partial one. */
export const LENGTHS = [0, 1, 7, 8, 9, 15, 16, 17, 100, 2047, 2048, 4095, 4096, 4103, 10_007, 70_001];


/** Detector-like pixels: mostly small Poisson counts, some spots, the type's extremes (gap value, NaN, ±Inf, negatives). */
export function randomPixels(type: PixelType, n: number, seed = 1): PixelArray {
  const rand = makeRandom(seed);
  const poisson = (mean: number) => {
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = rand(); p > limit; p *= rand()) k++;
    return k;
  };
  const value = (): number => {
    const r = rand();
    if (r < 0.01) {
      switch (type) {
        case 'uint16': return 0xffff;
        case 'uint32': return 0xffffffff;
        case 'int32': return r < 0.005 ? -0x80000000 : 0x7fffffff;
        case 'float32': return [NaN, Infinity, -Infinity, -0, 3e38][Math.floor(r * 500)];
      }
    }
    if (r < 0.03) return Math.floor(rand() * (type === 'uint16' ? 65535 : 1e6)) * (type === 'int32' && r < 0.02 ? -1 : 1);
    const count = poisson(0.4);
    return type === 'float32' ? count + (rand() - 0.5) * 0.1 : count;
  };
  const out = allocPixels(type, n);
  for (let i = 0; i < n; i++) out[i] = value();
  return out;
}

export function allocPixels(type: PixelType, n: number): PixelArray {
  switch (type) {
    case 'uint16': return new Uint16Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int32': return new Int32Array(n);
    case 'float32': return new Float32Array(n);
  }
}

/** Random bytes. */
export function randomBytes(n: number, seed = 1): Uint8Array {
  const rand = makeRandom(seed);
  return Uint8Array.from({ length: n }, () => (rand() < 0.7 ? 0 : Math.floor(rand() * 256)));
}

/** Byte-level equality (NaN payloads and -0 included), as a Buffer for readable diffs. */
export function bytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** A frame shape of n pixels: one row, so any n (including primes) works. */
export function rowShape(n: number, pixelType: PixelType) {
  return { width: n, height: n === 0 ? 0 : 1, pixelType };
}

/**
 * Asserts byte equality quickly (AVA's deepEqual is slow on megabytes) and names the first
 * differing byte on failure.
 */
export function assertSameBytes(t: ExecutionContext, actual: ArrayBufferView, expected: ArrayBufferView, message?: string): void {
  const a = bytes(actual);
  const b = bytes(expected);
  if (a.equals(b)) {
    t.pass(message);
    return;
  }
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  t.fail(`${message ?? 'bytes differ'}: lengths ${a.length} vs ${b.length}, first difference at byte ${i}`);
}
