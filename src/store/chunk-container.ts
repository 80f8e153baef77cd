// A container whose frames are written as stored chunks (direct chunk writes through libhdf5),
// made elsewhere (ingest's workers) in the dataset's own filter format. h5wasm lays out the file
// exactly as CxiContainerWriter and BinnedContainerWriter do (the same datasets, filters and
// attributes), then libhdf5 writes the frames; the per-frame metadata follows with h5wasm again.
import { SxError } from '../errors.ts';
import { CXI_DATA_PATH, createCxiFile, writeFrameMeta, type ContainerFrame, type CxiContainerOptions } from './cxi-container.ts';
import { closeWritten, FrameStackWriter, loadH5 } from './hdf5.ts';
import { ChunkFile, type ChunkDataset } from './hdf5-chunks.ts';
import { createMaskDataset, CXI_MASK_PATH } from './product-containers.ts';

/** As a CXI container's (the chunks given to `put` must be in `filter`'s format), and for binned containers a per-frame bad-bin mask (/entry_1/data_1/mask, deflated chunks). */
export type ChunkContainerOptions = Omit<CxiContainerOptions, 'peakTable'> & { mask?: boolean };

/**
 * Frames go in by index, in any order (`put`), each as its stored chunk; `close` requires every
 * index below `count` to be written.
 *
 * @example
 * const w = await ChunkContainerWriter.create(tmp, { height, width, pixelType: 'uint16', filter, codec, geometry });
 * w.put(0, chunk, crc32(chunk), { source: 'run.h5', event: '//0' });
 * w.close();
 */
export class ChunkContainerWriter {
  private readonly meta: ContainerFrame[] = [];
  /** CRC-32 of each frame's stored chunk, for the read-back check (`verifyContainer` with chunkDigests). */
  readonly chunkDigests: number[] = [];
  private extent = 0;
  private written = 0;

  private constructor(
    private readonly path: string,
    private readonly file: ChunkFile,
    private readonly frames: ChunkDataset,
    private readonly mask: ChunkDataset | undefined,
  ) {}

  static async create(path: string, options: ChunkContainerOptions): Promise<ChunkContainerWriter> {
    const h5file = await createCxiFile(path, options);
    try {
      new FrameStackWriter(h5file, CXI_DATA_PATH, options.height, options.width, options.pixelType, options.filter);
      if (options.mask) createMaskDataset(h5file, options.height, options.width);
    } catch (err) {
      h5file.close();
      throw new SxError('store', `${path}: cannot create container: ${(err as Error).message}`, { cause: err });
    }
    closeWritten(h5file);
    const file = ChunkFile.open(path, 'r+');
    try {
      return new ChunkContainerWriter(path, file, file.dataset(CXI_DATA_PATH), options.mask ? file.dataset(CXI_MASK_PATH) : undefined);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Frames written so far. */
  get count(): number {
    return this.written;
  }

  /**
   * Writes frame `index` as its stored chunk (and, with a mask, its deflated mask chunk);
   * `digest` is the chunk's CRC-32, which the read-back check compares with the file.
   */
  put(index: number, chunk: Uint8Array, digest: number, meta: ContainerFrame, mask?: Uint8Array): void {
    if (this.meta[index] !== undefined) throw new SxError('store', `${this.path}: frame ${index} is written twice`);
    if (index >= this.extent) {
      this.frames.extend(index + 1);
      this.mask?.extend(index + 1);
      this.extent = index + 1;
    }
    this.frames.writeChunk([index, 0, 0], chunk);
    if (this.mask) {
      if (!mask) throw new SxError('store', `${this.path}: frame ${index} comes without its mask`);
      this.mask.writeChunk([index, 0, 0], mask);
    }
    this.meta[index] = meta;
    this.chunkDigests[index] = digest;
    this.written += 1;
  }

  /** Closes the frames (libhdf5), then writes the per-frame metadata (h5wasm). */
  async close(): Promise<void> {
    this.file.close();
    if (this.written !== this.extent) throw new SxError('store', `${this.path}: ${this.extent - this.written} of ${this.extent} frames were never written`);
    const h5 = await loadH5();
    const h5file = new h5.File(this.path, 'a');
    try {
      writeFrameMeta(h5file, this.meta);
    } catch (err) {
      h5file.close();
      throw err;
    }
    closeWritten(h5file);
  }

  /** Closes without the metadata (the file is about to be removed). */
  abort(): void {
    this.file.close();
  }
}
