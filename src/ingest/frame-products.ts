// What an ingest worker does with one frame: fetch it (a direct chunk read through libhdf5, or
// HDF5's own filters), decode it once, and make each kept product's stored chunk. Runs in the
// worker threads (src/ingest/frame-worker.ts); plain functions, so tests call them directly.
import { crc32, deflateSync } from 'node:zlib';
import { containerChunkCodec, getCodec, type ContainerCodecId } from '../../codecs/registry.ts';
import type { ArrayToArrayCodec, ArrayToBytesCodec, ChunkCodec, CodecConfig, FrameArray } from '../../codecs/types.ts';
import type { PeakList } from '../core/peakfinder8.ts';
import type { GroupMaxima } from '../group-maxima.ts';
import { SxError } from '../errors.ts';
import type { FrameLocation } from '../frames/frame-part.ts';
import { allocPixelsUnsafe, frameBytes, pixelsOf, type PixelArray, type PixelType } from '../pixels.ts';
import { ChunkFile, type ChunkDataset } from '../store/hdf5-chunks.ts';
import { DEFLATE_LEVEL } from '../store/deflate.ts';


/** How one kept product of a frame is made; `compression` is the container codec's config. */
export type ProductRequest =
  | { product: 'raw'; compression: CodecConfig; passThrough: boolean }
  | { product: 'quantized'; reduction: CodecConfig; compression: CodecConfig }
  | { product: 'binned'; reduction: CodecConfig; compression: CodecConfig }
  | { product: 'peaks'; reduction: CodecConfig };

/** A product as the container stores it: one chunk (and a binned mask chunk), or a peaks payload. */
export interface ProductOutput {
  /** The stored chunk (the codec's filter format), or the peaks codec's payload. */
  bytes: Uint8Array;
  /** CRC-32 of `bytes`, for the read-back check of the container. */
  digest: number;
  /** Binned only: the bad-bin mask, deflated as the mask dataset stores it. */
  mask?: Uint8Array;
}

/** A frame a worker holds between being labelled and being decided. */
export interface HeldFrame {
  width: number;
  height: number;
  pixels: PixelArray;
  /** The stored chunk as read, when it was read whole and every filter was applied to it. */
  stored?: { codec: string; bytes: Uint8Array };
  peaks?: PeakList;
  /** Group maxima the decoder took for labelling (the caller's buffer, until its next frame). */
  maxima?: GroupMaxima;
}

/** Open source datasets of one worker, by file and path (a run reads few files, many frames each). */
export class SourceFiles {
  private readonly files = new Map<string, ChunkFile>();
  private readonly datasets = new Map<string, ChunkDataset>();

  dataset(file: string, path: string): ChunkDataset {
    const key = `${file}\0${path}`;
    let dataset = this.datasets.get(key);
    if (!dataset) {
      let opened = this.files.get(file);
      if (!opened) this.files.set(file, (opened = ChunkFile.open(file, 'r')));
      this.datasets.set(key, (dataset = opened.dataset(path)));
    }
    return dataset;
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
    this.datasets.clear();
  }
}

const chunkCodecs = new Map<string, ChunkCodec>();
/** One chunk codec per config (a config names its codec completely). */
function chunkCodecOf(config: CodecConfig): ChunkCodec {
  const key = JSON.stringify(config);
  let codec = chunkCodecs.get(key);
  if (!codec) chunkCodecs.set(key, (codec = containerChunkCodec(config)));
  return codec;
}

/**
 * Buffers a worker reuses for frames and their stored chunks. A fresh 36 MB buffer per Eiger 16M
 * frame costs its page faults every time, as much as decoding into it, and every buffer freed
 * and allocated again counts as new external memory, for which V8 runs a full garbage collection
 * every ~64 MB. Stored chunks differ in size from frame to frame, so a buffer serves any request
 * it can hold (the smallest such one), and new ones are rounded up to serve the next frames too.
 * The main thread hands the chunks it has written back (FramePool.recycle).
 */
export class Buffers {
  /** Oldest given first: past the bounds the oldest go. */
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;
  /** A worker holds a few frames at once (more only while a results gate holds them). */
  private static readonly KEEP = 16;
  private static readonly KEEP_BYTES = 256 << 20;
  private static readonly GRAIN = 1 << 20;
  /** Smaller buffers (masks, peak lists) cost less to allocate than to keep. */
  private static readonly SMALLEST = 64 << 10;

  /** A buffer of at least `bytes` (its own, or a new one): callers view the part they use. */
  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const size = this.free[i].byteLength;
      if (size >= bytes && (best < 0 || size < this.free[best].byteLength)) best = i;
    }
    if (best < 0) return Buffer.allocUnsafeSlow(Math.ceil(Math.max(bytes, 1) / Buffers.GRAIN) * Buffers.GRAIN).buffer as ArrayBuffer;
    const [buffer] = this.free.splice(best, 1);
    this.freeBytes -= buffer.byteLength;
    return buffer;
  }

  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength < Buffers.SMALLEST || buffer.byteLength > Buffers.KEEP_BYTES) return;
    this.free.push(buffer);
    this.freeBytes += buffer.byteLength;
    while (this.free.length > Buffers.KEEP || this.freeBytes > Buffers.KEEP_BYTES) this.freeBytes -= this.free.shift()!.byteLength;
  }

  /** Buffers kept and their bytes (for tests). */
  get held(): { count: number; bytes: number } {
    return { count: this.free.length, bytes: this.freeBytes };
  }
}

/** Memory for a frame's pixels that a decoder fills completely: a reused buffer when there are any. */
function framePixels(shape: { width: number; height: number; pixelType: PixelType }, buffers?: Buffers): PixelArray {
  const bytes = frameBytes(shape);
  return buffers ? pixelsOf(shape.pixelType, new Uint8Array(buffers.take(bytes), 0, bytes)) : allocPixelsUnsafe(shape.pixelType, shape.width * shape.height);
}

/**
 * Reads and decodes the frame at `at`: a frame stored as one chunk in one of our codecs by a
 * direct chunk read (its stored bytes kept for pass-through), anything else through HDF5's
 * filters. Decoded at once even when no product needs the pixels, so a damaged frame is found
 * (and skipped) here, never copied on.
 */
export function fetchFrame(files: SourceFiles, at: FrameLocation, seconds?: StageSeconds, buffers?: Buffers, maxima?: GroupMaxima): HeldFrame {
  const start = performance.now();
  const dataset = files.dataset(at.file, at.path);
  const frame = { width: at.width, height: at.height, pixels: framePixels(at, buffers) };
  if (at.chunk === undefined) {
    dataset.readFrames(at.index, 1, frame.pixels);
    addSeconds(seconds, 'read+decode (HDF5 filters)', start);
    return frame;
  }
  const offset = at.rank === 3 ? [at.index, 0, 0] : [0, 0];
  const size = buffers ? dataset.chunkBytes(offset) : 0;
  const { bytes, filterMask } = dataset.readChunk(offset, buffers ? new Uint8Array(buffers.take(size)) : undefined);
  const read = addSeconds(seconds, 'read (direct chunk)', start);
  // A set mask bit: the filter was skipped for this chunk (it could not shrink it), so it holds the pixels as they are.
  const codec = filterMask === 0 ? at.chunk : 'none';
  const decoded = decodeChunk(frame, codec, bytes, maxima, seconds, read);
  return filterMask === 0 ? { ...decoded, stored: { codec, bytes } } : decoded;
}

/**
 * Decodes a frame's stored chunk into its pixels; the group maxima are taken on the way where
 * the decoder can (bitshuffle-LZ4), so that labelling then reads less. Throws SxError('input')
 * when the chunk does not decode to the frame (truncated, damaged).
 */
function decodeChunk(frame: HeldFrame, codec: ContainerCodecId, bytes: Uint8Array, maxima: GroupMaxima | undefined, seconds: StageSeconds | undefined, since: number): HeldFrame {
  const decoder = chunkCodecOf({ id: codec });
  const surveyed = maxima !== undefined && decoder.decodeWithMaxima !== undefined && frame.pixels instanceof Uint16Array;
  if (surveyed) decoder.decodeWithMaxima!(bytes, frame.pixels as Uint16Array, maxima);
  else decoder.decode(bytes, frame.pixels);
  addSeconds(seconds, `decode (${codec})`, since);
  return surveyed ? { ...frame, maxima } : frame;
}

/** A frame received as one stored chunk (a detector stream): decoded once, the chunk kept for pass-through. */
export function storedFrame(chunk: { codec: ContainerCodecId; bytes: Uint8Array }, shape: { width: number; height: number; pixelType: PixelType }, seconds?: StageSeconds, buffers?: Buffers, maxima?: GroupMaxima): HeldFrame {
  const start = performance.now();
  const decoded = decodeChunk({ width: shape.width, height: shape.height, pixels: framePixels(shape, buffers) }, chunk.codec, chunk.bytes, maxima, seconds, start);
  return { ...decoded, stored: chunk };
}

/** Seconds spent per stage of the frame path, summed over frames (and threads). */
export type StageSeconds = Record<string, number>;

/** Adds the time since `since` (performance.now()) to `stage`; returns now. */
export function addSeconds(seconds: StageSeconds | undefined, stage: string, since: number): number {
  const now = performance.now();
  if (seconds) seconds[stage] = (seconds[stage] ?? 0) + (now - since) / 1000;
  return now;
}

/** A frame read on the main thread (a layout only h5wasm reads), handed to the worker. */
export function heldPixels(pixels: PixelArray, width: number, height: number): HeldFrame {
  return { width, height, pixels };
}

const reductions = new Map<string, Promise<ArrayToArrayCodec | ArrayToBytesCodec>>();
function reductionOf(config: CodecConfig): Promise<ArrayToArrayCodec | ArrayToBytesCodec> {
  const key = JSON.stringify(config);
  let codec = reductions.get(key);
  if (!codec) reductions.set(key, (codec = getCodec(config) as Promise<ArrayToArrayCodec | ArrayToBytesCodec>));
  return codec;
}

/**
 * Bad-bin masks differ from frame to frame only where bins saturate, so most equal the one
 * before: comparing costs far less than deflating again.
 */
let lastMask: { mask: Uint8Array; deflated: Uint8Array } | undefined;
function deflatedMask(mask: Uint8Array): Uint8Array {
  if (!lastMask || !Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength).equals(lastMask.mask)) {
    lastMask = { mask: mask.slice(), deflated: deflateSync(mask, { level: DEFLATE_LEVEL }) };
  }
  // A copy with its own buffer: it is transferred to the main thread (zlib's Buffer may sit in Node's shared pool).
  return new Uint8Array(lastMask.deflated);
}

/** The last binned frame per reduction config (binFrame allocates ~5 MB per Eiger 4M frame otherwise). */
const lastBinned = new Map<string, FrameArray>();

/** The buffers of a frame's outputs, each once (two products can share one stored chunk). */
export function outputBuffers(outputs: readonly ProductOutput[]): ArrayBuffer[] {
  return [...new Set(outputs.flatMap((o) => (o.mask ? [o.bytes.buffer, o.mask.buffer] : [o.bytes.buffer])))] as ArrayBuffer[];
}

const output = (bytes: Uint8Array, mask?: Uint8Array): ProductOutput => ({ bytes, digest: crc32(bytes), ...(mask ? { mask } : {}) });

/**
 * The stored form of one kept product of `frame`. A raw product whose source chunk is already
 * in the container's codec takes the chunk as it is (`passThrough`); `staticMask` (the
 * geometry's unusable pixels) is excluded from the bins. `where` names the frame in errors.
 */
export async function makeProduct(frame: HeldFrame, request: ProductRequest, staticMask: Uint8Array | undefined, where: string, seconds?: StageSeconds): Promise<ProductOutput> {
  const start = performance.now();
  const made = await makeOne(frame, request, staticMask, where);
  addSeconds(seconds, request.product === 'raw' && made.bytes === frame.stored?.bytes ? 'raw (pass-through)' : `${request.product} (reduce+encode)`, start);
  return made;
}

async function makeOne(frame: HeldFrame, request: ProductRequest, staticMask: Uint8Array | undefined, where: string): Promise<ProductOutput> {
  const { width, height } = frame;
  switch (request.product) {
    case 'raw': {
      if (request.passThrough && frame.stored?.codec === request.compression.id) return output(frame.stored.bytes);
      return output(chunkCodecOf(request.compression).encode({ data: frame.pixels, width, height }));
    }
    case 'quantized': {
      const codec = (await reductionOf(request.reduction)) as ArrayToArrayCodec;
      // Readers expect photon counts: the container holds the quantizer's reconstruction, not its codes.
      const data = codec.decode(codec.encode({ data: frame.pixels, width, height })).data;
      return output(chunkCodecOf(request.compression).encode({ data, width, height }));
    }
    case 'binned': {
      const key = JSON.stringify(request.reduction);
      const codec = (await reductionOf(request.reduction)) as ArrayToArrayCodec;
      const mask = staticMask?.length === width * height ? staticMask : undefined;
      // The binned frame lives until it is encoded: the next frame's binning overwrites it.
      const binned = codec.encode({ data: frame.pixels, width, height, ...(mask ? { mask } : {}) }, undefined, lastBinned.get(key));
      lastBinned.set(key, binned);
      const badBins = binned.mask ?? new Uint8Array(binned.width * binned.height);
      return output(chunkCodecOf(request.compression).encode(binned), deflatedMask(badBins));
    }
    case 'peaks': {
      if (!frame.peaks) throw new SxError('usage', `${where}: peaks-only needs the frame's peaks; ingest with --geometry so frames are labelled`);
      const codec = (await reductionOf(request.reduction)) as ArrayToBytesCodec;
      return output(codec.encode({ data: frame.pixels, width, height }, { peaks: frame.peaks }));
    }
  }
}
