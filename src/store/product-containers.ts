/**
 * Containers for the reduced products (binned, peaks), in CXI's layout so that CrystFEL,
 * Cheetah tools and h5py read them without sxarchive:
 *
 * binned:  /entry_1/data_1/data   [N, h, w] binned frames (uint32/int32/float32), one chunk per frame
 *          /entry_1/data_1/mask   [N, h, w] uint8, 1 = bad bin, per frame (saturated bins differ
 *                                 from frame to frame, so a static mask would be wrong), deflate
 * peaks:   /entry_1/result_1      CXI peak tables (see cxi-peaks.ts)
 *          /entry_1/data_1/peak_boxes [total bytes] uint8: every frame's peaks-codec payload
 *          (layout on `PeaksCodec`), concatenated; frame i is bytes
 *          peak_boxes_offset[i] .. peak_boxes_offset[i + 1] of it ([N + 1] uint64), deflate
 *          /entry_1/data_1/data   [N, h, w] with no chunk stored: it reads as zeros and costs
 *                                 nothing, and lets CrystFEL list the container's events
 *                                 (`sxarchive expand` writes the boxes into such frames)
 * Both: /cxi_version, /entry_1/experiment_identifier [N] (events), /entry_1/data_1/source_file
 * [N], the geometry for the container's own layout, and on /entry_1 the attributes
 * sxarchive_product and sxarchive_codec (ContainerCodecRecord as JSON).
 */
import { crc32 } from 'node:zlib';
import { SxError } from '../errors.ts';
import { CXI_DATA_PATH, createCxiFile, writeFrameMeta, type ContainerCodecRecord, type ContainerFrame } from './cxi-container.ts';
import { writePeakTables, type PeakTable } from './cxi-peaks.ts';
import type { Hdf5Filter } from '../hdf5-filter.ts';
import { DEFLATE_LEVEL } from './deflate.ts';
import { allocPixels, type PixelArray, type PixelType } from '../pixels.ts';
import { FrameStackWriter, closeWritten, ensureGroup, h5DtypeOf, type Dataset, type H5File } from './hdf5.ts';

export const CXI_MASK_PATH = '/entry_1/data_1/mask';
export const PEAK_BOXES_PATH = '/entry_1/data_1/peak_boxes';
export const PEAK_BOXES_OFFSET_PATH = '/entry_1/data_1/peak_boxes_offset';

const PAYLOAD_CHUNK = 1 << 20;

/** A binned frame as the store takes it: the binned pixels and the bad-bin mask (1 = bad). */
export interface BinnedFrame {
  data: PixelArray;
  width: number;
  height: number;
  mask?: Uint8Array;
}

export interface BinnedContainerOptions {
  /** Size and type of the binned frames (BinnedCodec output). */
  width: number;
  height: number;
  pixelType: PixelType;
  filter: Hdf5Filter | null;
  codec: ContainerCodecRecord;
  /** The geometry rewritten for the binned data (`binGeometry` with this container's paths). */
  geometry?: string;
}

/** The binned containers' per-frame bad-bin masks: [0, h, w] uint8, one deflated chunk per frame. */
export function createMaskDataset(file: H5File, height: number, width: number): Dataset {
  return ensureGroup(file, '/entry_1/data_1').create_dataset({
    name: 'mask',
    data: new Uint8Array(0),
    shape: [0, height, width],
    maxshape: [null, height, width],
    chunks: [1, height, width],
    dtype: '<B',
    compression: 'gzip',
    compression_opts: [DEFLATE_LEVEL],
  });
}

/**
 * Writes binned frames and their bad-bin masks, with a CrystFEL geometry that reads them.
 *
 * @example
 * const w = await BinnedContainerWriter.create('bin2.h5', { width: 1034, height: 1081, pixelType: 'uint32', filter, codec, geometry });
 * w.append(codec.encode(frame), { source: 'run.h5', event: '//0' });
 * w.close();
 */
export class BinnedContainerWriter {
  private readonly meta: ContainerFrame[] = [];

  private constructor(
    private readonly file: H5File,
    private readonly frames: FrameStackWriter,
    private readonly mask: Dataset,
  ) {}

  static async create(path: string, options: BinnedContainerOptions): Promise<BinnedContainerWriter> {
    const { width, height } = options;
    const file = await createCxiFile(path, options);
    try {
      const frames = new FrameStackWriter(file, CXI_DATA_PATH, height, width, options.pixelType, options.filter);
      const mask = createMaskDataset(file, height, width);
      return new BinnedContainerWriter(file, frames, mask);
    } catch (err) {
      file.close();
      throw new SxError('store', `${path}: cannot create binned container: ${(err as Error).message}`, { cause: err });
    }
  }

  get count(): number {
    return this.frames.count;
  }

  /** Appends one binned frame; a frame without a mask gets an all-good one. */
  append(frame: BinnedFrame, meta: ContainerFrame): void {
    const n = this.frames.count;
    if (frame.width !== this.frames.width || frame.height !== this.frames.height) {
      throw new SxError('store', `binned frame ${n} is ${frame.width}x${frame.height}; expected ${this.frames.width}x${this.frames.height}`);
    }
    this.frames.append(frame.data);
    this.mask.resize([n + 1, frame.height, frame.width]);
    this.mask.write_slice([[n, n + 1]], frame.mask ?? new Uint8Array(frame.width * frame.height));
    this.meta.push(meta);
  }

  close(): void {
    writeFrameMeta(this.file, this.meta);
    closeWritten(this.file);
  }

  /** CRC-32 of each binned frame as written, for the read-back check. */
  get frameDigests(): readonly number[] {
    return this.frames.digests;
  }
}

export interface PeaksContainerOptions {
  codec: ContainerCodecRecord;
  /** Shape and type of the frames the payloads decode to. */
  width: number;
  height: number;
  pixelType: PixelType;
  /** The geometry for this container: data = /entry_1/data_1/data, peak_list = /entry_1/result_1. */
  geometry?: string;
}

/**
 * Writes peaks-only frames: CXI peak tables (read by CrystFEL with `peak_list =
 * /entry_1/result_1`, `peak_list_type = cxi`), the sparse pixel payloads, and an empty frame
 * stack of the full size so that CrystFEL finds one event per frame.
 *
 * @example
 * const w = await PeaksContainerWriter.create('peaks.h5', { codec, width, height, pixelType: 'uint16', geometry });
 * w.append(codec.encode(frame, { peaks }), peaks, { source: 'run.h5', event: '//3' });
 * w.close();
 */
export class PeaksContainerWriter {
  private readonly meta: ContainerFrame[] = [];
  private readonly peaks: PeakTable[] = [];
  private readonly offsets: bigint[] = [0n];
  private readonly digests: number[] = [];
  private total = 0;

  private constructor(
    private readonly file: H5File,
    private readonly payload: Dataset,
    private readonly frames: Dataset,
  ) {}

  static async create(path: string, options: PeaksContainerOptions): Promise<PeaksContainerWriter> {
    const file = await createCxiFile(path, options);
    try {
      const group = ensureGroup(file, '/entry_1/data_1');
      const payload = group.create_dataset({
        name: 'peak_boxes',
        data: new Uint8Array(0),
        shape: [0],
        maxshape: [null],
        chunks: [PAYLOAD_CHUNK],
        dtype: '<B',
        compression: 'gzip',
        compression_opts: [DEFLATE_LEVEL],
      });
      payload.create_attribute('frame_width', options.width);
      payload.create_attribute('frame_height', options.height);
      payload.create_attribute('pixel_type', options.pixelType);
      // Never written: HDF5 stores no chunk and answers every read with the fill value, 0.
      const frames = group.create_dataset({
        name: 'data',
        data: allocPixels(options.pixelType, 0),
        shape: [0, options.height, options.width],
        maxshape: [null, options.height, options.width],
        chunks: [1, options.height, options.width],
        dtype: h5DtypeOf(options.pixelType),
      });
      return new PeaksContainerWriter(file, payload, frames);
    } catch (err) {
      file.close();
      throw new SxError('store', `${path}: cannot create peaks container: ${(err as Error).message}`, { cause: err });
    }
  }

  get count(): number {
    return this.meta.length;
  }

  append(payload: Uint8Array, peaks: PeakTable, meta: ContainerFrame): void {
    if (payload.length > 0) {
      this.payload.resize([this.total + payload.length]);
      this.payload.write_slice([[this.total, this.total + payload.length]], payload);
      this.total += payload.length;
    }
    this.offsets.push(BigInt(this.total));
    this.digests.push(crc32(payload));
    this.peaks.push(peaks);
    this.meta.push(meta);
  }

  /** CRC-32 of each frame's payload as written, for the read-back check. */
  get frameDigests(): readonly number[] {
    return this.digests;
  }

  close(): void {
    const n = this.meta.length;
    const [, height, width] = this.frames.shape ?? [0, 0, 0];
    this.frames.resize([n, height, width]);
    writePeakTables(this.file, this.peaks);
    ensureGroup(this.file, '/entry_1/data_1').create_dataset({ name: 'peak_boxes_offset', data: BigUint64Array.from(this.offsets), shape: [n + 1], dtype: '<Q' });
    writeFrameMeta(this.file, this.meta);
    closeWritten(this.file);
  }
}

/**
 * Frame `index`'s payload from a peaks container written by `PeaksContainerWriter`.
 *
 * @example
 * const bytes = readPeakBoxes(file, 3); // then PeaksCodec.decode(bytes, shape)
 */
export function readPeakBoxes(file: H5File, index: number): Uint8Array {
  const offsets = (file.get(PEAK_BOXES_OFFSET_PATH) as Dataset).value as BigUint64Array;
  if (!(index >= 0 && index + 1 < offsets.length)) {
    throw new SxError('input', `${file.filename}: no frame ${index} in ${PEAK_BOXES_PATH} (${offsets.length - 1} frames)`);
  }
  const [start, end] = [Number(offsets[index]), Number(offsets[index + 1])];
  if (end === start) return new Uint8Array(0);
  return (file.get(PEAK_BOXES_PATH) as Dataset).slice([[start, end]]) as Uint8Array;
}
