/**
 * Containers for the reduced products (binned, peaks), in CXI's layout so that CrystFEL,
 * Cheetah tools and h5py read them without sxarchive:
 *
 * binned:  /entry_1/data_1/data   [N, h, w] binned frames (uint32/int32/float32), one chunk per frame
 *          /entry_1/data_1/mask   [N, h, w] uint8, 1 = bad bin, per frame (saturated bins differ
 *                                 from frame to frame, so a static mask would be wrong), deflate
 *          /entry_1/instrument_1/detector_1/crystfel_geometry  the geometry rewritten for the
 *                                 binned data (`binGeometry`): data = /entry_1/data_1/data,
 *                                 dim0 = %, mask0_data = /entry_1/data_1/mask, mask0_badbits = 1
 * peaks:   /entry_1/result_1/nPeaks [N] int32, peakXPosRaw, peakYPosRaw, peakTotalIntensity,
 *          peakMaximumValue, peakSNR, peakNPixels [N, maxPeaks] float32, zero-padded; positions
 *          are array indices (fs - 0.5, as Cheetah writes them; CrystFEL adds the 0.5 back)
 *          /entry_1/data_1/peak_boxes [total bytes] uint8: every frame's peaks-codec payload
 *          (layout on `PeaksCodec`), concatenated; frame i is bytes
 *          peak_boxes_offset[i] .. peak_boxes_offset[i + 1] of it ([N + 1] uint64), deflate
 * Both: /cxi_version, /entry_1/experiment_identifier [N] (events), /entry_1/data_1/source_file
 * [N], and on /entry_1 the attributes sxarchive_product and sxarchive_codec (the codec config
 * as JSON).
 */
import { SxError } from '../errors.ts';
import type { PeakList } from '../core/peakfinder8.ts';
import { binGeometry } from '../formats/crystfel-geometry.ts';
import type { Geometry } from '../formats/crystfel-geometry-types.ts';
import type { FrameArray } from '../../codecs/types.ts';
import { CXI_DATA_PATH, type ContainerFrame } from './cxi-container.ts';
import { FrameStackWriter, ensureGroup, loadH5, type Compression, type Dataset, type H5File, type PixelType } from './hdf5.ts';

export const CXI_MASK_PATH = '/entry_1/data_1/mask';
export const CXI_GEOMETRY_PATH = '/entry_1/instrument_1/detector_1/crystfel_geometry';
export const CXI_RESULT_PATH = '/entry_1/result_1';
export const PEAK_BOXES_PATH = '/entry_1/data_1/peak_boxes';
export const PEAK_BOXES_OFFSET_PATH = '/entry_1/data_1/peak_boxes_offset';

const DEFLATE_LEVEL = 4;
const PAYLOAD_CHUNK = 1 << 20;

export interface BinnedContainerOptions {
  /** The unbinned frames' geometry: written rewritten for the binned data. */
  geometry?: Geometry;
  factor: 2 | 3 | 4;
  /** Size and type of the binned frames (BinnedCodec output). */
  width: number;
  height: number;
  pixelType: PixelType;
  compression: Compression;
  /** The codec config, kept as JSON on /entry_1. */
  codec: { id: string; [key: string]: unknown };
}

/**
 * Writes binned frames and their bad-bin masks, with a CrystFEL geometry that reads them.
 *
 * @example
 * const w = await BinnedContainerWriter.create('bin2.h5', { geometry, factor: 2, width: 1034, height: 1081, pixelType: 'uint32', compression: 'bitshuffle-lz4', codec: codec.toConfig() });
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
    const file = await createCxiFile(path, 'binned', options.codec);
    try {
      const frames = new FrameStackWriter(file, CXI_DATA_PATH, height, width, options.pixelType, options.compression);
      const mask = ensureGroup(file, '/entry_1/data_1').create_dataset({
        name: 'mask',
        data: new Uint8Array(0),
        shape: [0, height, width],
        maxshape: [null, height, width],
        chunks: [1, height, width],
        dtype: '<B',
        compression: 'gzip',
        compression_opts: [DEFLATE_LEVEL],
      });
      if (options.geometry !== undefined) {
        const text = binGeometry(options.geometry, options.factor, {
          data: CXI_DATA_PATH,
          dims: ['%', 'ss', 'fs'],
          masks: [{ data: CXI_MASK_PATH, goodBits: 0, badBits: 1 }],
        });
        ensureGroup(file, '/entry_1/instrument_1/detector_1').create_dataset({ name: 'crystfel_geometry', data: text });
      }
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
  append(frame: FrameArray, meta: ContainerFrame): void {
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
    this.file.close();
  }
}

export interface PeaksContainerOptions {
  /** The codec config ({ id: 'peaks', box }), kept as JSON on /entry_1. */
  codec: { id: string; [key: string]: unknown };
  /** Shape and type of the frames the payloads decode to. */
  width: number;
  height: number;
  pixelType: PixelType;
  /** The (unbinned) CrystFEL geometry text, kept as it is. */
  geometry?: string;
}

/**
 * Writes peaks-only frames: CXI peak tables (read by CrystFEL with `peak_list =
 * /entry_1/result_1`, `peak_list_type = cxi`) and the sparse pixel payloads.
 *
 * @example
 * const w = await PeaksContainerWriter.create('peaks.h5', { codec: codec.toConfig(), width, height, pixelType: 'uint16' });
 * w.append(codec.encode(frame, { peaks }), peaks, { source: 'run.h5', event: '//3' });
 * w.close();
 */
export class PeaksContainerWriter {
  private readonly meta: ContainerFrame[] = [];
  private readonly peaks: PeakList[] = [];
  private readonly offsets: bigint[] = [0n];
  private total = 0;

  private constructor(
    private readonly file: H5File,
    private readonly payload: Dataset,
  ) {}

  static async create(path: string, options: PeaksContainerOptions): Promise<PeaksContainerWriter> {
    const file = await createCxiFile(path, 'peaks', options.codec);
    try {
      const payload = ensureGroup(file, '/entry_1/data_1').create_dataset({
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
      if (options.geometry !== undefined) {
        ensureGroup(file, '/entry_1/instrument_1/detector_1').create_dataset({ name: 'crystfel_geometry', data: options.geometry });
      }
      return new PeaksContainerWriter(file, payload);
    } catch (err) {
      file.close();
      throw new SxError('store', `${path}: cannot create peaks container: ${(err as Error).message}`, { cause: err });
    }
  }

  get count(): number {
    return this.meta.length;
  }

  append(payload: Uint8Array, peaks: PeakList, meta: ContainerFrame): void {
    if (payload.length > 0) {
      this.payload.resize([this.total + payload.length]);
      this.payload.write_slice([[this.total, this.total + payload.length]], payload);
      this.total += payload.length;
    }
    this.offsets.push(BigInt(this.total));
    this.peaks.push(peaks);
    this.meta.push(meta);
  }

  close(): void {
    const n = this.meta.length;
    const result = ensureGroup(this.file, CXI_RESULT_PATH);
    const maxPeaks = Math.max(1, ...this.peaks.map((p) => p.count));
    result.create_dataset({ name: 'nPeaks', data: Int32Array.from(this.peaks, (p) => p.count), shape: [n], dtype: '<i' });
    const table = (name: string, pick: (p: PeakList, k: number) => number) => {
      const data = new Float32Array(n * maxPeaks);
      this.peaks.forEach((p, i) => {
        for (let k = 0; k < p.count; k++) data[i * maxPeaks + k] = pick(p, k);
      });
      result.create_dataset({ name, data, shape: [n, maxPeaks], dtype: '<f', chunks: [Math.max(1, Math.min(n, 64)), maxPeaks], compression: 'gzip', compression_opts: [DEFLATE_LEVEL] });
    };
    table('peakXPosRaw', (p, k) => p.fs[k] - 0.5);
    table('peakYPosRaw', (p, k) => p.ss[k] - 0.5);
    table('peakTotalIntensity', (p, k) => p.intensity[k]);
    table('peakMaximumValue', (p, k) => p.maxValue?.[k] ?? 0);
    table('peakSNR', (p, k) => p.snr[k]);
    table('peakNPixels', (p, k) => p.npix[k]);
    ensureGroup(this.file, '/entry_1/data_1').create_dataset({ name: 'peak_boxes_offset', data: BigUint64Array.from(this.offsets), shape: [n + 1], dtype: '<Q' });
    writeFrameMeta(this.file, this.meta);
    this.file.close();
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

async function createCxiFile(path: string, product: string, codec: { id: string }): Promise<H5File> {
  const h5 = await loadH5();
  const file = new h5.File(path, 'w');
  try {
    file.create_dataset({ name: 'cxi_version', data: 150, dtype: '<i' });
    const entry = ensureGroup(file, '/entry_1');
    entry.create_attribute('sxarchive_product', product);
    entry.create_attribute('sxarchive_codec', JSON.stringify(codec));
    return file;
  } catch (err) {
    file.close();
    throw new SxError('store', `${path}: cannot create container: ${(err as Error).message}`, { cause: err });
  }
}

function writeFrameMeta(file: H5File, meta: ContainerFrame[]): void {
  const n = meta.length;
  ensureGroup(file, '/entry_1/data_1').create_dataset({ name: 'source_file', data: meta.map((m) => m.source), shape: [n] });
  ensureGroup(file, '/entry_1').create_dataset({ name: 'experiment_identifier', data: meta.map((m) => m.event), shape: [n] });
}
