// Shared by the TypeScript checks in front of the native kernels: their messages say what was
// received in the same words ("Expected X for Y but received Uint8Array(12)").
import type { NativeFrame } from './native.ts';

/** A received argument, as error messages show it. */
export function describeArgument(value: unknown): string {
  if (ArrayBuffer.isView(value)) {
    const length = 'length' in value ? `(${String(value.length)})` : '';
    return `${value.constructor.name}${length}`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'an object';
  return String(value);
}

/** Whether `value` is a frame of a pixel type the native kernels take. */
export function isNativeFrame(value: unknown): value is NativeFrame {
  return value instanceof Uint16Array || value instanceof Uint32Array || value instanceof Int32Array || value instanceof Float32Array;
}
