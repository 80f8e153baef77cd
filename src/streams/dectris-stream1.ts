// DECTRIS stream V1 (the SIMPLON API `stream` interface of Eiger and Eiger2 detectors before stream
// V2): one multipart ZeroMQ message per header, image or series end, of JSON parts and binary
// blobs, told apart by the first part's `htype`. "shape" is [x, y], i.e. [width, height] (numpy's
// shape reversed, as dxtbx reads it). The blob of a `bs16-lz4<`/`bs32-lz4<` image is an HDF5
// bitshuffle-LZ4 (filter 32008) chunk, 12-byte header (big-endian uint64 uncompressed bytes,
// uint32 block bytes) included, as the detector's own file writer stores it (dxtbx and yamtbx read
// the block size at byte 8 and the data from byte 12): it is kept as it came, so a container takes
// it by direct chunk write. `lz4<` is one bare LZ4 block ("without any additional data like block
// size", the SIMPLON manual), which is framed here as the one-block HDF5 LZ4 (filter 32004) chunk
// that stream V2's "lz4" is, so that both formats' "lz4" are the same bytes.
import { SxError } from '../errors.ts';
import { PIXEL_BYTES, type PixelType } from '../pixels.ts';
import type { Stream2Channel, Stream2Compression } from './dectris-stream2.ts';

export type Stream1HeaderDetail = 'all' | 'basic' | 'none';

/** The detector's pixel mask (header_detail "all"): width x height little-endian uint32, ss-major, a view into the message. */
export interface Stream1PixelMask {
  width: number;
  height: number;
  bytes: Uint8Array;
}

export interface Stream1Start {
  type: 'start';
  seriesId: number;
  headerDetail: Stream1HeaderDetail;
  /** From the detector config (header_detail basic or all): x/y_pixels_in_detector, bit_depth_image, nimages x ntrigger. */
  width?: number;
  height?: number;
  pixelType?: PixelType;
  numberOfImages?: number;
  beamCenterX?: number;
  beamCenterY?: number;
  /** Å, the config's `wavelength`. */
  incidentWavelength?: number;
  pixelMask?: Stream1PixelMask;
  /** The detector config part as sent; encoding it, the fields above override its keys. */
  config?: Record<string, unknown>;
  /** The header appendix: its JSON value, or its text when it is not JSON. */
  userData?: unknown;
}

/** One image: a single channel, shaped as stream V2's channels are (`bytes` a view, except lz4's framed copy). */
export interface Stream1Image extends Omit<Stream2Channel, 'channel'> {
  type: 'image';
  seriesId: number;
  imageId: number;
  /** The MD5 (hex) of the data part as sent; not checked: ZeroMQ delivers parts whole, and a damaged blob fails where it is decoded. */
  hash: string;
  /** Nanoseconds as [ns, 1e9], the rationals stream V2 times are. */
  startTime: [number, number];
  stopTime: [number, number];
  realTime: [number, number];
  /** The image appendix: its JSON value, or its text. */
  userData?: unknown;
}

export interface Stream1End {
  type: 'end';
  seriesId: number;
}

export type Stream1Message = Stream1Start | Stream1Image | Stream1End;

const ENCODINGS: Record<string, { compression: Stream2Compression; elemSize: number }> = {
  'bs16-lz4<': { compression: 'bslz4', elemSize: 2 },
  'bs32-lz4<': { compression: 'bslz4', elemSize: 4 },
  'lz4<': { compression: 'lz4', elemSize: 0 },
  '<': { compression: 'none', elemSize: 0 },
};
/** What an Eiger's frames are; uint8 (bit_depth_image 8, bs8-lz4<) is not read. */
const TYPES: Record<string, PixelType> = { uint16: 'uint16', uint32: 'uint32' };
const BIT_DEPTHS: Record<number, PixelType> = { 16: 'uint16', 32: 'uint32' };
/** Parts of a header before its appendix, by header_detail: "all" adds flatfield, pixel mask and countrate table, each a JSON part and a blob. */
const HEADER_PARTS: Record<Stream1HeaderDetail, number> = { none: 1, basic: 2, all: 8 };
const DETAIL_HTYPES = ['dflatfield-1.0', 'dpixelmask-1.0', 'dcountrate_table-1.0'];
const NS = 1_000_000_000;
/** The HDF5 LZ4 chunk's header (uncompressed bytes, block bytes) and its one block's length. */
const LZ4_FRAMING_BYTES = 16;
/** An HDF5 LZ4 block size is a signed 32-bit number. */
const MAX_LZ4_BLOCK = 0x7fff_ffff;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const textBytes = new TextEncoder();

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isRecord(v)) return 'an object';
  return JSON.stringify(v);
}

/** The fields of one JSON part; problems are named `<htype> <key>` and reported together. */
class Fields {
  constructor(readonly map: Record<string, unknown>, private readonly htype: string, private readonly problems: string[]) {}

  problem(key: string, text: string): void {
    this.problems.push(`${this.htype} ${key}: ${text}`);
  }

  count(key: string): number {
    const v = this.map[key];
    if (!isCount(v)) this.problem(key, `expected an unsigned integer, got ${describe(v)}`);
    return v as number;
  }

  optionalCount(key: string): number | undefined {
    return this.map[key] === undefined ? undefined : this.count(key);
  }

  optionalNumber(key: string): number | undefined {
    const v = this.map[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) this.problem(key, `expected a number, got ${describe(v)}`);
    return v as number | undefined;
  }

  /** [width, height], or undefined (a problem noted). */
  shape(): [number, number] | undefined {
    const v = this.map.shape;
    if (Array.isArray(v) && v.length === 2 && v.every((d) => isCount(d) && d > 0)) return v as [number, number];
    this.problem('shape', `expected [width, height], got ${describe(v)}`);
    return undefined;
  }
}

function parseJson(part: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(utf8.decode(part));
  } catch (err) {
    throw new SxError('input', `${where} of ${part.byteLength} bytes does not decode as JSON: ${(err as Error).message}`);
  }
}

/** Part `index` as the JSON object of one of `htypes`; what is not one ends the decoding. */
function jsonPart(parts: Uint8Array[], index: number, message: string, htypes: string[], problems: string[]): Fields {
  const where = `${message}: part ${index + 1}`;
  const value = parseJson(parts[index], `${where} (${htypes.join(' or ')})`);
  if (!isRecord(value)) throw new SxError('input', `${where}: expected a JSON object, got ${describe(value)}`);
  if (!htypes.includes(value.htype as string)) throw new SxError('input', `${where}: htype: expected ${htypes.join(', ')}, got ${describe(value.htype)}`);
  return new Fields(value, value.htype as string, problems);
}

function appendixOf(part: Uint8Array, problems: string[], index: number): unknown {
  let text: string;
  try {
    text = utf8.decode(part);
  } catch {
    problems.push(`part ${index + 1} (appendix): expected UTF-8 text`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Throws unless `parts` has `expected` parts, or one more: the appendix. */
function checkParts(parts: Uint8Array[], kind: string, expected: number): void {
  if (parts.length !== expected && parts.length !== expected + 1) {
    throw new SxError('input', `stream1 ${kind} message: expected ${expected} parts (${expected + 1} with an appendix), got ${parts.length}`);
  }
}

function check(kind: string, problems: string[]): void {
  if (problems.length > 0) throw new SxError('input', `stream1 ${kind} message: ${problems.join('; ')}`);
}

/**
 * The message in `parts` (one multipart ZeroMQ message). Throws SxError('input') "stream1 ...: ..."
 * naming the part that does not decode, or the part and field that hold something else than the
 * format says (a wrong number of parts, an unknown htype or encoding, a blob of another size).
 *
 * @example
 * const message = decodeStream1(await pull.receive());
 * if (message.type === 'image' && message.compression === 'bslz4') writer.writeChunk(message.imageId, message.bytes);
 */
export function decodeStream1(parts: Uint8Array[]): Stream1Message {
  if (parts.length === 0) throw new SxError('input', 'stream1 message: expected at least one part, got none');
  const problems: string[] = [];
  const first = jsonPart(parts, 0, 'stream1 message', ['dheader-1.0', 'dimage-1.0', 'dseries_end-1.0'], problems);
  switch (first.map.htype) {
    case 'dheader-1.0':
      return headerOf(parts, first, problems);
    case 'dimage-1.0':
      return imageOf(parts, first, problems);
    default: {
      if (parts.length !== 1) throw new SxError('input', `stream1 end message: expected 1 part, got ${parts.length}`);
      const message: Stream1End = { type: 'end', seriesId: first.count('series') };
      check('end', problems);
      return message;
    }
  }
}

function headerOf(parts: Uint8Array[], first: Fields, problems: string[]): Stream1Start {
  const detail = first.map.header_detail as Stream1HeaderDetail;
  if (!Object.hasOwn(HEADER_PARTS, detail)) throw new SxError('input', `stream1 header message: dheader-1.0 header_detail: expected all, basic or none, got ${describe(first.map.header_detail)}`);
  checkParts(parts, 'header', HEADER_PARTS[detail]);
  const message: Stream1Start = { type: 'start', seriesId: first.count('series'), headerDetail: detail };
  if (detail !== 'none') {
    const config = parseJson(parts[1], 'stream1 header message: part 2 (the detector config)');
    if (!isRecord(config)) throw new SxError('input', `stream1 header message: part 2 (the detector config): expected a JSON object, got ${describe(config)}`);
    const f = new Fields(config, 'config', problems);
    message.config = config;
    for (const [key, field] of [['x_pixels_in_detector', 'width'], ['y_pixels_in_detector', 'height']] as const) {
      const v = f.optionalCount(key);
      if (v !== undefined) message[field] = v;
    }
    const depth = f.optionalCount('bit_depth_image');
    if (depth !== undefined && !BIT_DEPTHS[depth]) f.problem('bit_depth_image', `expected 16 or 32 (uint16 or uint32 frames; uint8 is not read), got ${depth}`);
    else if (depth !== undefined) message.pixelType = BIT_DEPTHS[depth];
    const [nimages, ntrigger] = [f.optionalCount('nimages'), f.optionalCount('ntrigger')];
    if (nimages !== undefined) message.numberOfImages = nimages * (ntrigger ?? 1);
    for (const [key, field] of [['beam_center_x', 'beamCenterX'], ['beam_center_y', 'beamCenterY'], ['wavelength', 'incidentWavelength']] as const) {
      const v = f.optionalNumber(key);
      if (v !== undefined) message[field] = v;
    }
  }
  if (detail === 'all') {
    // The flatfield and countrate table are not kept: sxarchive corrects no pixels, while the mask is what labelling needs.
    for (let i = 2; i < 8; i += 2) {
      const f = jsonPart(parts, i, 'stream1 header message', DETAIL_HTYPES, problems);
      if (f.map.htype === 'dpixelmask-1.0') message.pixelMask = maskOf(f, parts[i + 1], i + 1);
    }
  }
  if (parts.length > HEADER_PARTS[detail]) message.userData = appendixOf(parts[parts.length - 1], problems, parts.length - 1);
  check('header', problems);
  return message;
}

function maskOf(f: Fields, blob: Uint8Array, index: number): Stream1PixelMask | undefined {
  const shape = f.shape();
  if (f.map.type !== 'uint32') f.problem('type', `expected uint32, got ${describe(f.map.type)}`);
  if (!shape) return undefined;
  const [width, height] = shape;
  if (blob.byteLength !== width * height * 4) f.problem('data', `part ${index + 1}: ${width} x ${height} uint32 needs ${width * height * 4} bytes, got ${blob.byteLength}`);
  return { width, height, bytes: blob };
}

function imageOf(parts: Uint8Array[], first: Fields, problems: string[]): Stream1Image {
  checkParts(parts, 'image', 4);
  const d = jsonPart(parts, 1, 'stream1 image message', ['dimage_d-1.0'], problems);
  const times = jsonPart(parts, 3, 'stream1 image message', ['dconfig-1.0'], problems);
  const ns = (key: string): [number, number] => [times.count(key), NS];
  const message: Stream1Image = {
    type: 'image', seriesId: first.count('series'), imageId: first.count('frame'), hash: first.map.hash as string,
    width: 0, height: 0, pixelType: 'uint16', compression: 'none', elemSize: 0, bytes: parts[2],
    startTime: ns('start_time'), stopTime: ns('stop_time'), realTime: ns('real_time'),
  };
  if (typeof message.hash !== 'string') first.problem('hash', `expected the data's MD5 as text, got ${describe(message.hash)}`);
  const shape = d.shape();
  const pixelType = TYPES[d.map.type as string];
  if (!pixelType) d.problem('type', `expected ${Object.keys(TYPES).join(' or ')} (uint8 frames are not read), got ${describe(d.map.type)}`);
  const encoding = ENCODINGS[d.map.encoding as string];
  if (!encoding) d.problem('encoding', `expected ${Object.keys(ENCODINGS).join(', ')}, got ${describe(d.map.encoding)}`);
  const size = d.count('size');
  const blob = parts[2];
  if (isCount(size) && blob.byteLength !== size) problems.push(`part 3 (the data): dimage_d-1.0 size says ${size} bytes, got ${blob.byteLength}`);
  if (shape && pixelType && encoding) {
    const [width, height] = shape;
    Object.assign(message, { width, height, pixelType, compression: encoding.compression, elemSize: encoding.elemSize });
    const pixelBytes = width * height * PIXEL_BYTES[pixelType];
    const where = `part 3 (the data): ${width} x ${height} ${pixelType}`;
    if (encoding.compression === 'none' && blob.byteLength !== pixelBytes) problems.push(`${where} needs ${pixelBytes} bytes, got ${blob.byteLength}`);
    if (encoding.compression === 'bslz4') checkBslz4(blob, encoding.elemSize, pixelType, pixelBytes, where, problems);
    if (encoding.compression === 'lz4') {
      // filter 32004 reads a block exactly as long as its data as stored, not compressed, and takes at most 2 GiB per block.
      if (blob.byteLength === pixelBytes) problems.push(`${where}: an LZ4 block of ${pixelBytes} bytes, as long as the pixels, cannot be framed as an HDF5 LZ4 chunk (which would read it as stored)`);
      else if (pixelBytes > MAX_LZ4_BLOCK) problems.push(`${where}: ${pixelBytes} bytes is more than one HDF5 LZ4 block holds`);
      else message.bytes = framedLz4(blob, pixelBytes);
    }
  }
  if (parts.length > 4) message.userData = appendixOf(parts[4], problems, 4);
  check('image', problems);
  return message;
}

// Only the header is read (the blocks are checked where the chunk is decoded): a blob without it,
// as a sender that drops it would send, is refused here rather than misread later.
function checkBslz4(blob: Uint8Array, elemSize: number, pixelType: PixelType, pixelBytes: number, where: string, problems: string[]): void {
  if (elemSize !== PIXEL_BYTES[pixelType]) {
    problems.push(`dimage_d-1.0 encoding: bs${elemSize * 8}-lz4< shuffles ${elemSize}-byte elements, but type is ${pixelType}`);
    return;
  }
  if (blob.byteLength < 12) {
    problems.push(`${where}: expected a bitshuffle-LZ4 chunk (a 12-byte header, then the blocks), got ${blob.byteLength} bytes`);
    return;
  }
  const view = new DataView(blob.buffer, blob.byteOffset, 12);
  const total = Number(view.getBigUint64(0));
  const block = view.getUint32(8);
  if (total !== pixelBytes) problems.push(`${where}: the bitshuffle-LZ4 chunk header says ${total} uncompressed bytes, expected ${pixelBytes}`);
  else if (block === 0 || block % (8 * elemSize) !== 0) problems.push(`${where}: the bitshuffle-LZ4 chunk header's block size ${block} is not a multiple of ${8 * elemSize} bytes`);
}

/** `block` (one LZ4 block of `total` bytes) as a one-block HDF5 LZ4 (filter 32004) chunk. */
function framedLz4(block: Uint8Array, total: number): Uint8Array {
  const chunk = new Uint8Array(LZ4_FRAMING_BYTES + block.byteLength);
  const view = new DataView(chunk.buffer);
  view.setBigUint64(0, BigInt(total));
  view.setUint32(8, total);
  view.setUint32(12, block.byteLength);
  chunk.set(block, LZ4_FRAMING_BYTES);
  return chunk;
}

/** The one LZ4 block of a one-block HDF5 LZ4 chunk, which is what `lz4<` sends. */
function lz4BlockOf(chunk: Uint8Array, pixelBytes: number): Uint8Array {
  const view = chunk.byteLength >= LZ4_FRAMING_BYTES ? new DataView(chunk.buffer, chunk.byteOffset, LZ4_FRAMING_BYTES) : undefined;
  const length = view?.getUint32(12);
  if (!view || Number(view.getBigUint64(0)) !== pixelBytes || view.getUint32(8) < pixelBytes || length !== chunk.byteLength - LZ4_FRAMING_BYTES || length === pixelBytes) {
    throw new SxError('usage', `stream1 sends lz4 frames as one LZ4 block: expected an HDF5 LZ4 chunk of ${pixelBytes} bytes in one compressed block`);
  }
  return chunk.subarray(LZ4_FRAMING_BYTES);
}

const json = (value: unknown): Uint8Array => textBytes.encode(JSON.stringify(value));
const appendix = (userData: unknown): Uint8Array[] => (userData === undefined ? [] : [textBytes.encode(typeof userData === 'string' ? userData : JSON.stringify(userData))]);

/**
 * The parts a detector sends for `message`. A header is sent with header_detail none or basic
 * (the flatfield and countrate table of "all" are not kept, so cannot be sent); a bslz4 image goes
 * as bs16-lz4< or bs32-lz4<, an lz4 one (a one-block HDF5 LZ4 chunk) as its bare block.
 *
 * @example
 * await push.send(encodeStream1({ type: 'end', seriesId: 3 }));
 */
export function encodeStream1(message: Stream1Message): Uint8Array[] {
  switch (message.type) {
    case 'start': {
      if (message.headerDetail === 'all') throw new SxError('usage', 'stream1 headers are sent with header_detail basic or none: the flatfield and countrate table of "all" are not kept');
      const parts = [json({ htype: 'dheader-1.0', series: message.seriesId, header_detail: message.headerDetail })];
      if (message.headerDetail === 'basic') {
        const depth = Object.entries(BIT_DEPTHS).find(([, type]) => type === message.pixelType)?.[0];
        if (message.pixelType !== undefined && depth === undefined) throw new SxError('usage', `stream1 carries uint16 or uint32 frames (an Eiger's bit_depth_image), not ${message.pixelType}`);
        parts.push(json({
          ...message.config,
          ...(message.width !== undefined ? { x_pixels_in_detector: message.width } : {}),
          ...(message.height !== undefined ? { y_pixels_in_detector: message.height } : {}),
          ...(depth !== undefined ? { bit_depth_image: Number(depth) } : {}),
          ...(message.numberOfImages !== undefined ? { nimages: message.numberOfImages, ntrigger: 1 } : {}),
          ...(message.beamCenterX !== undefined ? { beam_center_x: message.beamCenterX } : {}),
          ...(message.beamCenterY !== undefined ? { beam_center_y: message.beamCenterY } : {}),
          ...(message.incidentWavelength !== undefined ? { wavelength: message.incidentWavelength } : {}),
        }));
      }
      return [...parts, ...appendix(message.userData)];
    }
    case 'image': {
      if (!TYPES[message.pixelType]) throw new SxError('usage', `stream1 carries uint16 or uint32 frames, not ${message.pixelType}`);
      const encoding = message.compression === 'bslz4' ? `bs${message.elemSize * 8}-lz4<` : message.compression === 'lz4' ? 'lz4<' : '<';
      const blob = message.compression === 'lz4' ? lz4BlockOf(message.bytes, message.width * message.height * PIXEL_BYTES[message.pixelType]) : message.bytes;
      const ns = ([n, d]: [number, number]) => Math.round((n * NS) / d);
      return [
        json({ htype: 'dimage-1.0', series: message.seriesId, frame: message.imageId, hash: message.hash }),
        json({ htype: 'dimage_d-1.0', shape: [message.width, message.height], type: message.pixelType, encoding, size: blob.byteLength }),
        blob,
        json({ htype: 'dconfig-1.0', start_time: ns(message.startTime), stop_time: ns(message.stopTime), real_time: ns(message.realTime) }),
        ...appendix(message.userData),
      ];
    }
    case 'end':
      return [json({ htype: 'dseries_end-1.0', series: message.seriesId })];
  }
}
