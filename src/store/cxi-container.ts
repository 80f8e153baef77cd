import { SxError } from '../errors.ts';
import { writePeakTables, type PeakTable } from './cxi-peaks.ts';
import type { Hdf5Filter } from '../hdf5-filter.ts';
import type { PixelArray, PixelType } from '../pixels.ts';
import { FrameStackWriter, closeWritten, ensureGroup, loadH5, type H5File } from './hdf5.ts';

/** Where frames sit in an sxarchive container: CXI's layout, so CrystFEL and Cheetah tools read it. */
export const CXI_DATA_PATH = '/entry_1/data_1/data';
export const CXI_GEOMETRY_PATH = '/entry_1/instrument_1/detector_1/crystfel_geometry';

/**
 * How a container was made, kept as JSON in the attribute `sxarchive_codec` on /entry_1 of every
 * container, so that it can be decoded and understood without the catalog.
 *
 * @example
 * { product: 'quantized', reduction: { id: 'quantized', step: 1 }, compression: { id: 'zstd', level: 9 }, hdf5_filter: { id: 32015, cd_values: [9] } }
 */
export interface ContainerCodecRecord {
  product: string;
  /** The reduction's codec config with every parameter (binned factor, quantized step, peaks box); absent for raw. */
  reduction?: { id: string; [key: string]: unknown };
  /** The codec config the frames are compressed with (absent for peaks, whose payload is deflated). */
  compression?: { id: string; [key: string]: unknown };
  /** The HDF5 filter of the main dataset as written; null = none. */
  hdf5_filter: Hdf5Filter | null;
}

export interface CxiContainerOptions {
  height: number;
  width: number;
  pixelType: PixelType;
  /** The frames' HDF5 filter (the codec registry's `containerFilter`); null = uncompressed. */
  filter: Hdf5Filter | null;
  codec: ContainerCodecRecord;
  /** CrystFEL geometry text for this container's layout, so the container is readable on its own. */
  geometry?: string;
  /** Also write a CXI peak table (/entry_1/result_1) from the peaks given to `append`. */
  peakTable?: boolean;
}

/** Per-frame metadata written beside the frames: with the run, it names the frame in the catalog. */
export interface ContainerFrame {
  source: string;
  event: string;
}

/**
 * A new CXI file with what every container has: /cxi_version, /entry_1 with the attributes
 * sxarchive_product and sxarchive_codec (JSON), and the geometry when there is one.
 *
 * @example
 * const file = await createCxiFile('c.h5', { codec: { product: 'raw', compression: { id: 'none' }, hdf5_filter: null } });
 */
export async function createCxiFile(path: string, options: { codec: ContainerCodecRecord; geometry?: string }): Promise<H5File> {
  const h5 = await loadH5();
  const file = new h5.File(path, 'w');
  try {
    file.create_dataset({ name: 'cxi_version', data: 150, dtype: '<i' });
    const entry = ensureGroup(file, '/entry_1');
    entry.create_attribute('sxarchive_product', options.codec.product);
    entry.create_attribute('sxarchive_codec', JSON.stringify(options.codec));
    if (options.geometry !== undefined) {
      const slash = CXI_GEOMETRY_PATH.lastIndexOf('/');
      ensureGroup(file, CXI_GEOMETRY_PATH.slice(0, slash)).create_dataset({ name: CXI_GEOMETRY_PATH.slice(slash + 1), data: options.geometry });
    }
    return file;
  } catch (err) {
    file.close();
    throw new SxError('store', `${path}: cannot create container: ${(err as Error).message}`, { cause: err });
  }
}

/** The per-frame source files and CrystFEL events, written once the container is complete. */
export function writeFrameMeta(file: H5File, meta: readonly ContainerFrame[]): void {
  const n = meta.length;
  ensureGroup(file, '/entry_1/data_1').create_dataset({ name: 'source_file', data: meta.map((m) => m.source), shape: [n] });
  ensureGroup(file, '/entry_1').create_dataset({ name: 'experiment_identifier', data: meta.map((m) => m.event), shape: [n] });
}

const NO_PEAKS: PeakTable = { count: 0, fs: new Float32Array(0), ss: new Float32Array(0), intensity: new Float32Array(0), snr: new Float32Array(0), npix: new Int32Array(0) };

/**
 * Writes one container of full frames (raw, quantized, expanded peaks): frames are appended to
 * `/entry_1/data_1/data` as they come; per-frame metadata (source file, CrystFEL event, and
 * with `peakTable` the peaks) is small and written on close.
 *
 * @example
 * const w = await CxiContainerWriter.create('raw.h5', { height, width, pixelType: 'uint16', filter, codec, geometry });
 * w.append(frame, { source: 'run.h5', event: '//0' });
 * w.close();
 */
export class CxiContainerWriter {
  private readonly file: H5File;
  private readonly frames: FrameStackWriter;
  private readonly meta: ContainerFrame[] = [];
  private readonly peaks: PeakTable[] | undefined;

  private constructor(file: H5File, frames: FrameStackWriter, peakTable: boolean) {
    this.file = file;
    this.frames = frames;
    this.peaks = peakTable ? [] : undefined;
  }

  static async create(path: string, options: CxiContainerOptions): Promise<CxiContainerWriter> {
    const file = await createCxiFile(path, options);
    try {
      const frames = new FrameStackWriter(file, CXI_DATA_PATH, options.height, options.width, options.pixelType, options.filter);
      return new CxiContainerWriter(file, frames, options.peakTable === true);
    } catch (err) {
      file.close();
      throw new SxError('store', `${path}: cannot create container: ${(err as Error).message}`, { cause: err });
    }
  }

  get count(): number {
    return this.frames.count;
  }

  /** Appends one frame; with `peakTable`, `peaks` is its row of the peak table (none: no peaks). */
  append(frame: PixelArray, meta: ContainerFrame, peaks?: PeakTable): void {
    this.frames.append(frame);
    this.meta.push(meta);
    this.peaks?.push(peaks ?? NO_PEAKS);
  }

  close(): void {
    if (this.peaks) writePeakTables(this.file, this.peaks);
    writeFrameMeta(this.file, this.meta);
    closeWritten(this.file);
  }

  /** CRC-32 of each frame as written, for the read-back check. */
  get frameDigests(): readonly number[] {
    return this.frames.digests;
  }
}

/** What a container says about itself: how it was made, its geometry and its frames' origins. */
export interface ContainerMeta {
  product: string;
  /** sxarchive_codec; undefined for a file sxarchive did not write. */
  codec?: ContainerCodecRecord;
  geometry?: string;
  frames: ContainerFrame[];
}

/**
 * Reads a container's own description (attributes, geometry, per-frame sources and events) from
 * an open file; missing parts are left out, so any CXI file can be asked.
 *
 * @example
 * const { geometry } = readContainerMeta(file); // the CrystFEL geometry for this container's layout
 */
export function readContainerMeta(file: H5File): ContainerMeta {
  const entry = file.get('/entry_1');
  const attrs = entry !== null && 'attrs' in entry ? entry.attrs : {};
  const text = (path: string) => {
    const d = file.get(path);
    return d !== null && 'shape' in d ? (d.value as unknown) : undefined;
  };
  const codecText = attrs.sxarchive_codec?.value;
  const geometry = text(CXI_GEOMETRY_PATH);
  const events = (text('/entry_1/experiment_identifier') ?? []) as string[];
  const sources = (text('/entry_1/data_1/source_file') ?? []) as string[];
  return {
    product: String(attrs.sxarchive_product?.value ?? ''),
    ...(typeof codecText === 'string' ? { codec: JSON.parse(codecText) as ContainerCodecRecord } : {}),
    ...(typeof geometry === 'string' ? { geometry } : {}),
    frames: events.map((event, i) => ({ source: sources[i] ?? '', event })),
  };
}
