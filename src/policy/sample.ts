import { createHash } from 'node:crypto';

/**
 * The deterministic sample draw of one frame, in [0, 1): a rule with `sample: { fraction: f }`
 * keeps a frame when `draw < f`.
 *
 * Formula (so an auditor can recompute any decision without sxarchive):
 *
 *     h    = SHA-256 of the UTF-8 text `${experiment}\0${source}\0${event}\0${seed}`
 *            (\0 is one NUL byte; seed in decimal, as JavaScript prints a number)
 *     u    = the first 8 bytes of h as an unsigned big-endian 64-bit integer
 *     draw = floor(u / 2^11) / 2^53          (= u / 2^64 truncated to the 53 bits of a double)
 *
 * In Python: `(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], 'big') >> 11) / 2**53`.
 * Truncating (not rounding) keeps the draw strictly below 1, so `fraction: 1` keeps every frame
 * and `fraction: 0` none.
 *
 * @example
 * sampleDraw('lyso-2026', '/data/run7.h5', '//17', 0) // same inputs, same number, forever
 */
export function sampleDraw(experiment: string, source: string, event: string, seed: number): number {
  const digest = createHash('sha256').update(sampleKey(experiment, source, event, seed), 'utf8').digest();
  const u = digest.readBigUInt64BE(0);
  return Number(u >> 11n) / 2 ** 53;
}

/** The exact text that is hashed for a frame's draw (see {@link sampleDraw}). */
export function sampleKey(experiment: string, source: string, event: string, seed: number): string {
  return `${experiment}\0${source}\0${event}\0${seed}`;
}

/** Whether a frame is drawn into a sample of `fraction`, with the draw for the decision's reason. */
export function isDrawn(fraction: number, experiment: string, source: string, event: string, seed: number): { drawn: boolean; draw: number } {
  const draw = sampleDraw(experiment, source, event, seed);
  return { drawn: draw < fraction, draw };
}
