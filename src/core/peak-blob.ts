import { SxError } from '../errors.ts';
import type { PeakList } from './peakfinder8.ts';

// Little-endian: "SXP1", count (uint32), then column after column so each is one aligned copy:
// fs, ss, intensity, snr (float32), npix (int32), panel (int16). 22 bytes per peak.
const MAGIC = 0x31505853; // "SXP1"
const HEADER = 8;
const BYTES_PER_PEAK = 4 * 4 + 4 + 2;

/** Packs a peak list for the catalog: one small blob per frame, not a row per peak. */
export function encodePeaks(peaks: PeakList): Buffer {
  const n = peaks.count;
  const out = Buffer.alloc(HEADER + n * BYTES_PER_PEAK);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(n, 4);
  let at = HEADER;
  for (const column of [peaks.fs, peaks.ss, peaks.intensity, peaks.snr, peaks.npix, peaks.panel]) {
    const bytes = new Uint8Array(column.buffer, column.byteOffset, n * column.BYTES_PER_ELEMENT);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

export function decodePeaks(blob: Uint8Array): PeakList {
  const view = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (view.length < HEADER || view.readUInt32LE(0) !== MAGIC) throw new SxError('catalog', 'peak list blob: unknown format (expected SXP1)');
  const n = view.readUInt32LE(4);
  if (view.length !== HEADER + n * BYTES_PER_PEAK) throw new SxError('catalog', `peak list blob: ${view.length} bytes for ${n} peaks; expected ${HEADER + n * BYTES_PER_PEAK}`);
  // Copy into fresh, aligned arrays: the blob's offset in its buffer need not be aligned.
  let at = HEADER;
  const take = <T extends Float32Array | Int32Array | Int16Array>(column: T): T => {
    new Uint8Array(column.buffer).set(view.subarray(at, at + column.byteLength));
    at += column.byteLength;
    return column;
  };
  const fs = take(new Float32Array(n));
  const ss = take(new Float32Array(n));
  const intensity = take(new Float32Array(n));
  const snr = take(new Float32Array(n));
  const npix = take(new Int32Array(n));
  const panel = take(new Int16Array(n));
  return { count: n, fs, ss, panel, intensity, snr, npix };
}
