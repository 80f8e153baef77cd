// Shared test helpers for the codec tests (used by quantized.test.ts).

import { poisson } from '../helpers/random.ts';
import type { PixelArray, PixelType } from '../../src/pixels.ts';

export { makeRandom, PIXEL_TYPES, poisson } from '../helpers/random.ts';

/**
 * A photon-counting frame of `n` pixels of `type`: mostly Poisson background, some bright
 * spots, and each type's special values (gap markers 2^n - 1, negatives for int32/float32,
 * NaN and ±Infinity and huge values for float32; float32 counts carry a small fraction).
 */
export function photonFrame(type: PixelType, n: number, rand: () => number): PixelArray {
  const out = alloc(type, n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    let v: number;
    if (r < 0.005) {
      v = type === 'uint16' ? 0xffff : type === 'uint32' ? 0xffffffff : type === 'int32' ? -Math.floor(rand() * 100) : [NaN, Infinity, -Infinity, -3.5, 3e13][Math.floor(rand() * 5)];
    } else if (r < 0.02) {
      v = poisson(10 ** (1 + rand() * 3.5), rand);
    } else {
      v = poisson(0.5 + rand() * 3, rand);
    }
    if (type === 'float32' && Number.isFinite(v) && v >= 0 && r >= 0.005) v += (rand() - 0.5) * 0.2;
    out[i] = v;
  }
  return out;
}

function alloc(type: PixelType, n: number): PixelArray {
  switch (type) {
    case 'uint16': return new Uint16Array(n);
    case 'uint32': return new Uint32Array(n);
    case 'int32': return new Int32Array(n);
    case 'float32': return new Float32Array(n);
  }
}
