import { z } from 'zod';
import { SxError } from '../src/errors.ts';
import { loadNative } from '../src/native.ts';
import { checkFrame } from './quantized.ts';
import type { ArrayToBytesCodec, CodecConfig, FrameArray, FrameContext } from './types.ts';
import { type PixelArray, type PixelType, PIXEL_BYTES, allocPixelsUnsafe } from '../src/pixels.ts';

export interface PeaksConfig extends CodecConfig {
  id: 'peaks';
  /** Half-width of the box around each peak: (2·box + 1)² pixels, MIN_PEAK_BOX..MAX_PEAK_BOX. */
  box: number;
}

export const DEFAULT_PEAK_BOX = 3;
/**
 * A box of half-width 0 would keep the peak's one pixel: no background around it, so neither
 * CrystFEL nor sxarchive could find or integrate the peak again in the kept data.
 */
export const MIN_PEAK_BOX = 1;
/** kMaxPeakBox in native/kernels/peak-boxes.hpp. */
export const MAX_PEAK_BOX = 64;
/** The box's range as a schema: fromConfig checks with it, and so does the policy language. */
export const PEAK_BOX_SCHEMA = z.number().int().min(MIN_PEAK_BOX).max(MAX_PEAK_BOX)
  .meta({ description: `half-width of the box kept around each peak, ${MIN_PEAK_BOX}..${MAX_PEAK_BOX} px (default ${DEFAULT_PEAK_BOX})` });
/** kPeakBoxHeaderBytes. */
export const PEAK_BOXES_HEADER_BYTES = 32;
export const PEAK_BOXES_MAGIC = 'SXPK';
export const PEAK_BOXES_VERSION = 1;

/** Type codes of the layout's header, in this order. */
export const PEAK_PIXEL_TYPES: readonly PixelType[] = ['uint16', 'uint32', 'int32', 'float32'];

/** Bytes per run coordinate (peakBoxCoordBytes): 2 when both sides fit in uint16, else 4. */
export function peakBoxCoordBytes(width: number, height: number): 2 | 4 {
  return width <= 0xffff && height <= 0xffff ? 2 : 4;
}

/** The most bytes `encode` can write for these sizes (the native kernel's output buffer). */
export function peakBoxesBound(width: number, height: number, count: number, box: number, elementBytes: number): number {
  const side = 2 * box + 1;
  return PEAK_BOXES_HEADER_BYTES + count * 8 + count * side * 3 * peakBoxCoordBytes(width, height) + count * side * side * elementBytes;
}

/**
 * Peaks-only: keeps the pixels in the (2·box + 1)² boxes around the frame's peaks
 * (`context.peaks`, positions in CrystFEL's convention: pixel i spans [i, i + 1), so the box
 * centre is floor(fs), floor(ss)), exactly, and drops the rest. Boxes are clipped to the frame;
 * overlapping and touching boxes are merged into row runs, so every pixel is stored once.
 *
 * Layout (little-endian), written by the native kernel (native/kernels/peak-boxes.cpp):
 * ```
 * 0  "SXPK"   4  u8 version = 1   5  u8 pixel type (0 uint16, 1 uint32, 2 int32, 3 float32)
 * 6  u8 coordinate bytes c (2 if width and height <= 65535, else 4)      7  u8 0
 * 8  u32 box   12 u32 width   16 u32 height   20 u32 nPeaks   24 u32 nRuns   28 u32 nPixels
 * 32 f32 fs[nPeaks], f32 ss[nPeaks]            (the peak table, as given)
 *    nRuns x (ss, fs0, length), each c bytes    (sorted by ss, then fs0)
 *    nPixels values of the pixel type           (run after run, fs ascending)
 * ```
 * Decode gives a frame with every kept pixel exact and 0 elsewhere, and a mask with 1 (= not
 * kept, like a bad pixel) outside the boxes. Compress the bytes further with a bytes-to-bytes
 * codec if wanted (zstd).
 *
 * @example
 * const codec = PeaksCodec.fromConfig({ id: 'peaks', box: 3 });
 * const bytes = codec.encode({ data, width, height }, { peaks }); // peaks from findPeaks
 * const kept = codec.decode(bytes, { width, height, pixelType: 'uint16' });
 */
export class PeaksCodec implements ArrayToBytesCodec {
  static readonly id = 'peaks';
  readonly id = 'peaks';
  readonly kind = 'array-to-bytes';
  readonly lossless = false;
  readonly box: number;

  private constructor(box: number) {
    this.box = box;
  }

  /** `box` defaults to DEFAULT_PEAK_BOX; `toConfig()` always names it. */
  static fromConfig(config: CodecConfig): PeaksCodec {
    const problems: string[] = [];
    if (config?.id !== 'peaks') problems.push(`Expected id "peaks" but received ${JSON.stringify(config?.id)}`);
    const box = config?.box === undefined ? DEFAULT_PEAK_BOX : config.box;
    if (!PEAK_BOX_SCHEMA.safeParse(box).success) {
      problems.push(`Expected box to be an integer from ${MIN_PEAK_BOX} to ${MAX_PEAK_BOX} (half-width in pixels) for codec peaks but received ${JSON.stringify(box)}`);
    }
    for (const key of Object.keys(config ?? {})) {
      if (key !== 'id' && key !== 'box') problems.push(`Unknown option ${JSON.stringify(key)} for codec peaks; expected box`);
    }
    if (problems.length > 0) throw new SxError('usage', problems.join('; '));
    return new PeaksCodec(box as number);
  }

  toConfig(): PeaksConfig {
    return { id: 'peaks', box: this.box };
  }

  encode(frame: FrameArray, context?: FrameContext): Uint8Array {
    const peaks = checkPeaksInput(frame, context);
    const { data, width, height } = frame;
    const out = new Uint8Array(peakBoxesBound(width, height, peaks.count, this.box, data.BYTES_PER_ELEMENT));
    const n = loadNative().encodePeakBoxes(data, width, height, peaks.fs, peaks.ss, peaks.count, this.box, out);
    return out.slice(0, n);
  }

  /** The frame (kept pixels exact, 0 elsewhere, mask 1 outside the boxes) and the stored peak table. */
  decode(bytes: Uint8Array, shape: { width: number; height: number; pixelType: PixelType }): DecodedPeakBoxes {
    return decodePeakBoxes(bytes, shape);
  }
}

/** Validates what `encode` gets and returns the peak list (shared with the reference). */
export function checkPeaksInput(frame: FrameArray, context?: FrameContext): NonNullable<FrameContext['peaks']> {
  checkFrame(frame, 'encode (peaks)');
  const peaks = context?.peaks;
  if (peaks === undefined) {
    throw new SxError('usage', 'Expected context.peaks ({ count, fs, ss }, e.g. from findPeaks) for codec peaks but received none: peaks-only needs the frame\'s peaks');
  }
  const { count, fs, ss } = peaks;
  const problems: string[] = [];
  if (!(Number.isSafeInteger(count) && count >= 0 && count <= 0xffffffff)) problems.push(`Expected context.peaks.count to be a non-negative integer but received ${String(count)}`);
  if (!(fs instanceof Float32Array) || !(ss instanceof Float32Array)) problems.push('Expected context.peaks.fs and .ss to be Float32Arrays');
  else if (fs.length < count || ss.length < count) problems.push(`Expected context.peaks.fs and .ss to hold ${count} peaks but they hold ${fs.length} and ${ss.length}`);
  if (problems.length > 0) throw new SxError('usage', `peaks encode: ${problems.join('; ')}`);
  return peaks;
}

/** What peaks-only decodes to: the frame and the peak table it was encoded with. */
export type DecodedPeakBoxes = FrameArray & { peaks: { count: number; fs: Float32Array; ss: Float32Array } };

/** The parsed header of the peaks layout. */
export interface PeakBoxesHeader {
  pixelType: PixelType;
  coordBytes: number;
  box: number;
  width: number;
  height: number;
  nPeaks: number;
  nRuns: number;
  nPixels: number;
}

/**
 * Reads the header, checking magic, version and that the byte count matches.
 *
 * @example
 * readPeakBoxesHeader(bytes).nPixels; // pixels kept
 */
export function readPeakBoxesHeader(bytes: Uint8Array): PeakBoxesHeader {
  const bad = (why: string) => new SxError('input', `peaks decode: ${why}`);
  if (bytes.length < PEAK_BOXES_HEADER_BYTES) throw bad(`expected at least ${PEAK_BOXES_HEADER_BYTES} bytes but received ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== PEAK_BOXES_MAGIC) throw bad(`expected magic "${PEAK_BOXES_MAGIC}" but received ${JSON.stringify(magic)}`);
  if (bytes[4] !== PEAK_BOXES_VERSION) throw bad(`unsupported layout version ${bytes[4]}; expected ${PEAK_BOXES_VERSION}`);
  const pixelType = PEAK_PIXEL_TYPES[bytes[5]];
  if (pixelType === undefined) throw bad(`unknown pixel type code ${bytes[5]}`);
  const h: PeakBoxesHeader = {
    pixelType,
    coordBytes: bytes[6],
    box: view.getUint32(8, true),
    width: view.getUint32(12, true),
    height: view.getUint32(16, true),
    nPeaks: view.getUint32(20, true),
    nRuns: view.getUint32(24, true),
    nPixels: view.getUint32(28, true),
  };
  const size = PEAK_BOXES_HEADER_BYTES + h.nPeaks * 8 + h.nRuns * 3 * h.coordBytes + h.nPixels * PIXEL_BYTES[pixelType];
  if ((h.coordBytes !== 2 && h.coordBytes !== 4) || size !== bytes.length) {
    throw bad(`corrupt payload: header says ${size} bytes (${h.nRuns} runs, ${h.nPixels} pixels) but received ${bytes.length}`);
  }
  return h;
}

/**
 * The kept pixels back in a full frame (0 outside the boxes, mask 1 there), and the peak table.
 *
 * @example
 * const { data, mask } = decodePeakBoxes(bytes, { width, height, pixelType: 'uint16' });
 */
export function decodePeakBoxes(
  bytes: Uint8Array,
  shape: { width: number; height: number; pixelType: PixelType },
): DecodedPeakBoxes {
  const h = readPeakBoxesHeader(bytes);
  if (h.width !== shape.width || h.height !== shape.height || h.pixelType !== shape.pixelType) {
    throw new SxError('input', `peaks decode: payload holds a ${h.width} x ${h.height} ${h.pixelType} frame but ${shape.width} x ${shape.height} ${shape.pixelType} was expected`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fs = new Float32Array(h.nPeaks);
  const ss = new Float32Array(h.nPeaks);
  let p = PEAK_BOXES_HEADER_BYTES;
  for (let k = 0; k < h.nPeaks; k++, p += 4) fs[k] = view.getFloat32(p, true);
  for (let k = 0; k < h.nPeaks; k++, p += 4) ss[k] = view.getFloat32(p, true);
  const c = h.coordBytes;
  const coord = (at: number) => (c === 2 ? view.getUint16(at, true) : view.getUint32(at, true));
  const runsAt = p;
  let values = runsAt + h.nRuns * 3 * c;
  const data: PixelArray = allocPixelsUnsafe(h.pixelType, h.width * h.height).fill(0);
  const mask = new Uint8Array(h.width * h.height).fill(1);
  const read = valueReader(view, h.pixelType);
  const size = data.BYTES_PER_ELEMENT;
  for (let r = 0; r < h.nRuns; r++) {
    const at = runsAt + r * 3 * c;
    const ssRow = coord(at);
    const fs0 = coord(at + c);
    const length = coord(at + 2 * c);
    if (ssRow >= h.height || fs0 + length > h.width) throw new SxError('input', `peaks decode: run ${r} (${ssRow}, ${fs0}, ${length}) lies outside the ${h.width} x ${h.height} frame`);
    const start = ssRow * h.width + fs0;
    for (let i = 0; i < length; i++, values += size) data[start + i] = read(values);
    mask.fill(0, start, start + length);
  }
  return { data, width: h.width, height: h.height, mask, peaks: { count: h.nPeaks, fs, ss } };
}

function valueReader(view: DataView, type: PixelType): (at: number) => number {
  switch (type) {
    case 'uint16': return (at) => view.getUint16(at, true);
    case 'uint32': return (at) => view.getUint32(at, true);
    case 'int32': return (at) => view.getInt32(at, true);
    case 'float32': return (at) => view.getFloat32(at, true);
  }
}
