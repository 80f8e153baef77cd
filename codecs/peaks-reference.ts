import {
  checkPeaksInput,
  PEAK_BOXES_HEADER_BYTES,
  PEAK_BOXES_MAGIC,
  PEAK_BOXES_VERSION,
  PEAK_PIXEL_TYPES,
  peakBoxCoordBytes,
} from './peaks.ts';
import type { FrameArray, FrameContext } from './types.ts';
import { allocPixels } from '../src/pixels.ts';

/**
 * `PeaksCodec.encode` in plain TypeScript, byte for byte what native/kernels/peak-boxes.cpp
 * writes (the layout is documented on `PeaksCodec`).
 *
 * @example
 * const bytes = encodePeakBoxesReference({ data, width, height }, { peaks }, 3);
 */
export function encodePeakBoxesReference(frame: FrameArray, context: FrameContext | undefined, box: number): Uint8Array {
  const peaks = checkPeaksInput(frame, context);
  const { data, width, height } = frame;
  const rows: [number, number, number][] = [];
  for (let k = 0; k < peaks.count; k++) {
    const cx = Math.floor(peaks.fs[k]);
    const cy = Math.floor(peaks.ss[k]);
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) continue;
    const x0 = Math.max(0, cx - box), x1 = Math.min(width - 1, cx + box);
    const y0 = Math.max(0, cy - box), y1 = Math.min(height - 1, cy + box);
    if (x0 > x1 || y0 > y1) continue;
    for (let y = y0; y <= y1; y++) rows.push([y, x0, x1]);
  }
  rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const runs: [number, number, number][] = [];
  for (const r of rows) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last[0] === r[0] && r[1] <= last[2] + 1) last[2] = Math.max(last[2], r[2]);
    else runs.push([r[0], r[1], r[2]]);
  }
  const nPixels = runs.reduce((n, r) => n + r[2] - r[1] + 1, 0);
  const coord = peakBoxCoordBytes(width, height);
  const typeCode = PEAK_PIXEL_TYPES.findIndex((t) => allocPixels(t, 0).constructor === data.constructor);
  const size = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(PEAK_BOXES_HEADER_BYTES + peaks.count * 8 + runs.length * 3 * coord + nPixels * size);
  const view = new DataView(out.buffer);
  out.set([...PEAK_BOXES_MAGIC].map((ch) => ch.charCodeAt(0)), 0);
  out.set([PEAK_BOXES_VERSION, typeCode, coord, 0], 4);
  [box, width, height, peaks.count, runs.length, nPixels].forEach((v, i) => view.setUint32(8 + 4 * i, v, true));
  let p = PEAK_BOXES_HEADER_BYTES;
  for (let k = 0; k < peaks.count; k++, p += 4) view.setFloat32(p, peaks.fs[k], true);
  for (let k = 0; k < peaks.count; k++, p += 4) view.setFloat32(p, peaks.ss[k], true);
  const putCoord = (v: number) => {
    if (coord === 2) view.setUint16(p, v, true);
    else view.setUint32(p, v, true);
    p += coord;
  };
  for (const [ss, fs0, fs1] of runs) {
    putCoord(ss);
    putCoord(fs0);
    putCoord(fs1 - fs0 + 1);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  for (const [ss, fs0, fs1] of runs) {
    const start = (ss * width + fs0) * size;
    const end = (ss * width + fs1 + 1) * size;
    out.set(bytes.subarray(start, end), p); // typed arrays hold host order: little-endian on every host sxarchive supports
    p += end - start;
  }
  return out;
}
