import h5wasm from 'h5wasm/node';
import type { Dataset, Group, File as H5File } from 'h5wasm/node';
import { install_local_plugins } from 'h5wasm-plugins';
import { crc32 } from 'node:zlib';
import { SxError } from '../errors.ts';
import type { Hdf5Filter } from '../hdf5-filter.ts';
import { allocPixels, type PixelArray, type PixelType } from '../pixels.ts';


const H5_DTYPE: Record<PixelType, string> = {
  uint16: '<H',
  uint32: '<I',
  int32: '<i',
  float32: '<f',
};

/** The HDF5 (h5wasm) dtype code of a pixel type, little-endian. */
export function h5DtypeOf(type: PixelType): string {
  return H5_DTYPE[type];
}

let ready: Promise<typeof h5wasm> | undefined;

/** h5wasm with the compression plugins installed; loaded once per process. */
export function loadH5(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready.then((module) => {
    install_local_plugins(module);
    return h5wasm;
  });
  return ready;
}

export type { Dataset, Group, H5File };

export function pixelTypeOf(dtype: unknown, where: string): PixelType {
  for (const [name, code] of Object.entries(H5_DTYPE)) {
    if (code === dtype) return name as PixelType;
  }
  throw new SxError('input', `${where}: unsupported pixel type ${JSON.stringify(dtype)}; expected uint16, uint32, int32 or float32`);
}

/** Creates every missing group on `path` (like `mkdir -p`) and returns the last one. */
export function ensureGroup(file: H5File, path: string): Group {
  let current: Group = file;
  let at = '';
  for (const part of path.split('/').filter(Boolean)) {
    at += `/${part}`;
    const existing = file.get(at);
    current = existing instanceof h5wasm.Group ? existing : current.create_group(part);
  }
  return current;
}

/**
 * An extendable [n, height, width] dataset with one frame per chunk, so a reader can fetch
 * any frame alone and frames can be appended while an experiment runs; `filter` null stores
 * the frames uncompressed.
 */
export class FrameStackWriter {
  readonly dataset: Dataset;
  readonly height: number;
  readonly width: number;
  count = 0;
  /** CRC-32 of each appended frame's bytes: the container is read back against them before it is recorded. */
  readonly digests: number[] = [];
  private readonly filename: string;

  constructor(file: H5File, path: string, height: number, width: number, type: PixelType, filter: Hdf5Filter | null) {
    const slash = path.lastIndexOf('/');
    const parent = ensureGroup(file, path.slice(0, slash));
    this.dataset = parent.create_dataset({
      name: path.slice(slash + 1),
      data: allocPixels(type, 0),
      shape: [0, height, width],
      maxshape: [null, height, width],
      chunks: [1, height, width],
      dtype: H5_DTYPE[type],
      ...(filter ? { compression: filter.id, compression_opts: filter.cd_values } : {}),
    });
    // h5wasm answers a failed create (e.g. no space for the file's metadata) with null, not an error.
    if (!this.dataset) throw new SxError('store', `${file.filename}: cannot create dataset ${path} (no space left on the device, or not writable)`);
    this.filename = file.filename;
    this.height = height;
    this.width = width;
  }

  append(frame: PixelArray): void {
    if (frame.length !== this.height * this.width) {
      throw new SxError('store', `frame ${this.count} has ${frame.length} pixels; expected ${this.height}x${this.width}`);
    }
    if (this.dataset.resize([this.count + 1, this.height, this.width]) < 0) throw new SxError('store', `${this.filename}: cannot extend ${this.dataset.path} to ${this.count + 1} frames`);
    this.dataset.write_slice([[this.count, this.count + 1]], frame);
    this.digests.push(crc32(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength)));
    this.count += 1;
  }
}

/** Reads frame `index` of an [n, ss, fs] dataset: one chunk, never the whole stack. */
export function readFrame(dataset: Dataset, index: number): PixelArray {
  const value = dataset.slice([[index, index + 1]]);
  if (!ArrayBuffer.isView(value)) {
    throw new SxError('input', `${dataset.path}: frame ${index} is not a numeric array`);
  }
  return value as PixelArray;
}

/** Closes a file that was written, failing if HDF5 could not flush it (e.g. no space left). */
export function closeWritten(file: H5File): void {
  const status = file.close();
  if (typeof status === 'number' && status < 0) throw new SxError('store', `${file.filename}: HDF5 could not finish writing the file (no space left on the device?)`);
}
