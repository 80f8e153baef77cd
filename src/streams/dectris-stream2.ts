// DECTRIS stream V2 (SIMPLON 1.8+: Eiger2, Pilatus4, and what Jungfraujoch sends): one CBOR map
// per ZeroMQ message, of type `start`, `image` or `end` (dectris/documentation, stream_v2/).
// Image channels are RFC 8746 arrays (tag 40 [dims, typed array]) whose bytes may be a DECTRIS
// compressed byte string (tag 56500 [algorithm, element size, bytes]). A compressed payload is
// kept as it is: "bslz4" is byte for byte an HDF5 bitshuffle-LZ4 (filter 32008) chunk, so a
// container can take it by direct chunk write; only labelling decodes it.
import { addExtension, Decoder, Encoder, Tag } from 'cbor-x';
import { SxError } from '../errors.ts';
import { PIXEL_BYTES, PIXEL_TYPES, type PixelType } from '../pixels.ts';

/** The CBOR tags of the format: self-describe, multi-dimensional array, DECTRIS compression. */
const SELF_DESCRIBE = 55799;
const MULTI_DIM = 40;
const COMPRESSED = 56500;
/** RFC 8746 little-endian typed arrays of the pixel types (uint8 and big-endian are not taken). */
const TYPED_ARRAY_TAGS: Record<number, PixelType> = { 69: 'uint16', 70: 'uint32', 78: 'int32', 85: 'float32' };
const TAG_OF: Record<PixelType, number> = { uint16: 69, uint32: 70, int32: 78, float32: 85 };

/** How a channel's bytes are stored: as they are, or compressed as the DECTRIS tag says. */
export type Stream2Compression = 'bslz4' | 'lz4' | 'none';

/** One channel of an image: its pixels' stored bytes, not decoded. */
export interface Stream2Channel {
  channel: string;
  width: number;
  height: number;
  pixelType: PixelType;
  compression: Stream2Compression;
  /** The bitshuffle element size for bslz4 (the pixel size), else 0. */
  elemSize: number;
  /** The stored bytes (a view into the message): a bslz4 or lz4 stream as the HDF5 filters frame it, or the raw pixels. */
  bytes: Uint8Array;
}

export interface Stream2Start {
  type: 'start';
  seriesId: number;
  seriesUniqueId: string;
  channels: string[];
  pixelType: PixelType;
  width: number;
  height: number;
  numberOfImages: number;
  /** Values of the start message the detector describes itself with, when it sends them. */
  beamCenterX?: number;
  beamCenterY?: number;
  incidentWavelength?: number;
  /** The detector's pixel mask per channel (sent with header_detail all): nonzero marks a pixel dead, hot or in a gap. */
  pixelMask?: Stream2Channel[];
  userData?: unknown;
}

export interface Stream2Image {
  type: 'image';
  seriesId: number;
  seriesUniqueId: string;
  imageId: number;
  /** Seconds as [numerator, denominator], relative to the series date. */
  startTime?: [number, number];
  stopTime?: [number, number];
  realTime?: [number, number];
  data: Stream2Channel[];
  userData?: unknown;
}

export interface Stream2End {
  type: 'end';
  seriesId: number;
  seriesUniqueId: string;
}

export type Stream2Message = Stream2Start | Stream2Image | Stream2End;

// What the tags decode to before the message is checked: the payload is left as it came.
class CompressedBytes {
  constructor(readonly algorithm: unknown, readonly elemSize: unknown, readonly bytes: unknown) {}
}
class TypedBytes {
  constructor(readonly pixelType: PixelType, readonly payload: unknown) {}
}
class MultiDim {
  constructor(readonly value: unknown) {}
}

// cbor-x keeps its tag decoders in one table for the process; sxarchive decodes CBOR only here.
addExtension({ Class: CompressedBytes, tag: COMPRESSED, encode: () => { throw new Error('not encoded'); }, decode: (v: unknown) => (Array.isArray(v) ? new CompressedBytes(v[0], v[1], v[2]) : new CompressedBytes(undefined, undefined, v)) });
addExtension({ Class: MultiDim, tag: MULTI_DIM, encode: () => { throw new Error('not encoded'); }, decode: (v: unknown) => new MultiDim(v) });
for (const [tag, pixelType] of Object.entries(TYPED_ARRAY_TAGS)) {
  addExtension({ Class: TypedBytes, tag: Number(tag), encode: () => { throw new Error('not encoded'); }, decode: (v: unknown) => new TypedBytes(pixelType, v) });
}

const decoder = new Decoder({ mapsAsObjects: true, useRecords: false });
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Checks the fields of one message, naming each that is missing or wrong. */
class Fields {
  readonly problems: string[] = [];
  constructor(private readonly map: Record<string, unknown>) {}

  count(key: string): number {
    const v = this.map[key];
    if (!isCount(v)) this.problems.push(`${key}: expected an unsigned integer, got ${describe(v)}`);
    return v as number;
  }

  text(key: string): string {
    const v = this.map[key];
    if (typeof v !== 'string') this.problems.push(`${key}: expected a text string, got ${describe(v)}`);
    return v as string;
  }

  optionalNumber(key: string): number | undefined {
    const v = this.map[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.problems.push(`${key}: expected a number, got ${describe(v)}`);
    return v as number;
  }

  optionalRational(key: string): [number, number] | undefined {
    const v = this.map[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length !== 2 || !isCount(v[0]) || !isCount(v[1]) || v[1] === 0) {
      this.problems.push(`${key}: expected [numerator, denominator > 0], got ${describe(v)}`);
      return undefined;
    }
    return [v[0], v[1]];
  }

  check(type: string): void {
    if (this.problems.length > 0) throw new SxError('input', `stream2 ${type} message: ${this.problems.join('; ')}`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof CompressedBytes || v instanceof TypedBytes || v instanceof MultiDim) return `a tagged ${v.constructor.name}`;
  if (typeof v === 'object' && v !== null) return 'a map';
  return JSON.stringify(v);
}

/**
 * The message in `bytes` (one ZeroMQ message). Throws SxError('input') "stream2 ...: ..." naming
 * what does not decode or what a field holds instead of what the format says.
 */
export function decodeStream2(bytes: Uint8Array): Stream2Message {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    throw new SxError('input', `stream2 message of ${bytes.byteLength} bytes does not decode as CBOR: ${(err as Error).message}`);
  }
  if (!isRecord(value)) throw new SxError('input', `stream2 message: expected a CBOR map, got ${describe(value)}`);
  const f = new Fields(value);
  switch (value.type) {
    case 'start': {
      const message: Stream2Start = {
        type: 'start', seriesId: f.count('series_id'), seriesUniqueId: f.text('series_unique_id'), channels: [], pixelType: 'uint16',
        width: f.count('image_size_x'), height: f.count('image_size_y'), numberOfImages: f.count('number_of_images'),
      };
      const channels = value.channels;
      if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => typeof c === 'string')) f.problems.push(`channels: expected a list of channel names, got ${describe(channels)}`);
      else message.channels = channels;
      const dtype = value.image_dtype as PixelType;
      if (!PIXEL_TYPES.includes(dtype)) f.problems.push(`image_dtype: expected one of ${PIXEL_TYPES.join(', ')}, got ${describe(value.image_dtype)}`);
      else message.pixelType = dtype;
      for (const [key, field] of [['beam_center_x', 'beamCenterX'], ['beam_center_y', 'beamCenterY'], ['incident_wavelength', 'incidentWavelength']] as const) {
        const v = f.optionalNumber(key);
        if (v !== undefined) message[field] = v;
      }
      if (value.pixel_mask !== undefined) {
        if (!isRecord(value.pixel_mask)) f.problems.push(`pixel_mask: expected a map of channel name to mask, got ${describe(value.pixel_mask)}`);
        else message.pixelMask = Object.entries(value.pixel_mask).map(([channel, mask]) => channelOf(channel, mask, f, 'pixel_mask'));
      }
      if (value.user_data !== undefined) message.userData = value.user_data;
      f.check('start');
      return message;
    }
    case 'image': {
      const message: Stream2Image = { type: 'image', seriesId: f.count('series_id'), seriesUniqueId: f.text('series_unique_id'), imageId: f.count('image_id'), data: [] };
      for (const [key, field] of [['start_time', 'startTime'], ['stop_time', 'stopTime'], ['real_time', 'realTime']] as const) {
        const v = f.optionalRational(key);
        if (v) message[field] = v;
      }
      if (!isRecord(value.data) || Object.keys(value.data).length === 0) f.problems.push(`data: expected a map of channel name to image, got ${describe(value.data)}`);
      else for (const [channel, image] of Object.entries(value.data)) message.data.push(channelOf(channel, image, f));
      if (value.user_data !== undefined) message.userData = value.user_data;
      f.check('image');
      return message;
    }
    case 'end': {
      const message: Stream2End = { type: 'end', seriesId: f.count('series_id'), seriesUniqueId: f.text('series_unique_id') };
      f.check('end');
      return message;
    }
    default:
      throw new SxError('input', `stream2 message: type: expected start, image or end, got ${describe(value.type)}`);
  }
}

function channelOf(channel: string, image: unknown, f: Fields, field = 'data'): Stream2Channel {
  const where = `${field}.${channel}`;
  const none: Stream2Channel = { channel, width: 0, height: 0, pixelType: 'uint16', compression: 'none', elemSize: 0, bytes: new Uint8Array(0) };
  if (!(image instanceof MultiDim) || !Array.isArray(image.value) || image.value.length !== 2) {
    f.problems.push(`${where}: expected a multi-dimensional array (tag 40 [dims, typed array]), got ${describe(image)}`);
    return none;
  }
  const [dims, typed] = image.value as [unknown, unknown];
  if (!Array.isArray(dims) || dims.length !== 2 || !dims.every((d) => isCount(d) && d > 0)) {
    f.problems.push(`${where}: expected dims [height, width], got ${describe(dims)}`);
    return none;
  }
  if (!(typed instanceof TypedBytes)) {
    f.problems.push(`${where}: expected a little-endian typed array of ${Object.values(TYPED_ARRAY_TAGS).join(', ')}, got ${describe(typed)}`);
    return none;
  }
  const [height, width] = dims as [number, number];
  const result: Stream2Channel = { ...none, width, height, pixelType: typed.pixelType };
  const pixelBytes = width * height * PIXEL_BYTES[typed.pixelType];
  if (typed.payload instanceof Uint8Array) {
    if (typed.payload.byteLength !== pixelBytes) f.problems.push(`${where}: ${width} x ${height} ${typed.pixelType} needs ${pixelBytes} bytes, got ${typed.payload.byteLength}`);
    return { ...result, bytes: typed.payload };
  }
  if (!(typed.payload instanceof CompressedBytes)) {
    f.problems.push(`${where}: expected a byte string or a compressed one (tag 56500), got ${describe(typed.payload)}`);
    return result;
  }
  const { algorithm, elemSize, bytes } = typed.payload;
  if (algorithm !== 'bslz4' && algorithm !== 'lz4') f.problems.push(`${where}: compression: expected bslz4 or lz4, got ${describe(algorithm)}`);
  else if (!(bytes instanceof Uint8Array)) f.problems.push(`${where}: compressed data: expected a byte string, got ${describe(bytes)}`);
  else if (algorithm === 'bslz4' && elemSize !== PIXEL_BYTES[typed.pixelType]) f.problems.push(`${where}: bslz4 element size: expected ${PIXEL_BYTES[typed.pixelType]} for ${typed.pixelType}, got ${describe(elemSize)}`);
  else return { ...result, compression: algorithm, elemSize: algorithm === 'bslz4' ? (elemSize as number) : 0, bytes };
  return result;
}

/** Channel name -> tag 40 [dims, typed array], the payload compressed (tag 56500) or as it is. */
function channelMap(channels: Stream2Channel[]): Record<string, Tag> {
  return Object.fromEntries(channels.map((c) => [c.channel, new Tag([[c.height, c.width], new Tag(c.compression === 'none' ? c.bytes : new Tag([c.compression, c.elemSize, c.bytes], COMPRESSED), TAG_OF[c.pixelType])], MULTI_DIM)]));
}

/** The CBOR message the detector sends for `message` (tagged self-describing, as DECTRIS does). */
export function encodeStream2(message: Stream2Message): Uint8Array {
  let map: Record<string, unknown>;
  switch (message.type) {
    case 'start':
      map = {
        type: 'start', series_id: message.seriesId, series_unique_id: message.seriesUniqueId, channels: message.channels, image_dtype: message.pixelType,
        image_size_x: message.width, image_size_y: message.height, number_of_images: message.numberOfImages,
        ...(message.beamCenterX !== undefined ? { beam_center_x: message.beamCenterX } : {}),
        ...(message.beamCenterY !== undefined ? { beam_center_y: message.beamCenterY } : {}),
        ...(message.incidentWavelength !== undefined ? { incident_wavelength: message.incidentWavelength } : {}),
        ...(message.pixelMask ? { pixel_mask: channelMap(message.pixelMask), pixel_mask_enabled: false } : {}),
        ...(message.userData !== undefined ? { user_data: message.userData } : {}),
      };
      break;
    case 'image':
      map = {
        type: 'image', series_id: message.seriesId, series_unique_id: message.seriesUniqueId, image_id: message.imageId,
        ...(message.startTime ? { start_time: message.startTime } : {}),
        ...(message.stopTime ? { stop_time: message.stopTime } : {}),
        ...(message.realTime ? { real_time: message.realTime } : {}),
        data: channelMap(message.data),
        ...(message.userData !== undefined ? { user_data: message.userData } : {}),
      };
      break;
    case 'end':
      map = { type: 'end', series_id: message.seriesId, series_unique_id: message.seriesUniqueId };
      break;
  }
  return encoder.encode(new Tag(map, SELF_DESCRIBE));
}
