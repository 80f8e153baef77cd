import { SxError } from '../errors.ts';
import { FrameStackWriter, ensureGroup, loadH5, type Compression, type H5File, type PixelArray, type PixelType } from './hdf5.ts';

/** Where frames sit in an sxarchive container: CXI's layout, so CrystFEL and Cheetah tools read it. */
export const CXI_DATA_PATH = '/entry_1/data_1/data';

export interface CxiContainerOptions {
  height: number;
  width: number;
  pixelType: PixelType;
  compression: Compression;
  product: string;
  /** CrystFEL geometry text kept with the data, so the container is readable on its own. */
  geometry?: string;
}

/** Per-frame metadata written beside the frames: with the run, it names the frame in the catalog. */
export interface ContainerFrame {
  source: string;
  event: string;
}

/**
 * Writes one container: frames are appended to `/entry_1/data_1/data` as they come; per-frame
 * metadata (source file, CrystFEL event) is small and written on close.
 */
export class CxiContainerWriter {
  private readonly file: H5File;
  private readonly frames: FrameStackWriter;
  private readonly meta: ContainerFrame[] = [];

  private constructor(file: H5File, frames: FrameStackWriter) {
    this.file = file;
    this.frames = frames;
  }

  static async create(path: string, options: CxiContainerOptions): Promise<CxiContainerWriter> {
    const h5 = await loadH5();
    const file = new h5.File(path, 'w');
    try {
      file.create_dataset({ name: 'cxi_version', data: 150, dtype: '<i' });
      const entry = ensureGroup(file, '/entry_1');
      entry.create_attribute('sxarchive_product', options.product);
      entry.create_attribute('sxarchive_compression', options.compression);
      const frames = new FrameStackWriter(file, CXI_DATA_PATH, options.height, options.width, options.pixelType, options.compression);
      if (options.geometry !== undefined) {
        ensureGroup(file, '/entry_1/instrument_1/detector_1').create_dataset({ name: 'crystfel_geometry', data: options.geometry });
      }
      return new CxiContainerWriter(file, frames);
    } catch (err) {
      file.close();
      throw new SxError('store', `${path}: cannot create container: ${(err as Error).message}`, { cause: err });
    }
  }

  get count(): number {
    return this.frames.count;
  }

  append(frame: PixelArray, meta: ContainerFrame): void {
    this.frames.append(frame);
    this.meta.push(meta);
  }

  close(): void {
    const n = this.meta.length;
    const data = ensureGroup(this.file, '/entry_1/data_1');
    data.create_dataset({ name: 'source_file', data: this.meta.map((m) => m.source), shape: [n] });
    ensureGroup(this.file, '/entry_1').create_dataset({ name: 'experiment_identifier', data: this.meta.map((m) => m.event), shape: [n] });
    this.file.close();
  }
}
