import { basename, dirname, join } from 'node:path';
import { writeAtomically, type WrittenFile } from '../store/atomic.ts';
import { containerFilter, type ContainerCodecId } from '../../codecs/registry.ts';
import { ensureGroup, FrameStackWriter, loadH5, type H5File } from '../store/hdf5.ts';
import type { PixelArray, PixelType } from '../pixels.ts';

/** Frames per data file when nothing says otherwise; Eiger's own default is 100 as well. */
export const DEFAULT_FRAMES_PER_DATA_FILE = 100;
/** Where the frames sit in each data file, and what the master's links point to. */
export const NXMX_FRAME_PATH = '/entry/data/data';

export interface NxmxSeriesOptions {
  /** The master file. */
  out: string;
  frames: number;
  framesPerDataFile: number;
  height: number;
  width: number;
  pixelType: PixelType;
  compression: ContainerCodecId;
}

export interface NxmxSeriesResult {
  master: WrittenFile;
  dataFiles: WrittenFile[];
}

/**
 * Path of data file `k` (from 1) of a series whose master is `out`, Eiger style:
 * `run7_master.h5` and `run7.h5` both give `run7_data_00000k.h5` beside the master.
 *
 * @example
 * dataFilePath('/data/run7_master.h5', 2); // '/data/run7_data_000002.h5'
 */
export function dataFilePath(out: string, k: number): string {
  const stem = basename(out).replace(/\.(h5|hdf5|hdf|nxs)$/i, '').replace(/_master$/, '');
  return join(dirname(out), `${stem}_data_${String(k).padStart(6, '0')}.h5`);
}

/**
 * Writes an Eiger-style NXmx series: data files of up to `framesPerDataFile` frames each in
 * `/entry/data/data` (one frame per chunk, `image_nr_low/high` on the dataset, numbered from 1),
 * then the master with `/entry/definition = "NXmx"` and an external link per data file
 * (`/entry/data/data_000001`, ...), relative so the series can move as a folder. Every file
 * appears complete or not at all, and the master last, so a master never links to a data file
 * that is not there. `frame(n)` gives frame n in order; `writeMetadata` adds the rest of the
 * master (instrument, truth) once all frames are written.
 *
 * @example
 * await writeNxmxSeries({ out: 'run_master.h5', frames: 250, framesPerDataFile: 100, height, width, pixelType: 'uint16', compression: 'bitshuffle-lz4' },
 *   (n) => render(n), (master) => writeInstrument(master, spec, mask, 16));
 */
export async function writeNxmxSeries(
  options: NxmxSeriesOptions,
  frame: (n: number) => PixelArray | Promise<PixelArray>,
  writeMetadata: (master: H5File) => void,
): Promise<NxmxSeriesResult> {
  const { out, frames, framesPerDataFile, height, width, pixelType, compression } = options;
  const h5 = await loadH5();
  const dataFiles: WrittenFile[] = [];
  for (let low = 0; low < frames; low += framesPerDataFile) {
    const high = Math.min(frames, low + framesPerDataFile);
    const written = await writeAtomically(dataFilePath(out, dataFiles.length + 1), async (tmpPath) => {
      const file = new h5.File(tmpPath, 'w');
      try {
        ensureGroup(file, '/entry').create_attribute('NX_class', 'NXentry');
        ensureGroup(file, '/entry/data').create_attribute('NX_class', 'NXdata');
        const writer = new FrameStackWriter(file, NXMX_FRAME_PATH, height, width, pixelType, containerFilter(compression));
        for (let n = low; n < high; n++) writer.append(await frame(n));
        writer.dataset.create_attribute('image_nr_low', BigInt64Array.of(BigInt(low + 1)), [], '<q');
        writer.dataset.create_attribute('image_nr_high', BigInt64Array.of(BigInt(high)), [], '<q');
      } finally {
        file.close();
      }
    });
    dataFiles.push(written);
  }
  const master = await writeAtomically(out, (tmpPath) => {
    const file = new h5.File(tmpPath, 'w');
    try {
      const entry = ensureGroup(file, '/entry');
      entry.create_dataset({ name: 'definition', data: 'NXmx' });
      const data = ensureGroup(file, '/entry/data');
      dataFiles.forEach((written, i) => {
        data.create_external_link(basename(written.path), NXMX_FRAME_PATH, `data_${String(i + 1).padStart(6, '0')}`);
      });
      const specific = ensureGroup(file, '/entry/instrument/detector/detectorSpecific');
      specific.create_dataset({ name: 'nimages', data: BigInt64Array.of(BigInt(frames)), shape: [], dtype: '<q' });
      specific.create_dataset({ name: 'ntrigger', data: BigInt64Array.of(1n), shape: [], dtype: '<q' });
      if (compression === 'bitshuffle-lz4') specific.create_dataset({ name: 'compression', data: 'bslz4' });
      writeMetadata(file);
    } finally {
      file.close();
    }
  });
  return { master, dataFiles };
}
