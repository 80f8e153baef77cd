import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { SxError } from '../errors.ts';
import { loadH5, pixelTypeOf, readFrame, type Dataset, type H5File, type PixelArray, type PixelType } from '../store/hdf5.ts';

/** Where detector frames are found when no geometry says otherwise: NXmx/simulator, CXI, CrystFEL's default. */
export const KNOWN_FRAME_PATHS = ['/entry/data/data', '/entry_1/data_1/data', '/data/data'];

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A file's frames, read one at a time. */
export interface FrameSource {
  file: string;
  datasetPath: string;
  count: number;
  height: number;
  width: number;
  pixelType: PixelType;
  /** CrystFEL's event name of frame `index`: `//index` in a stack, `//` for a single 2-D frame. */
  event(index: number): string;
  read(index: number): PixelArray;
  close(): void;
}

function hasHdf5Signature(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    return readSync(fd, head, 0, 8, 0) === 8 && head.equals(HDF5_SIGNATURE);
  } finally {
    closeSync(fd);
  }
}

export async function openHdf5Frames(file: string, datasetPath?: string): Promise<FrameSource> {
  if (!existsSync(file)) throw new SxError('input', `${file}: no such file`);
  // HDF5 also allows a user block before the signature, but detector and CXI files don't use one.
  if (!hasHdf5Signature(file)) throw new SxError('input', `${file}: not an HDF5 file (no HDF5 signature at byte 0)`);
  const h5 = await loadH5();
  let h5file: H5File;
  try {
    h5file = new h5.File(file, 'r');
  } catch (err) {
    throw new SxError('input', `${file}: cannot open as HDF5: ${(err as Error).message}`, { cause: err });
  }
  const candidates = datasetPath ? [datasetPath] : KNOWN_FRAME_PATHS;
  const found = candidates.map((p) => [p, h5file.get(p)] as const).find(([, d]) => d instanceof h5.Dataset);
  if (!found) {
    h5file.close();
    throw new SxError('input', `${file}: no frame dataset; looked for ${candidates.join(', ')}`);
  }
  const [path, dataset] = found as [string, Dataset];
  const shape = dataset.shape ?? [];
  if (shape.length !== 2 && shape.length !== 3) {
    h5file.close();
    throw new SxError('input', `${file}:${path}: expected a 2-D frame or a 3-D [n, ss, fs] stack but found shape [${shape.join(', ')}]`);
  }
  let pixelType: PixelType;
  try {
    pixelType = pixelTypeOf(dataset.dtype, `${file}:${path}`);
  } catch (err) {
    h5file.close();
    throw err;
  }
  const stacked = shape.length === 3;
  const [height, width] = shape.slice(-2);
  return {
    file,
    datasetPath: path,
    count: stacked ? shape[0] : 1,
    height,
    width,
    pixelType,
    event: (index) => (stacked ? `//${index}` : '//'),
    read: (index) => {
      try {
        return stacked ? readFrame(dataset, index) : (dataset.value as PixelArray);
      } catch (err) {
        throw new SxError('input', `${file} event //${index}: cannot read frame: ${(err as Error).message}`, { cause: err });
      }
    },
    close: () => h5file.close(),
  };
}
