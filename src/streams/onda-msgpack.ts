// CrystFEL/OnDA frames over ZeroMQ: one MessagePack map per message (or an array whose first
// element is that map), as OnDA/OM send them and CrystFEL's `--zmq-input` reads them. The frame
// sits under a key (CrystFEL's geometry names it with `data`; "data" here too) as a map of
// `type` (numpy's "<i4" or "<f4", the two CrystFEL reads), `shape` [ss, fs] and `data` (the
// little-endian pixels, binary); an optional peak list (key `peak_list`) holds arrays `fs`, `ss`
// and `intensity`. Other top-level numbers and strings travel with the frame as values.
import { decode, encode } from '@msgpack/msgpack';
import { SxError } from '../errors.ts';
import { PIXEL_BYTES, type PixelType } from '../pixels.ts';

const DTYPES: Record<string, PixelType> = { '<i4': 'int32', '<f4': 'float32' };
const DTYPE_OF: Partial<Record<PixelType, string>> = { int32: '<i4', float32: '<f4' };

export interface MsgpackPeaks {
  fs: number[];
  ss: number[];
  intensity: number[];
}

export interface MsgpackFrame {
  width: number;
  height: number;
  pixelType: PixelType;
  /** The pixels as sent (a view into the message), ss-major, little-endian. */
  bytes: Uint8Array;
  peaks?: MsgpackPeaks;
  /** The message's other top-level numbers and strings (e.g. an event id, a photon energy). */
  values: Record<string, number | string>;
}

export interface MsgpackKeys {
  /** Where the frame's map is (CrystFEL geometry `data`); default "data". */
  data?: string;
  /** Where the peak list is (CrystFEL geometry `peak_list`); default "peak_list". */
  peakList?: string;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'a map';
  return JSON.stringify(v);
}

/**
 * The frame in one message. Throws SxError('input') "msgpack message: ..." naming what does not
 * decode or which field holds what instead of what CrystFEL reads.
 */
export function decodeMsgpackFrame(bytes: Uint8Array, keys: MsgpackKeys = {}): MsgpackFrame {
  const dataKey = keys.data ?? 'data';
  const peakKey = keys.peakList ?? 'peak_list';
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (err) {
    throw new SxError('input', `msgpack message of ${bytes.byteLength} bytes does not decode: ${(err as Error).message}`);
  }
  const main = Array.isArray(value) ? value[0] : value;
  if (!isMap(main)) throw new SxError('input', `msgpack message: expected a map (or an array starting with one), got ${describe(main)}`);
  const problems: string[] = [];
  const frame = main[dataKey];
  let result: MsgpackFrame = { width: 0, height: 0, pixelType: 'float32', bytes: new Uint8Array(0), values: {} };
  if (!isMap(frame)) {
    problems.push(`${dataKey}: expected a map of type, shape and data, got ${describe(frame)}`);
  } else {
    const pixelType = DTYPES[frame.type as string];
    if (!pixelType) problems.push(`${dataKey}.type: expected ${Object.keys(DTYPES).join(' or ')}, got ${describe(frame.type)}`);
    const shape = frame.shape;
    const shapeOk = Array.isArray(shape) && shape.length === 2 && shape.every((d) => Number.isSafeInteger(d) && d > 0);
    if (!shapeOk) problems.push(`${dataKey}.shape: expected [ss, fs], got ${describe(shape)}`);
    const data = frame.data;
    if (!(data instanceof Uint8Array)) problems.push(`${dataKey}.data: expected binary pixels, got ${describe(data)}`);
    if (pixelType && shapeOk && data instanceof Uint8Array) {
      const [height, width] = shape as [number, number];
      const needed = width * height * PIXEL_BYTES[pixelType];
      if (data.byteLength !== needed) problems.push(`${dataKey}.data: ${width} x ${height} ${pixelType} needs ${needed} bytes, got ${data.byteLength}`);
      result = { ...result, width, height, pixelType, bytes: data };
    }
  }
  const peaks = main[peakKey];
  if (peaks !== undefined) {
    const lists = isMap(peaks) ? ([peaks.fs, peaks.ss, peaks.intensity] as unknown[]) : [];
    const ok = lists.length === 3 && lists.every((l) => Array.isArray(l) && l.every((x) => typeof x === 'number')) && new Set(lists.map((l) => (l as number[]).length)).size === 1;
    if (!ok) problems.push(`${peakKey}: expected a map of equally long number arrays fs, ss and intensity, got ${describe(peaks)}`);
    else result.peaks = { fs: lists[0] as number[], ss: lists[1] as number[], intensity: lists[2] as number[] };
  }
  if (problems.length > 0) throw new SxError('input', `msgpack message: ${problems.join('; ')}`);
  for (const [key, v] of Object.entries(main)) {
    if (key !== dataKey && key !== peakKey && (typeof v === 'number' || typeof v === 'string')) result.values[key] = v;
  }
  return result;
}

/** The message OnDA would send for `frame` (int32 or float32 pixels, as CrystFEL reads them). */
export function encodeMsgpackFrame(frame: MsgpackFrame, keys: MsgpackKeys = {}): Uint8Array {
  const dtype = DTYPE_OF[frame.pixelType];
  if (!dtype) throw new SxError('usage', `msgpack frames carry int32 or float32 pixels (CrystFEL reads "<i4" and "<f4"), not ${frame.pixelType}`);
  return encode({
    ...frame.values,
    [keys.data ?? 'data']: { type: dtype, shape: [frame.height, frame.width], data: frame.bytes },
    ...(frame.peaks ? { [keys.peakList ?? 'peak_list']: frame.peaks } : {}),
  });
}
