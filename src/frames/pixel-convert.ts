import { SxError } from '../errors.ts';
import type { Dataset } from '../store/hdf5.ts';
import type { PixelArray, PixelType } from '../pixels.ts';

/**
 * How a dataset's element type becomes one of sxarchive's pixel types. uint16, uint32, int32
 * and float32 pass through untouched. int8, uint8 and int16 widen to int32 (exact). int64 and
 * uint64 narrow to int32, exact or a read error naming the pixel that does not fit (never a
 * silent wrap). float64 rounds to float32, which is what CrystFEL itself computes with.
 */
export interface ElementType {
  /** The type in the file, as numpy names it: 'float64', 'int16', ... */
  stored: string;
  pixelType: PixelType;
}

const PASS_THROUGH: Record<string, PixelType> = { uint16: 'uint16', uint32: 'uint32', int32: 'int32', float32: 'float32' };
const WIDEN_TO_INT32 = new Set(['int8', 'uint8', 'int16']);
const NARROW_TO_INT32 = new Set(['int64', 'uint64']);

/** The element type of `dataset`, or SxError('input') for anything that is not plain numbers. */
export function elementTypeOf(dataset: Dataset, where: string): ElementType {
  const { type, size, signed } = dataset.metadata;
  // h5wasm reports HDF5 type classes: 0 = integer, 1 = float.
  const stored = type === 0 ? `${signed ? 'int' : 'uint'}${8 * size}` : type === 1 ? `float${8 * size}` : undefined;
  if (stored !== undefined) {
    if (stored in PASS_THROUGH) return { stored, pixelType: PASS_THROUGH[stored] };
    if (WIDEN_TO_INT32.has(stored) || NARROW_TO_INT32.has(stored)) return { stored, pixelType: 'int32' };
    if (stored === 'float64') return { stored, pixelType: 'float32' };
  }
  throw new SxError('input', `${where}: unsupported pixel type ${stored ?? `(HDF5 type class ${type}, ${size} bytes)`}; expected integers of 8 to 64 bits or float32/float64`);
}

/** `values` as read by h5wasm, in the element type's pixel type. */
export function toPixels(values: unknown, element: ElementType): PixelArray {
  if (!ArrayBuffer.isView(values)) throw new Error(`expected a numeric array but h5wasm returned ${typeof values}`);
  if (element.stored in PASS_THROUGH) return values as PixelArray;
  if (element.stored === 'float64') return Float32Array.from(values as Float64Array);
  if (WIDEN_TO_INT32.has(element.stored)) return Int32Array.from(values as Int8Array | Uint8Array | Int16Array);
  const wide = values as BigInt64Array | BigUint64Array;
  const out = new Int32Array(wide.length);
  for (let i = 0; i < wide.length; i++) {
    const v = wide[i];
    if (v < -2147483648n || v > 2147483647n) throw new Error(`pixel ${i} is ${v}, which does not fit the int32 that ${element.stored} frames are read as`);
    out[i] = Number(v);
  }
  return out;
}
