// Peaks containers keep only the boxes around the peaks, so CrystFEL can index them from their
// peak tables but has no image to integrate. `expand` writes the boxes back into full frames
// (zeros elsewhere) beside the same peak tables and geometry: a CXI file CrystFEL reads whole.
import { DEFAULT_CONTAINER_CODEC, containerFilter } from '../../codecs/registry.ts';
import { SxError } from '../errors.ts';
import { writeAtomically, type WrittenFile } from '../store/atomic.ts';
import { CxiContainerWriter, readContainerMeta, type ContainerMeta } from '../store/cxi-container.ts';
import { readPeakTables, type PeakTable } from '../store/cxi-peaks.ts';
import { openHdf5File } from '../frames/hdf5-read.ts';
import { openFrameSource } from '../frames/hdf5-source.ts';

export interface ExpandPeaksOptions {
  /** A peaks container written by ingest. */
  container: string;
  /** The full-frame file to write (atomically: complete or not at all). */
  out: string;
}

export interface ExpandedPeaks extends WrittenFile {
  frames: number;
  width: number;
  height: number;
}

/** sxarchive_product of an expanded peaks container: full frames, but only the boxes hold data. */
export const EXPANDED_PEAKS_PRODUCT = 'peaks-expanded';

/**
 * Writes the frames of a peaks container in full (boxes exact, zeros elsewhere) to `out`, as
 * /entry_1/data_1/data (bitshuffle-LZ4), with the container's peak tables, events, sources and
 * geometry (which already reads /entry_1/data_1/data and the peak list /entry_1/result_1).
 *
 * @example
 * await expandPeaks({ container: 'peaks-00001.h5', out: 'peaks-full.h5' });
 */
export async function expandPeaks(options: ExpandPeaksOptions): Promise<ExpandedPeaks> {
  const { meta, peaks } = await readPeaksContainer(options.container);
  const source = await openFrameSource(options.container);
  try {
    if (source.kind !== 'peaks') throw new SxError('usage', `${options.container} is not a peaks container (it holds ${meta.product || 'no sxarchive product'}); expected a container of product peaks`);
    const filter = containerFilter(DEFAULT_CONTAINER_CODEC);
    const written = await writeAtomically(options.out, async (tmp) => {
      const w = await CxiContainerWriter.create(tmp, {
        height: source.height,
        width: source.width,
        pixelType: source.pixelType,
        filter,
        codec: { product: EXPANDED_PEAKS_PRODUCT, ...(meta.codec?.reduction ? { reduction: meta.codec.reduction } : {}), compression: { id: DEFAULT_CONTAINER_CODEC }, hdf5_filter: filter },
        ...(meta.geometry !== undefined ? { geometry: meta.geometry } : {}),
        peakTable: true,
      });
      for (let i = 0; i < source.count; i++) w.append(source.read(i), meta.frames[i] ?? { source: options.container, event: source.event(i) }, peaks[i]);
      w.close();
    });
    return { ...written, frames: source.count, width: source.width, height: source.height };
  } finally {
    source.close();
  }
}

async function readPeaksContainer(path: string): Promise<{ meta: ContainerMeta; peaks: PeakTable[] }> {
  const { file } = await openHdf5File(path);
  try {
    const meta = readContainerMeta(file);
    if (meta.product !== 'peaks') throw new SxError('usage', `${path} is not a peaks container (sxarchive_product ${JSON.stringify(meta.product)}); expected a container of product peaks`);
    return { meta, peaks: readPeakTables(file) };
  } finally {
    file.close();
  }
}
