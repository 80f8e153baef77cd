import { statfsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatBytes } from '../bytes.ts';
import { SxError } from '../errors.ts';
import { CONTAINER_DIMS, binGeometry, containerGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import type { Hdf5Filter } from '../hdf5-filter.ts';
import type { PixelType } from '../pixels.ts';
import { formKey } from '../policy/forms.ts';
import { keepCodecProblems, keepCodecs, type KeepCodecs } from '../policy/keep-codecs.ts';
import type { KeepSpec, Policy } from '../policy/types.ts';
import { binnedShape, type BinFactor } from '../reduce/binning.ts';
import { AtomicFile, type WrittenFile } from '../store/atomic.ts';
import { ChunkContainerWriter } from '../store/chunk-container.ts';
import { CXI_DATA_PATH, type ContainerCodecRecord, type ContainerFrame } from '../store/cxi-container.ts';
import { CXI_RESULT_PATH, type PeakTable } from '../store/cxi-peaks.ts';
import { DEFLATE_FILTER } from '../store/deflate.ts';
import { CXI_MASK_PATH, PeaksContainerWriter } from '../store/product-containers.ts';
import { verifyContainer } from '../store/verify.ts';
import type { ProductOutput, ProductRequest } from './frame-products.ts';

/** The frames a container of one batch takes: their shape, the same for every frame of it. */
export interface FrameShape {
  width: number;
  height: number;
  pixelType: PixelType;
}

/** An open container for one (product, codec, parameters, tier) of one batch. */
export interface ProductWriter {
  readonly keep: KeepSpec;
  readonly product: string;
  readonly codecId: string;
  readonly tier: string;
  readonly relPath: string;
  readonly location: string;
  /** Frames reserved so far. */
  readonly count: number;
  /** What a worker makes of each frame for this container. */
  request(): ProductRequest;
  /** The container's next frame, for `meta`; checks the tier has room for `rawBytes` first. */
  reserve(meta: ContainerFrame, rawBytes: number): number;
  /**
   * Writes reserved frame `index` as the worker made it; `peaks` is its row of a peaks
   * container's table. Writes (or copies) the output at once: its buffers are the caller's again
   * when this returns.
   */
  put(index: number, output: ProductOutput, peaks?: PeakTable): void;
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
}

/** What differs between products: how a made frame goes into the open container. */
interface Sink {
  put(index: number, output: ProductOutput, meta: ContainerFrame, peaks: PeakTable | undefined): void;
  close(): Promise<void>;
  abort(): void;
  /** What the read-back check compares: each stored chunk, or each frame as read back (peaks payloads). */
  digests(): { chunkDigests: readonly number[] } | { frameDigests: readonly number[] };
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
  private readonly meta: ContainerFrame[] = [];

  constructor(
    readonly keep: KeepSpec,
    readonly relPath: string,
    readonly location: string,
    private readonly tierRoot: string,
    private readonly file: AtomicFile,
    private readonly sink: Sink,
    private readonly made: ProductRequest,
  ) {
    this.product = keep.product;
    this.codecId = keep.codec.id;
    this.tier = keep.lifecycle[0].tier;
  }

  request(): ProductRequest {
    return this.made;
  }

  reserve(meta: ContainerFrame, rawBytes: number): number {
    const needed = rawBytes + SPACE_MARGIN;
    const free = freeBytes(this.tierRoot);
    if (free !== undefined && free < needed) throw this.failure(`not enough space for frame ${this.count + 1}`, needed, free);
    this.meta.push(meta);
    return this.count++;
  }

  put(index: number, output: ProductOutput, peaks?: PeakTable): void {
    try {
      this.sink.put(index, output, this.meta[index], peaks);
    } catch (err) {
      throw this.failure(`cannot write frame ${index + 1}: ${(err as Error).message}`, output.bytes.byteLength + SPACE_MARGIN, freeBytes(this.tierRoot), err);
    }
  }

  async finish(): Promise<WrittenFile> {
    try {
      await this.close();
      await verifyContainer(this.file.tmpPath, { frames: this.count, ...this.sink.digests() });
      return await this.file.commit();
    } catch (err) {
      if (err instanceof WriteError) throw err;
      throw this.failure(`cannot finish the container: ${(err as Error).message}`, await tmpBytes(this.file.tmpPath), freeBytes(this.tierRoot), err);
    }
  }

  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      try {
        this.sink.abort();
      } catch {
        // The file is removed next whatever state HDF5 left it in.
      }
    }
    await this.file.abort();
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sink.close();
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


/** What every container records of how it was made: the product, its codecs and the filter written. */
function codecRecord(keep: KeepSpec, codecs: KeepCodecs, filter: Hdf5Filter | null): ContainerCodecRecord {
  return { product: keep.product, ...(codecs.reduction ? { reduction: codecs.reduction } : {}), ...(codecs.compression ? { compression: codecs.compression.config } : {}), hdf5_filter: filter };
}

/** The geometry for a container's own layout (frames in CXI_DATA_PATH); none without a geometry. */
function geometryFor(product: 'raw' | 'quantized' | 'peaks', ctx: WriterContext): string | undefined {
  if (ctx.geometry === undefined) return undefined;
  return containerGeometry(ctx.geometry, { product, data: CXI_DATA_PATH, ...(product === 'peaks' ? { peakList: CXI_RESULT_PATH } : {}) });
}

/** Container codecs whose chunks decode the same whatever the options they were written with: a source chunk in one can be kept as it is. */
const PASS_THROUGH_CODECS = new Set(['bitshuffle-lz4', 'none']);

function chunkSink(w: ChunkContainerWriter): Sink {
  return {
    put: (index, output, meta) => w.put(index, output.bytes, output.digest, meta, output.mask),
    close: () => w.close(),
    abort: () => w.abort(),
    digests: () => ({ chunkDigests: w.chunkDigests }),
  };
}

interface OpenedSink {
  sink: Sink;
  request: ProductRequest;
}

async function openSink(keep: KeepSpec, first: FrameShape, path: string, ctx: WriterContext): Promise<OpenedSink> {
  // The same codecs `policy check` built from this keep, so a checked policy cannot fail here.
  const codecs = keepCodecs(keep);
  const filter = codecs.compression?.filter ?? null;
  const compression = codecs.compression?.config;
  switch (keep.product) {
    case 'raw': {
      const w = await ChunkContainerWriter.create(path, { ...first, filter, codec: codecRecord(keep, codecs, filter), geometry: geometryFor('raw', ctx) });
      return { sink: chunkSink(w), request: { product: 'raw', compression: compression!, passThrough: PASS_THROUGH_CODECS.has(compression!.id) } };
    }
    case 'quantized': {
      const w = await ChunkContainerWriter.create(path, { ...first, filter, codec: codecRecord(keep, codecs, filter), geometry: geometryFor('quantized', ctx) });
      return { sink: chunkSink(w), request: { product: 'quantized', reduction: codecs.reduction!, compression: compression! } };
    }
    case 'binned': {
      const factor = keep.params.factor as BinFactor;
      const geometry = ctx.geometry && binGeometry(ctx.geometry, factor, { data: CXI_DATA_PATH, dims: [...CONTAINER_DIMS], masks: [{ data: CXI_MASK_PATH, goodBits: 0, badBits: 1 }] });
      const w = await ChunkContainerWriter.create(path, {
        ...binnedShape(first, factor), filter, codec: codecRecord(keep, codecs, filter), geometry, mask: true,
      });
      return { sink: chunkSink(w), request: { product: 'binned', reduction: codecs.reduction!, compression: compression! } };
    }
    case 'peaks': {
      const w = await PeaksContainerWriter.create(path, { ...first, codec: codecRecord(keep, codecs, DEFLATE_FILTER), geometry: geometryFor('peaks', ctx) });
      // Payloads are small and the container's tables are written in frame order: they wait here until it closes.
      const made: { output: ProductOutput; meta: ContainerFrame; peaks: PeakTable }[] = [];
      return {
        sink: {
          put: (index, output, meta, peaks) => {
            made[index] = { output: { ...output, bytes: output.bytes.slice() }, meta, peaks: peaks! };
          },
          close: async () => {
            for (const m of made) w.append(m.output.bytes, m.peaks, m.meta);
            w.close();
          },
          abort: () => w.close(),
          digests: () => ({ frameDigests: w.frameDigests }),
        },
        request: { product: 'peaks', reduction: codecs.reduction! },
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
export async function openProductWriter(keep: KeepSpec, first: FrameShape, ctx: WriterContext): Promise<ProductWriter> {
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
    const { sink, request } = await openSink(keep, first, file.tmpPath, ctx);
    return new ContainerProductWriter(keep, relPath, location, tierRoot, file, sink, request);
  } catch (err) {
    await file.abort();
    if (err instanceof WriteError) throw err;
    throw new WriteError(`tier ${tier} (${tierRoot}): ${relPath}: cannot create the container: ${(err as Error).message} (${formatBytes(freeBytes(tierRoot) ?? 0)} free)`, { cause: err });
  }
}
