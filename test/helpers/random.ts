import type { PixelType } from '../../src/pixels.ts';

export const PIXEL_TYPES: PixelType[] = ['uint16', 'uint32', 'int32', 'float32'];

/** mulberry32: a tiny seeded PRNG so failures reproduce. */
export function makeRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Poisson count of `mean`: Knuth's method for small means, a rounded normal above 30. */
export function poisson(mean: number, rand: () => number): number {
  if (mean < 30) {
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = rand(); p > limit; p *= rand()) k++;
    return k;
  }
  const gauss = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss));
}
