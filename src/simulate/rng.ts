/**
 * Seeded randomness for the simulator. Math.random cannot be seeded, and the simulator must
 * give byte-identical frames for the same options, so every draw comes from here.
 */

const TWO_POW_32 = 4294967296;
const WARM_UP = 8;
const POISSON_NORMAL_MEAN = 30;
const POISSON_MAX_INVERSION = 200;

/**
 * The splitmix32 finaliser: a bijective scramble of 32 bits, so that nearby seeds, frame
 * numbers or Miller indices give unrelated outputs.
 */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A uniform number in [0, 1) that depends only on its integer arguments. */
export function hashUnit(a: number, b: number, c: number, d: number): number {
  return mix32(mix32(mix32(mix32(a) ^ b) ^ c) ^ d) / TWO_POW_32;
}

/**
 * xoshiro128** (Blackman & Vigna): 128 bits of state, 32-bit outputs, fast with Math.imul.
 * One generator per (seed, stream) pair; the simulator uses the frame number as the stream,
 * so frame i is the same whatever the number of frames in the run.
 *
 * @example
 * const rng = new Rng(42, 7);
 * const photons = rng.poisson(1.5);
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream = 0) {
    // s0 and s1 are bijections of seed and stream, so no two (seed, stream) pairs share a
    // state; the warm-up spreads their bits over the whole state before the first output.
    this.s0 = mix32(seed);
    this.s1 = mix32(stream ^ 0x6a09e667);
    this.s2 = mix32(this.s0 ^ 0xbb67ae85);
    this.s3 = mix32(this.s1 ^ 0x3c6ef372);
    for (let i = 0; i < WARM_UP; i++) this.nextU32();
  }

  nextU32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /**
   * Fills out[0..count) with uniform integers in [0, 2^31), the top 31 bits of the same
   * stream as nextU32. The state lives in locals so the background loop pays a few integer
   * ops per pixel, and 31 bits keep values in V8's small-integer range: comparing uint32
   * values >= 2^31 runs at less than half the speed.
   */
  fillU31(out: Int32Array, count: number): void {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < count; i++) {
      const m = Math.imul(s1, 5);
      out[i] = Math.imul((m << 7) | (m >>> 25), 9) >>> 1;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Standard normal (Box–Muller; the second value is dropped to keep the state simple). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /**
   * Poisson sample. Inversion is exact and cheap for the small means of pixels; above
   * POISSON_NORMAL_MEAN the normal approximation is within a fraction of a count.
   */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    if (mean >= POISSON_NORMAL_MEAN) {
      return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    }
    const u = this.next();
    let p = Math.exp(-mean);
    let cdf = p;
    let k = 0;
    // The bound only matters if rounding leaves the summed cdf just below u.
    while (u >= cdf && k < POISSON_MAX_INVERSION) {
      k += 1;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }
}
