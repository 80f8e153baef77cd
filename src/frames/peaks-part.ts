// A peaks container read as full frames: each frame's kept boxes, exact, in a frame of zeros
// (decodePeakBoxes). So `label`, ingest and `expand` read a peaks container like any stack,
// with the geometry the container carries (data = /entry_1/data_1/data).
import { decodePeakBoxes } from '../../codecs/peaks.ts';
import { SxError } from '../errors.ts';
import { CXI_DATA_PATH } from '../store/cxi-container.ts';
import type { Group, H5File } from '../store/hdf5.ts';
import { PEAK_BOXES_OFFSET_PATH, PEAK_BOXES_PATH, readPeakBoxes } from '../store/product-containers.ts';
import { formatEvent, type FrameLayout } from './frame-layout.ts';
import type { FramePart } from './frame-part.ts';
import { withHdf5Errors, type H5 } from './hdf5-read.ts';
import type { PixelType } from '../pixels.ts';

/**
 * Whether `h5file` is a peaks container to be read as full frames: it holds the boxes, and the
 * layout (if any) asks for its frame stack, which in a peaks container stores no pixels.
 */
export function isPeaksContainer(h5: H5, h5file: H5File, layout: FrameLayout | undefined): boolean {
  if (layout !== undefined && layout.data !== CXI_DATA_PATH) return false;
  const group = withHdf5Errors(() => h5file.get('/entry_1/data_1'));
  return group instanceof h5.Group && withHdf5Errors(() => (group as Group).keys()).includes(PEAK_BOXES_PATH.split('/').at(-1)!);
}

/**
 * The frames of a peaks container (`PeaksContainerWriter`), named `//0`, `//1`, ... as the rows of
 * its stack are; each read decodes that frame's payload only.
 *
 * @example
 * const part = openPeaksPart(h5, 'peaks-00001.h5', file); // part.read(3): frame 3, zeros outside its boxes
 */
export function openPeaksPart(h5: H5, file: string, h5file: H5File): FramePart {
  const payload = withHdf5Errors(() => h5file.get(PEAK_BOXES_PATH));
  const offsets = withHdf5Errors(() => h5file.get(PEAK_BOXES_OFFSET_PATH));
  if (!(payload instanceof h5.Dataset) || !(offsets instanceof h5.Dataset)) {
    throw new SxError('input', `${file}: a peaks container needs ${PEAK_BOXES_PATH} and ${PEAK_BOXES_OFFSET_PATH}`);
  }
  const attr = (name: string) => withHdf5Errors(() => payload.attrs[name]?.value);
  const width = Number(attr('frame_width'));
  const height = Number(attr('frame_height'));
  const pixelType = attr('pixel_type') as PixelType;
  if (!(width > 0 && height > 0 && ['uint16', 'uint32', 'int32', 'float32'].includes(pixelType))) {
    throw new SxError('input', `${file}: ${PEAK_BOXES_PATH} needs the attributes frame_width, frame_height and pixel_type of the frames it encodes`);
  }
  const count = (offsets.shape?.[0] ?? 1) - 1;
  return {
    file,
    path: PEAK_BOXES_PATH,
    count,
    height,
    width,
    element: { stored: pixelType, pixelType },
    event: (local) => formatEvent([], [local]),
    read: (local) => decodePeakBoxes(readPeakBoxes(h5file, local), { width, height, pixelType }).data,
  };
}
