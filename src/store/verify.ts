// The read-back check of a written container, before it is renamed into place and recorded: HDF5
// (through h5wasm) reports some write failures only on its error stream and carries on, so the
// file that comes out is judged by reading it, not by whether writing threw.
import { crc32 } from 'node:zlib';
import { SxError } from '../errors.ts';
import { CXI_DATA_PATH } from './cxi-container.ts';
import { ChunkFile } from './hdf5-chunks.ts';
import { loadH5, readFrame, type Dataset, type H5File } from './hdf5.ts';
import { PEAK_BOXES_PATH, readPeakBoxes } from './product-containers.ts';

const PEAK_COUNT_PATH = '/entry_1/result_1/nPeaks';

export interface ContainerExpectation {
  /** Frames the container must hold. */
  frames: number;
  /** CRC-32 of each frame's bytes as written (the frame stack's pixels, or a peaks container's payload). */
  frameDigests?: readonly number[];
  /** CRC-32 of each frame's stored chunk as written (ChunkContainerWriter): read back as stored, with libhdf5, not decoded. */
  chunkDigests?: readonly number[];
}

/**
 * Opens the container and checks that it holds `frames` frames and that every frame reads back
 * (through the HDF5 filters) as the bytes that were written; throws SxError('store') naming the
 * file and the first difference.
 *
 * @example
 * await verifyContainer(tmpPath, { frames: writer.count, frameDigests: writer.frameDigests });
 */
export async function verifyContainer(path: string, expect: ContainerExpectation): Promise<void> {
  const h5 = await loadH5();
  let file: InstanceType<typeof h5.File>;
  try {
    file = new h5.File(path, 'r');
  } catch (err) {
    throw new SxError('store', `${path}: the written container cannot be opened again (${(err as Error).message})`, { cause: err });
  }
  // h5wasm hands back a file with an invalid id, rather than throwing, when HDF5 cannot open it.
  if (file.file_id < 0n) throw new SxError('store', `${path}: the written container cannot be opened again (HDF5 cannot read it: truncated or damaged)`);
  try {
    const stack = file.get(CXI_DATA_PATH);
    const counted = stack instanceof h5.Dataset ? stack : file.get(PEAK_COUNT_PATH);
    if (!(counted instanceof h5.Dataset)) throw new SxError('store', `${path}: the written container has neither ${CXI_DATA_PATH} nor ${PEAK_COUNT_PATH}`);
    const rows = counted.shape?.[0] ?? 0;
    if (rows !== expect.frames) throw new SxError('store', `${path}: the written container holds ${rows} frames; ${expect.frames} were written`);
    if (stack instanceof h5.Dataset && expect.frameDigests) checkFrames(path, file, stack, expect.frameDigests);
  } finally {
    file.close();
  }
  if (expect.chunkDigests) checkChunks(path, expect.chunkDigests);
}

function checkChunks(path: string, digests: readonly number[]): void {
  const file = ChunkFile.open(path, 'r', { role: 'container' });
  try {
    const stack = file.dataset(CXI_DATA_PATH);
    let buffer = new Uint8Array(0);
    for (let i = 0; i < digests.length; i++) {
      const size = stack.chunkBytes([i, 0, 0]);
      if (size > buffer.length) buffer = new Uint8Array(size);
      const { bytes } = stack.readChunk([i, 0, 0], buffer.subarray(0, size));
      if (crc32(bytes) !== digests[i]) throw new SxError('store', `${path}: frame ${i} of the written container reads back different from what was written`);
    }
  } finally {
    file.close();
  }
}

/** Frame `i` as written: the pixels of the frame stack, or a peaks container's payload. */
function frameBytes(file: H5File, stack: Dataset, i: number): Uint8Array {
  if (file.get(PEAK_BOXES_PATH)) return readPeakBoxes(file, i);
  const frame = readFrame(stack, i);
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

function checkFrames(path: string, file: H5File, stack: Dataset, digests: readonly number[]): void {
  for (let i = 0; i < digests.length; i++) {
    let bytes: Uint8Array;
    try {
      bytes = frameBytes(file, stack, i);
    } catch (err) {
      throw new SxError('store', `${path}: frame ${i} of the written container cannot be read back (${(err as Error).message})`, { cause: err });
    }
    if (crc32(bytes) !== digests[i]) {
      throw new SxError('store', `${path}: frame ${i} of the written container reads back different from what was written`);
    }
  }
}
