import { statfsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { getCodec } from '../../codecs/registry.ts';
import type { ArrayToArrayCodec, ArrayToBytesCodec, FrameArray } from '../../codecs/types.ts';
import type { PeakList } from '../core/peakfinder8.ts';
import { formatBytes } from '../bytes.ts';
import { SxError } from '../errors.ts';
import { CONTAINER_DIMS, binGeometry, containerGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import { formKey } from '../policy/forms.ts';
import { keepCodecProblems, keepCodecs, type KeepCodecs } from '../policy/keep-codecs.ts';
import type { KeepSpec, Policy } from '../policy/types.ts';
import type { BinFactor } from '../reduce/binning.ts';
import { AtomicFile, type WrittenFile } from '../store/atomic.ts';
import { verifyContainer } from '../store/verify.ts';
import { CXI_DATA_PATH, CxiContainerWriter, type ContainerCodecRecord, type ContainerFrame } from '../store/cxi-container.ts';
import { CXI_RESULT_PATH } from '../store/cxi-peaks.ts';
import { BinnedContainerWriter, CXI_MASK_PATH, DEFLATE_FILTER, PeaksContainerWriter } from '../store/product-containers.ts';
import { pixelTypeOfArray, type PixelArray, type PixelType } from '../pixels.ts';
import type { Hdf5Filter } from '../hdf5-filter.ts';

/** The frame a product is made from, with what the products need beside the pixels. */
export interface SourceFrame {
  pixels: PixelArray;
  width: number;
  height: number;
  pixelType: PixelType;
  meta: ContainerFrame;
  /** The frame's peaks, when it was labelled (peaks-only keeps boxes around them). */
  peaks?: PeakList;
}

/** An open container for one (product, codec, parameters, tier) of one batch. */
export interface ProductWriter {
  readonly keep: KeepSpec;
  readonly product: string;
  readonly codecId: string;
  readonly tier: string;
  readonly relPath: string;
  readonly location: string;
  readonly count: number;
  append(frame: SourceFrame): number;
  finish(): Promise<WrittenFile>;
  abort(): Promise<void>;
}

/** Products kept in the catalog itself (no container on a tier). */
export const CATALOG_PRODUCTS = new Set(['intensities']);

/** Same product, codec, parameters and lifecycle: same container (it moves and expires as one). */
export function writerKey(keep: KeepSpec): string {
  return `${formKey(keep)}${JSON.stringify(keep.lifecycle)}`;
}

export interface WriterContext {
  tierPath: (tier: string) => string;
  /** The filesystem tier a container starting its lifecycle on a tier is written to (Facility.stagingTier). */
  writeTier: (tier: string) => string;
  /** `experiment/run-0001`, under which each tier keeps this run's containers. */
  runDir: string;
  /** Numbers containers of the same product within the run. */
  nextSequence: (product: string) => number;
  geometryText?: string;
  geometry?: Geometry;
  /** The geometry's never-usable pixels (gaps, bad regions), built on first use; binning excludes them. */
  staticMask?: () => Uint8Array;
}

/** What differs between products: how a frame goes into the open container. */
interface Sink {
  append(frame: SourceFrame): void;
  close(): void;
  /** CRC-32 of each frame as written to the container's frame stack (products that have one). */
  frameDigests?: () => readonly number[];
}

/** Room kept free beyond a frame's own bytes, for the container's metadata and the file system. */
const SPACE_MARGIN = 1 << 20;

/**
 * One container being written: every frame is checked for room on its tier first, and the
 * finished file is read back (frame count, every frame's bytes) before it is renamed into
 * place. Any failure is a WriteError naming the tier, the path, the bytes needed and free.
 */
class ContainerProductWriter implements ProductWriter {
  readonly product: string;
  readonly codecId: string;
  readonly tier: string;
  count = 0;
  private closed = false;

  constructor(
    readonly keep: KeepSpec,
    readonly relPath: string,
    readonly location: string,
    private readonly tierRoot: string,
    private readonly file: AtomicFile,
    private readonly sink: Sink,
  ) {
    this.product = keep.product;
    this.codecId = keep.codec.id;
    this.tier = keep.lifecycle[0].tier;
  }

  append(frame: SourceFrame): number {
    const needed = frame.pixels.byteLength + SPACE_MARGIN;
    const free = freeBytes(this.tierRoot);
    if (free !== undefined && free < needed) throw this.failure(`not enough space for frame ${this.count + 1}`, needed, free);
    try {
      this.sink.append(frame);
    } catch (err) {
      throw this.failure(`cannot write frame ${this.count + 1}: ${(err as Error).message}`, needed, freeBytes(this.tierRoot), err);
    }
    return this.count++;
  }

  async finish(): Promise<WrittenFile> {
    try {
      this.close();
      await verifyContainer(this.file.tmpPath, { frames: this.count, frameDigests: this.sink.frameDigests?.() });
      return await this.file.commit();
    } catch (err) {
      if (err instanceof WriteError) throw err;
      throw this.failure(`cannot finish the container: ${(err as Error).message}`, await tmpBytes(this.file.tmpPath), freeBytes(this.tierRoot), err);
    }
  }

  async abort(): Promise<void> {
    try {
      this.close();
    } catch {
      // The file is removed next whatever state HDF5 left it in.
    }
    await this.file.abort();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close();
  }

  private failure(what: string, needed: number | undefined, free: number | undefined, cause?: unknown): WriteError {
    const sizes = [needed === undefined ? '' : `needs ${formatBytes(needed)}`, free === undefined ? '' : `${formatBytes(free)} free`].filter(Boolean).join(', ');
    return new WriteError(`tier ${this.tier} (${this.tierRoot}): ${this.relPath}: ${what}${sizes ? ` (${sizes})` : ''}; nothing of this batch was recorded`, { cause });
  }
}

/** A container could not be written; the batch it belongs to is not recorded. */
export class WriteError extends SxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store', message, options);
  }
}

/** Free bytes for an unprivileged writer where the file system says, else undefined. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

async function tmpBytes(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}


const asCodecFrame = (f: SourceFrame): FrameArray => ({ data: f.pixels, width: f.width, height: f.height });

/** What every container records of how it was made: the product, its codecs and the filter written. */
function codecRecord(keep: KeepSpec, codecs: KeepCodecs, filter: Hdf5Filter | null): ContainerCodecRecord {
  return { product: keep.product, ...(codecs.reduction ? { reduction: codecs.reduction } : {}), ...(codecs.compression ? { compression: codecs.compression.config } : {}), hdf5_filter: filter };
}

/** The geometry for a container's own layout (frames in CXI_DATA_PATH); none without a geometry. */
function geometryFor(product: 'raw' | 'quantized' | 'peaks', ctx: WriterContext): string | undefined {
  if (ctx.geometry === undefined) return undefined;
  return containerGeometry(ctx.geometry, { product, data: CXI_DATA_PATH, ...(product === 'peaks' ? { peakList: CXI_RESULT_PATH } : {}) });
}

async function openSink(keep: KeepSpec, first: SourceFrame, path: string, ctx: WriterContext): Promise<Sink> {
  // The same codecs `policy check` built from this keep, so a checked policy cannot fail here.
  const codecs = keepCodecs(keep);
  const filter = codecs.compression?.filter ?? null;
  const shape = { height: first.height, width: first.width, pixelType: first.pixelType };
  switch (keep.product) {
    case 'raw': {
      const w = await CxiContainerWriter.create(path, { ...shape, filter, codec: codecRecord(keep, codecs, filter), geometry: geometryFor('raw', ctx) });
      return { append: (f) => w.append(f.pixels, f.meta), close: () => w.close(), frameDigests: () => w.frameDigests };
    }
    case 'quantized': {
      const codec = (await getCodec(codecs.reduction!)) as ArrayToArrayCodec;
      const w = await CxiContainerWriter.create(path, { ...shape, filter, codec: codecRecord(keep, codecs, filter), geometry: geometryFor('quantized', ctx) });
      // Readers expect photon counts: the container holds the quantizer's reconstruction, not its codes.
      return { append: (f) => w.append(codec.decode(codec.encode(asCodecFrame(f))).data, f.meta), close: () => w.close(), frameDigests: () => w.frameDigests };
    }
    case 'binned': {
      const codec = (await getCodec(codecs.reduction!)) as ArrayToArrayCodec;
      const factor = keep.params.factor as BinFactor;
      // A geometry that does not fit the frames has no mask to give (its frames go unlabelled too).
      const staticMask = ctx.staticMask?.();
      const mask = staticMask?.length === first.width * first.height ? staticMask : undefined;
      const binnable = (f: SourceFrame): FrameArray => ({ ...asCodecFrame(f), ...(mask ? { mask } : {}) });
      const probe = codec.encode(binnable(first));
      const geometry = ctx.geometry && binGeometry(ctx.geometry, factor, { data: CXI_DATA_PATH, dims: [...CONTAINER_DIMS], masks: [{ data: CXI_MASK_PATH, goodBits: 0, badBits: 1 }] });
      const w = await BinnedContainerWriter.create(path, {
        width: probe.width, height: probe.height, pixelType: pixelTypeOfArray(probe.data)!, filter, codec: codecRecord(keep, codecs, filter), geometry,
      });
      return { append: (f) => w.append(codec.encode(binnable(f)), f.meta), close: () => w.close(), frameDigests: () => w.frameDigests };
    }
    case 'peaks': {
      const codec = (await getCodec(codecs.reduction!)) as ArrayToBytesCodec;
      const w = await PeaksContainerWriter.create(path, { ...shape, codec: codecRecord(keep, codecs, DEFLATE_FILTER), geometry: geometryFor('peaks', ctx) });
      return {
        append: (f) => {
          if (!f.peaks) throw new SxError('usage', `${f.meta.source} event ${f.meta.event}: peaks-only needs the frame's peaks; ingest with --geometry so frames are labelled`);
          w.append(codec.encode(asCodecFrame(f), { peaks: f.peaks }), f.peaks, f.meta);
        },
        close: () => w.close(),
        frameDigests: () => w.frameDigests,
      };
    }
    default:
      throw new SxError('config', `product ${keep.product} is not written to a container`);
  }
}

/**
 * Refuses, before any frame is read, a policy whose containers could not be written as it says.
 * `policy check` builds the same codecs (src/policy/keep-codecs.ts), so this fails only for a
 * policy that never passed check.
 */
export function checkContainerCodecs(policy: Policy): void {
  const problems = policy.rules.flatMap((rule) => rule.keep.flatMap((keep) =>
    keepCodecProblems(keep).map((p) => `rule ${rule.name} (line ${rule.line}): ${keep.product} ${p.key}: ${p.message}`)));
  if (problems.length > 0) throw new SxError('config', `${policy.file}: cannot write these products to containers:\n${problems.join('\n')}`);
}

/** Opens the container a kept product goes into, on the first tier of its lifecycle (or the staging tier, see WriterContext.writeTier). */
export async function openProductWriter(keep: KeepSpec, first: SourceFrame, ctx: WriterContext): Promise<ProductWriter> {
  const tier = ctx.writeTier(keep.lifecycle[0].tier);
  const relPath = join(ctx.runDir, `${keep.product}-${String(ctx.nextSequence(keep.product)).padStart(5, '0')}.h5`);
  const tierRoot = ctx.tierPath(tier);
  const location = join(tierRoot, relPath);
  let file: AtomicFile;
  try {
    file = await AtomicFile.create(location);
  } catch (err) {
    throw new WriteError(`tier ${tier} (${tierRoot}): cannot create ${dirname(relPath)}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return new ContainerProductWriter(keep, relPath, location, tierRoot, file, await openSink(keep, first, file.tmpPath, ctx));
  } catch (err) {
    await file.abort();
    if (err instanceof WriteError) throw err;
    throw new WriteError(`tier ${tier} (${tierRoot}): ${relPath}: cannot create the container: ${(err as Error).message} (${formatBytes(freeBytes(tierRoot) ?? 0)} free)`, { cause: err });
  }
}
