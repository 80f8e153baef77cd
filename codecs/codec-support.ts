// Helpers shared by the lossless codecs (bitshuffle-lz4, zstd, blosc, none): config checks with
// the house message style, pixel-array <-> byte views, and the error wrapping of a codec step.
import { endianness } from 'node:os';
import { SxError } from '../src/errors.ts';
import type { CodecConfig, FrameArray, OptionSpec } from './types.ts';
import { PIXEL_TYPES, pixelTypeOfArray, type PixelArray, type PixelType } from '../src/pixels.ts';

/**
 * Checks `config` for codec `id`: the id, every option present against its spec, no unknown
 * options. Throws one SxError('usage') listing every problem; options are all optional.
 *
 * @example
 * checkCodecConfig(cfg, 'zstd', { level: { expected: 'level 1..22', schema: z.number().int().min(1).max(22) } });
 */
export function checkCodecConfig(config: unknown, id: string, options: Record<string, OptionSpec>): CodecConfig {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new SxError('usage', `Expected a config object { id: "${id}", ... } for ${id} but received ${describe(config)}`);
  }
  const record = config as Record<string, unknown>;
  const problems: string[] = [];
  if (record.id !== id) problems.push(`Expected id "${id}" but received ${describe(record.id)}`);
  const known = Object.keys(options);
  for (const [key, value] of Object.entries(record)) {
    if (key === 'id') continue;
    const spec = options[key];
    if (spec === undefined) {
      const expected = known.length > 0 ? `expected ${known.join(', ')}` : 'it takes no options';
      problems.push(`Unknown option ${JSON.stringify(key)} for ${id}; ${expected}`);
    } else if (!spec.schema.safeParse(value).success) {
      problems.push(`Expected ${spec.expected} for ${id} but received ${describe(value)}`);
    }
  }
  if (problems.length > 0) throw new SxError('usage', problems.join('; '));
  return record as CodecConfig;
}

/** An integer from min to max inclusive. */
export function isIntIn(value: unknown, min: number, max: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}

/** A short description of a received value for messages: `40`, `"lz5"`, `Uint8Array(12)`. */
export function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) {
    return `${value.constructor.name}(${'length' in value ? String(value.length) : value.byteLength})`;
  }
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && value.constructor !== Object) {
    return value.constructor?.name ?? 'an object';
  }
  return JSON.stringify(value) ?? String(value);
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Checks that a decoded chunk filled the whole frame (a chunk of another frame size, or a
 * damaged one, must not leave stale pixels behind); throws SxError('input').
 */
export function decodeExactly(id: string, decoded: Uint8Array, out: PixelArray): void {
  if (decoded.byteLength !== out.byteLength) {
    throw new SxError('input', `${id}: the chunk holds ${decoded.byteLength} bytes; expected ${out.byteLength} (${out.length} pixels)`);
  }
}

/** Codecs store pixels little-endian, as the HDF5 datasets declare them; typed arrays use the host's order. */
export function assertLittleEndianHost(id: string): void {
  if (endianness() !== 'LE') {
    throw new SxError('native', `${id}: this host is big-endian; sxarchive's codecs support little-endian hosts only`);
  }
}

/**
 * Runs one codec step, turning an addon error (corrupt or inconsistent data) into
 * SxError('input') named "<id> <direction>: <reason>", with the original error as `cause`.
 */
export function runStep<T>(id: string, direction: 'encode' | 'decode', step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof SxError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new SxError(direction === 'decode' ? 'input' : 'native', `${id} ${direction}: ${reason}`, { cause: err });
  }
}

/** Checks an array-to-bytes codec's frame and returns its pixel type. */
export function checkEncodeFrame(frame: FrameArray, id: string): PixelType {
  const { data, width, height } = (frame ?? {}) as Partial<FrameArray>;
  const type = pixelTypeOfArray(data);
  const problems: string[] = [];
  if (type === undefined) {
    problems.push(`Expected frame data to be a Uint16Array, Uint32Array, Int32Array or Float32Array but received ${describe(data)}`);
  }
  const sizeOk = isIntIn(width, 0, Number.MAX_SAFE_INTEGER) && isIntIn(height, 0, Number.MAX_SAFE_INTEGER);
  if (!sizeOk) problems.push(`Expected width and height to be integers >= 0 but received ${describe(width)} x ${describe(height)}`);
  if (type !== undefined && sizeOk && data!.length !== width! * height!) {
    problems.push(`Expected ${width} x ${height} = ${width! * height!} pixels but received ${data!.length}`);
  }
  if (problems.length > 0) throw new SxError('usage', `${id} encode: ${problems.join('; ')}`);
  return type!;
}

/** Checks decode's arguments (shared by the array-to-bytes codecs) and returns the pixel count. */
export function checkDecodeArgs(
  id: string,
  bytes: unknown,
  shape: { width: number; height: number; pixelType: PixelType },
  out: unknown,
): number {
  const problems: string[] = [];
  if (!(bytes instanceof Uint8Array)) problems.push(`Expected bytes to be a Uint8Array but received ${describe(bytes)}`);
  const { width, height, pixelType } = (shape ?? {}) as Partial<typeof shape>;
  const sizeOk = isIntIn(width, 0, Number.MAX_SAFE_INTEGER) && isIntIn(height, 0, Number.MAX_SAFE_INTEGER);
  if (!sizeOk) problems.push(`Expected width and height to be integers >= 0 but received ${describe(width)} x ${describe(height)}`);
  const typeOk = PIXEL_TYPES.includes(pixelType as PixelType);
  if (!typeOk) problems.push(`Expected pixelType ${PIXEL_TYPES.join(', ')} but received ${describe(pixelType)}`);
  const pixels = sizeOk ? width! * height! : 0;
  if (out !== undefined && (pixelTypeOfArray(out) !== pixelType || !sizeOk || (out as PixelArray).length !== pixels)) {
    problems.push(`Expected out to be a ${pixelType ?? 'pixel'} array of ${sizeOk ? pixels : 'width x height'} pixels but received ${describe(out)}`);
  }
  if (problems.length > 0) throw new SxError('usage', `${id} decode: ${problems.join('; ')}`);
  return pixels;
}

/** Checks a bytes-to-bytes codec's input (and `out`, when given). */
export function checkBytesArgs(id: string, direction: 'encode' | 'decode', bytes: unknown, out?: unknown): void {
  const problems: string[] = [];
  if (!(bytes instanceof Uint8Array)) problems.push(`Expected bytes to be a Uint8Array but received ${describe(bytes)}`);
  if (out !== undefined && !(out instanceof Uint8Array)) problems.push(`Expected out to be a Uint8Array but received ${describe(out)}`);
  if (problems.length > 0) throw new SxError('usage', `${id} ${direction}: ${problems.join('; ')}`);
}
