// The pixel types frames come in, and the few facts every layer needs about them: the ground floor
// that sources, labelling, codecs and the store all build on, so none of them imports another for a type.

/** Pixel types sxarchive reads and writes, named as numpy names them. */
export type PixelType = 'uint16' | 'uint32' | 'int32' | 'float32';
export type PixelArray = Uint16Array | Uint32Array | Int32Array | Float32Array;

/** Bytes per pixel of each pixel type. */
export const PIXEL_BYTES: Record<PixelType, number> = { uint16: 2, uint32: 4, int32: 4, float32: 4 };
export const PIXEL_TYPES = Object.keys(PIXEL_BYTES) as PixelType[];

/** Bytes of one frame's pixels, uncompressed: what "raw bytes" counts. */
export const frameBytes = (f: { width: number; height: number; pixelType: PixelType }) => f.width * f.height * PIXEL_BYTES[f.pixelType];

const ARRAY_OF: Record<PixelType, new (buffer: ArrayBuffer, offset: number, length: number) => PixelArray> = {
  uint16: Uint16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
};

/** The pixel type of a typed array, or undefined for anything else. */
export function pixelTypeOfArray(data: unknown): PixelType | undefined {
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return undefined;
}

export function allocPixels(type: PixelType, length: number): PixelArray {
  return new ARRAY_OF[type](new ArrayBuffer(length * PIXEL_BYTES[type]), 0, length);
}

/**
 * A pixel array of `length` whose memory is not zeroed: only for outputs a decoder overwrites
 * completely (it saves a memset of the whole frame per decode).
 */
export function allocPixelsUnsafe(type: PixelType, length: number): PixelArray {
  const buffer = Buffer.allocUnsafeSlow(length * PIXEL_BYTES[type]).buffer as ArrayBuffer;
  return new ARRAY_OF[type](buffer, 0, length);
}

/** A view of `bytes` as pixels of `type` (no copy); its offset must be aligned to the pixel size. */
export function pixelsOf(type: PixelType, bytes: Uint8Array): PixelArray {
  return new ARRAY_OF[type](bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / PIXEL_BYTES[type]);
}
