import { SxError } from '../errors.ts';
import type { Dataset } from '../store/hdf5.ts';
import { checkDims, formatDims, formatEvent, inferDims, type FrameDim } from './frame-layout.ts';
import { withHdf5Errors } from './hdf5-read.ts';
import { elementTypeOf, toPixels, type ElementType } from './pixel-convert.ts';
import type { PixelArray, PixelType } from '../pixels.ts';
import { chunkCodecIdOf, type ContainerCodecId } from '../../codecs/registry.ts';

/** One dataset's share of a frame source: its frames, how to name them and how to read one. */
export interface FramePart {
  /** The HDF5 file holding the dataset (for an NXmx series: the data file). */
  file: string;
  path: string;
  count: number;
  height: number;
  width: number;
  element: ElementType;
  event(local: number): string;
  read(local: number): PixelArray;
  /** Where frame `local` is stored, when a reader without h5wasm can fetch it (see FrameLocation). */
  locate?(local: number): FrameLocation;
}

/**
 * Where a frame of a plain stack ([n, ss, fs], or a lone [ss, fs] frame) of uint16, uint32,
 * int32 or float32 little-endian pixels is stored, so that the ingest workers read it through
 * libhdf5 instead of h5wasm: with `chunk`, the frame is exactly one stored chunk that codec
 * decodes (a direct chunk read, and a container in the same codec can take the bytes as they
 * are); without, HDF5 reads it through its own filters (gzip, ...).
 */
export interface FrameLocation {
  file: string;
  path: string;
  /** The frame's index along dim 0 (0 for a lone frame). */
  index: number;
  rank: 2 | 3;
  pixelType: PixelType;
  width: number;
  height: number;
  chunk?: ContainerCodecId;
}

export interface FramePartOptions {
  file: string;
  path: string;
  /** From the layout; undefined = from the dataset's rank (2-D one frame, 3-D a stack). */
  dims?: readonly FrameDim[];
  /** What the `%`s of the data path stood for: the event's part before `//`. */
  pathValues?: readonly string[];
  /** Number the frames from here on (an NXmx data file's first image); needs exactly one `%` dim. */
  firstIndex?: number;
}

/**
 * Describes `dataset` as frames according to `dims`, checking the rank and the fixed indices
 * against its shape, and returns a part that reads one frame per call (one hyperslab; with
 * one frame per chunk, one chunk).
 */
export function describeFramePart(dataset: Dataset, options: FramePartOptions): FramePart {
  const { file, path } = options;
  const where = `${file}:${path}`;
  // h5wasm caches the metadata, so this is the one call here that can meet a damaged header.
  const shape = withHdf5Errors(() => dataset.shape) ?? [];
  const dims = options.dims ?? inferDims(shape.length);
  if (dims === undefined) {
    throw new SxError('input', `${where}: expected a 2-D frame or a 3-D [n, ss, fs] stack but found shape [${shape.join(', ')}]`);
  }
  checkDims(dims, where);
  if (dims.length !== shape.length) {
    const hint = shape.length === dims.length + 1 && !dims.includes('%') ? '; for a stack of frames the geometry needs dim0 = %' : '';
    throw new SxError('input', `${where}: the layout's dims (${formatDims(dims)}) need a ${dims.length}-D dataset but it has shape [${shape.join(', ')}]${hint}`);
  }
  dims.forEach((d, i) => {
    if (typeof d === 'number' && d >= shape[i]) throw new SxError('input', `${where}: dim${i} = ${d} is out of range for shape [${shape.join(', ')}]`);
  });
  const element = elementTypeOf(dataset, where);

  const frameAxes = dims.flatMap((d, i) => (d === '%' ? [i] : []));
  const extents = frameAxes.map((axis) => shape[axis]);
  const count = extents.reduce((n, e) => n * e, 1);
  const height = shape[dims.indexOf('ss')];
  const width = shape[dims.indexOf('fs')];
  const pathValues = options.pathValues ?? [];
  if (options.firstIndex !== undefined && frameAxes.length !== 1) {
    throw new SxError('input', `${where}: numbering frames across files needs exactly one % dimension, but the dims are (${formatDims(dims)})`);
  }

  const locate = locator(dataset, { file, path, dims, element, width, height });
  const indicesOf = (local: number): number[] => {
    const out = new Array<number>(extents.length);
    for (let k = extents.length - 1; k >= 0; k--) {
      out[k] = local % extents[k];
      local = Math.floor(local / extents[k]);
    }
    return out;
  };
  return {
    file,
    path,
    count,
    height,
    width,
    element,
    ...(locate ? { locate } : {}),
    event: (local) => formatEvent(pathValues, options.firstIndex === undefined ? indicesOf(local) : [options.firstIndex + local]),
    read: (local) => {
      const at = indicesOf(local);
      const ranges = dims.map((d, axis): [number, number] | [] => {
        if (d === '%') {
          const i = at[frameAxes.indexOf(axis)];
          return [i, i + 1];
        }
        return typeof d === 'number' ? [d, d + 1] : [];
      });
      // With ss before fs (checkDims), the hyperslab comes out ss-major, as frames are everywhere.
      return toPixels(dataset.slice(ranges), element);
    },
  };
}

const PLAIN_STACK = ['%', 'ss', 'fs'].join();
const PLAIN_FRAME = ['ss', 'fs'].join();

/** FramePart.locate for a plain stack or lone frame in a pixel type read as it is; undefined for any other layout. */
function locator(
  dataset: Dataset,
  at: { file: string; path: string; dims: readonly FrameDim[]; element: ElementType; width: number; height: number },
): ((local: number) => FrameLocation) | undefined {
  const { dims, element, width, height } = at;
  const rank = dims.join() === PLAIN_STACK ? 3 : dims.join() === PLAIN_FRAME ? 2 : undefined;
  const { littleEndian, chunks } = dataset.metadata;
  if (rank === undefined || element.stored !== element.pixelType || !littleEndian) return undefined;
  // HDF5 reads whole frames of a stack through its filters; a lone frame in another codec stays with h5wasm.
  const oneFrameChunks = chunks !== null && chunks.join() === (rank === 3 ? [1, height, width] : [height, width]).join();
  const chunk = oneFrameChunks ? chunkCodecIdOf(dataset.filters.map((f) => ({ id: f.id, cd_values: f.cd_values }))) : undefined;
  if (rank === 2 && chunk === undefined) return undefined;
  const base = { file: at.file, path: at.path, rank, pixelType: element.pixelType, width, height, ...(chunk ? { chunk } : {}) } as const;
  return (local) => ({ ...base, index: rank === 3 ? local : 0 });
}
