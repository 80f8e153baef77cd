import { BrokenSoftLink, ExternalLink } from 'h5wasm/node';
import { SxError } from '../errors.ts';
import { CXI_GEOMETRY_PATH } from '../store/cxi-container.ts';
import type { Dataset, H5File } from '../store/hdf5.ts';
import { expandDataPath, type FrameLayout } from './frame-layout.ts';
import { describeFramePart, type FrameLocation, type FramePart } from './frame-part.ts';
import { hdf5Reason, openHdf5File, withHdf5Errors, type H5 } from './hdf5-read.ts';
import { findSeriesLinks, isNxmxMaster, NXMX_DATA_GROUP, openSeries, type SeriesLink } from './nxmx.ts';
import { isPeaksContainer, openPeaksPart } from './peaks-part.ts';
import type { PixelArray, PixelType } from '../pixels.ts';

export type { FrameDim, FrameLayout } from './frame-layout.ts';
export type { FrameLocation } from './frame-part.ts';

/** Where frames are looked for when no layout says otherwise: NXmx/simulator, CXI, CrystFEL's default. */
export const KNOWN_FRAME_PATHS = ['/entry/data/data', '/entry_1/data_1/data', '/data/data'];

/** A file's frames, read one at a time. */
export interface FrameSource {
  file: string;
  /**
   * How the frames were found: one dataset, datasets matched by a data path with `%`, an NXmx
   * master's data files, or an sxarchive peaks container (its boxes decoded into full frames).
   */
  kind: 'dataset' | 'path-pattern' | 'nxmx' | 'peaks';
  /** The dataset path, the layout's data path with its `%`s, `/entry/data` for an NXmx series, or a peaks container's payload. */
  datasetPath: string;
  count: number;
  width: number;
  height: number;
  /** What `read` returns. */
  pixelType: PixelType;
  /** The element type in the file ('float64', 'int16', ...); see ElementType for the conversions. */
  storedType: string;
  /** CrystFEL's event name of frame `index`: `//17` in a stack, `//` for a lone 2-D frame, `ev_1/dataABCset//` for a path with `%`s. */
  event(index: number): string;
  /**
   * Frame `index`, ss-major (`height` rows of `width` pixels). Reads that one frame only. A frame
   * that cannot be read throws SxError('input', '<file> event <event>: ...'); later frames can
   * still be read.
   */
  read(index: number): PixelArray;
  /** Where frame `index` is stored, when it can be read without h5wasm (FrameLocation); undefined otherwise. */
  locate(index: number): FrameLocation | undefined;
  close(): void;
}

/**
 * Opens the frames of an HDF5 file. With a `layout` (a CrystFEL panel's `data` and `dims`),
 * frames are where it says: `%` in the data path is expanded by listing the file, `%` dims run
 * over frames, numeric dims pin an index. Without one, the first of KNOWN_FRAME_PATHS that
 * exists is used (2-D: one frame, 3-D: a stack), else an Eiger/NXmx master's data files
 * (`/entry/data/data_000001`, ...), numbered across the whole series. An sxarchive peaks
 * container (read without a layout, or with its own geometry's) gives its frames with the kept
 * boxes exact and zeros elsewhere.
 *
 * @example
 * const source = await openFrameSource('run7_master.h5');
 * try {
 *   for (let i = 0; i < source.count; i++) {
 *     try { use(source.event(i), source.read(i)); } catch (err) { if (isSxError(err, 'input')) skipped.push(err.message); else throw err; }
 *   }
 * } finally { source.close(); }
 */
export async function openFrameSource(file: string, layout?: FrameLayout): Promise<FrameSource> {
  const { h5, file: h5file } = await openHdf5File(file);
  const opened: H5File[] = [h5file];
  try {
    const found = isPeaksContainer(h5, h5file, layout) ? peaksFrames(h5, file, h5file)
      : layout === undefined ? await detectFrames(h5, file, h5file, opened) : await framesOfLayout(h5, file, h5file, layout, opened);
    return assemble(file, found, opened);
  } catch (err) {
    for (const f of opened) f.close();
    if (err instanceof SxError) throw err;
    throw new SxError('input', `${file}: cannot read frames: ${hdf5Reason(err)}`, { cause: err });
  }
}

interface FoundFrames {
  kind: FrameSource['kind'];
  datasetPath: string;
  parts: FramePart[];
}

/**
 * The object at `path`, or null if there is none. Each parent is checked to be a group first:
 * HDF5 answers a path through a dataset with an error ("message type not found"), not "no such
 * object". Errors left are damage, and say so.
 */
function getChecked(h5: H5, file: string, h5file: H5File, path: string) {
  try {
    return withHdf5Errors(() => {
      const parts = path.split('/').filter((p) => p !== '');
      let at = '';
      for (const part of parts.slice(0, -1)) {
        at += `/${part}`;
        if (!(h5file.get(at) instanceof h5.Group)) return null;
      }
      return h5file.get(path || '/');
    });
  } catch (err) {
    throw new SxError('input', `${file}: cannot read ${path} (damaged file?): ${hdf5Reason(err)}`, { cause: err });
  }
}

function peaksFrames(h5: H5, file: string, h5file: H5File): FoundFrames {
  const part = openPeaksPart(h5, file, h5file);
  return { kind: 'peaks', datasetPath: part.path, parts: [part] };
}

async function detectFrames(h5: H5, file: string, h5file: H5File, opened: H5File[]): Promise<FoundFrames> {
  for (const path of KNOWN_FRAME_PATHS) {
    const entity = getChecked(h5, file, h5file, path);
    if (entity instanceof h5.Dataset) return { kind: 'dataset', datasetPath: path, parts: [describeFramePart(entity, { file, path })] };
    if (entity instanceof ExternalLink) {
      throw new SxError('input', `${file}: ${path} links to ${entity.filename}:${entity.obj_path}, which cannot be opened`);
    }
    if (entity instanceof BrokenSoftLink) throw new SxError('input', `${file}: ${path} links to ${entity.target}, which does not exist`);
  }
  const links = withHdf5Errors(() => findSeriesLinks(h5, h5file));
  if (links !== undefined) return series(h5, file, h5file, links, undefined, opened);
  const nxmx = isNxmxMaster(h5file) ? ' (it says NXmx, but has no data links)' : '';
  throw new SxError('input', `${file}: no frame dataset${nxmx}; looked for ${KNOWN_FRAME_PATHS.join(', ')} and NXmx data links ${NXMX_DATA_GROUP}/data_000001, ...`);
}

async function framesOfLayout(h5: H5, file: string, h5file: H5File, layout: FrameLayout, opened: H5File[]): Promise<FoundFrames> {
  const { data, dims } = layout;
  if (data.includes('%')) {
    const matches = expandDataPath(data, {
      list: (path) => {
        const group = getChecked(h5, file, h5file, path);
        return group instanceof h5.Group ? withHdf5Errors(() => group.keys()) : undefined;
      },
      isDataset: (path) => getChecked(h5, file, h5file, path) instanceof h5.Dataset,
    });
    if (matches.length === 0) throw new SxError('input', `${file}: no dataset matches the data path ${data}`);
    const parts = matches.map(({ path, values }) => describeFramePart(withHdf5Errors(() => h5file.get(path)) as Dataset, { file, path, dims, pathValues: values }));
    return { kind: 'path-pattern', datasetPath: data, parts };
  }
  const entity = getChecked(h5, file, h5file, data);
  if (entity instanceof h5.Dataset) return { kind: 'dataset', datasetPath: data, parts: [describeFramePart(entity, { file, path: data, dims })] };
  // A geometry written for Eiger data files (data = /entry/data/data) applies to their master too.
  const links = entity === null ? withHdf5Errors(() => findSeriesLinks(h5, h5file)) : undefined;
  if (links !== undefined && links.every((l) => l.target !== undefined && l.objPath === data)) {
    return series(h5, file, h5file, links, dims, opened);
  }
  const what =
    entity === null ? 'no such dataset'
    : entity instanceof h5.Group ? 'a group, not a dataset'
    : entity instanceof ExternalLink ? `a link to ${entity.filename}:${entity.obj_path}, which cannot be opened`
    : entity instanceof BrokenSoftLink ? `a link to ${entity.target}, which does not exist`
    : 'not a dataset';
  // An sxarchive container read with its source's geometry: say where the right one is.
  const own = getChecked(h5, file, h5file, CXI_GEOMETRY_PATH) instanceof h5.Dataset
    ? `; this file carries its own geometry (sxarchive geometry ${file} > its.geom)` : '';
  throw new SxError('input', `${file}: the layout's data path ${data} is ${what}${own}`);
}

async function series(h5: H5, file: string, h5file: H5File, links: SeriesLink[], dims: FrameLayout['dims'], opened: H5File[]): Promise<FoundFrames> {
  const { parts, files } = await openSeries(h5, file, h5file, links, dims);
  opened.push(...files);
  return { kind: 'nxmx', datasetPath: NXMX_DATA_GROUP, parts };
}

function assemble(file: string, found: FoundFrames, opened: H5File[]): FrameSource {
  const { parts } = found;
  const first = parts[0];
  for (const part of parts.slice(1)) {
    if (part.height !== first.height || part.width !== first.width || part.element.stored !== first.element.stored) {
      throw new SxError('input', `${file}: frames differ: ${first.file}:${first.path} has ${first.height}x${first.width} ${first.element.stored} but ${part.file}:${part.path} has ${part.height}x${part.width} ${part.element.stored}`);
    }
  }
  const starts: number[] = [];
  let count = 0;
  for (const part of parts) {
    starts.push(count);
    count += part.count;
  }
  let closed = false;
  const partOf = (index: number): [FramePart, number] => {
    if (closed) throw new SxError('usage', `${file}: frame source is closed`);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new SxError('usage', `${file}: expected a frame index from 0 to ${count - 1} but received ${index}`);
    }
    let lo = 0;
    let hi = parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return [parts[lo], index - starts[lo]];
  };
  return {
    file,
    kind: found.kind,
    datasetPath: found.datasetPath,
    count,
    width: first.width,
    height: first.height,
    pixelType: first.element.pixelType,
    storedType: first.element.stored,
    event: (index) => {
      const [part, local] = partOf(index);
      return part.event(local);
    },
    locate: (index) => {
      const [part, local] = partOf(index);
      return part.locate?.(local);
    },
    read: (index) => {
      const [part, local] = partOf(index);
      try {
        return withHdf5Errors(() => part.read(local));
      } catch (err) {
        const where = part.file === file ? part.path : `${part.file}:${part.path}`;
        throw new SxError('input', `${file} event ${part.event(local)}: cannot read frame from ${where}: ${hdf5Reason(err)}`, { cause: err });
      }
    },
    close: () => {
      if (closed) return;
      closed = true;
      for (const f of opened) f.close();
    },
  };
}
