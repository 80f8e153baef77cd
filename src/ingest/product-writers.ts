import { join } from 'node:path';
import { pixelTypeOfArray } from '../../codecs/codec-support.ts';
import { getCodec } from '../../codecs/registry.ts';
import type { ArrayToArrayCodec, ArrayToBytesCodec, FrameArray } from '../../codecs/types.ts';
import type { PeakList } from '../core/peakfinder8.ts';
import { SxError } from '../errors.ts';
import type { Geometry } from '../formats/crystfel-geometry.ts';
import type { KeepSpec, Policy } from '../policy/types.ts';
import { AtomicFile, type WrittenFile } from '../store/atomic.ts';
import { COMPRESSIONS, type Compression } from '../store/compression.ts';
import { CxiContainerWriter, type ContainerFrame } from '../store/cxi-container.ts';
import type { PixelArray, PixelType } from '../store/hdf5.ts';
import { BinnedContainerWriter, PeaksContainerWriter } from '../store/product-containers.ts';

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

/** Same product, codec, parameters and first tier: same container. */
export function writerKey(keep: KeepSpec): string {
  return JSON.stringify([keep.product, keep.codec, keep.params, keep.lifecycle[0]?.tier]);
}

export interface WriterContext {
  tierPath: (tier: string) => string;
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
}

class ContainerProductWriter implements ProductWriter {
  readonly product: string;
  readonly codecId: string;
  readonly tier: string;
  count = 0;

  constructor(
    readonly keep: KeepSpec,
    readonly relPath: string,
    readonly location: string,
    private readonly file: AtomicFile,
    private readonly sink: Sink,
  ) {
    this.product = keep.product;
    this.codecId = keep.codec.id;
    this.tier = keep.lifecycle[0].tier;
  }

  append(frame: SourceFrame): number {
    this.sink.append(frame);
    return this.count++;
  }

  async finish(): Promise<WrittenFile> {
    this.sink.close();
    return this.file.commit();
  }

  async abort(): Promise<void> {
    this.sink.close();
    await this.file.abort();
  }
}

const asCodecFrame = (f: SourceFrame): FrameArray => ({ data: f.pixels, width: f.width, height: f.height });

async function openSink(keep: KeepSpec, first: SourceFrame, path: string, ctx: WriterContext): Promise<Sink> {
  switch (keep.product) {
    case 'raw': {
      const w = await CxiContainerWriter.create(path, { height: first.height, width: first.width, pixelType: first.pixelType, compression: compressionOf(keep), product: 'raw', geometry: ctx.geometryText });
      return { append: (f) => w.append(f.pixels, f.meta), close: () => w.close() };
    }
    case 'quantized': {
      const codec = (await getCodec({ id: 'quantized', step: keep.params.step })) as ArrayToArrayCodec;
      const w = await CxiContainerWriter.create(path, { height: first.height, width: first.width, pixelType: first.pixelType, compression: compressionOf(keep), product: 'quantized', geometry: ctx.geometryText });
      return { append: (f) => w.append(codec.encode(asCodecFrame(f)).data, f.meta), close: () => w.close() };
    }
    case 'binned': {
      const factor = keep.params.factor as 2 | 3 | 4;
      const codec = (await getCodec({ id: 'binned', factor })) as ArrayToArrayCodec;
      // A geometry that does not fit the frames has no mask to give (its frames go unlabelled too).
      const staticMask = ctx.staticMask?.();
      const mask = staticMask?.length === first.width * first.height ? staticMask : undefined;
      const binnable = (f: SourceFrame): FrameArray => ({ ...asCodecFrame(f), ...(mask ? { mask } : {}) });
      const probe = codec.encode(binnable(first));
      const w = await BinnedContainerWriter.create(path, {
        geometry: ctx.geometry, factor, width: probe.width, height: probe.height, pixelType: pixelTypeOfArray(probe.data)!, compression: compressionOf(keep), codec: codec.toConfig(),
      });
      return { append: (f) => w.append(codec.encode(binnable(f)), f.meta), close: () => w.close() };
    }
    case 'peaks': {
      const codec = (await getCodec({ id: 'peaks', box: keep.params.box })) as ArrayToBytesCodec;
      const w = await PeaksContainerWriter.create(path, { codec: codec.toConfig(), width: first.width, height: first.height, pixelType: first.pixelType, geometry: ctx.geometryText });
      return {
        append: (f) => {
          if (!f.peaks) throw new SxError('usage', `${f.meta.source} event ${f.meta.event}: peaks-only needs the frame's peaks; ingest with --geometry so frames are labelled`);
          w.append(codec.encode(asCodecFrame(f), { peaks: f.peaks }), f.peaks, f.meta);
        },
        close: () => w.close(),
      };
    }
    default:
      throw new SxError('config', `product ${keep.product} is not written to a container`);
  }
}


function compressionOf(keep: KeepSpec): Compression {
  return keep.codec.id as Compression;
}

/**
 * Containers compress frames with HDF5 filters at their default settings: a policy whose codec
 * for a container product is another codec, or sets codec parameters, is refused before any
 * frame is read rather than silently written otherwise.
 */
export function checkContainerCodecs(policy: Policy): void {
  const problems: string[] = [];
  for (const rule of policy.rules) {
    for (const keep of rule.keep) {
      if (CATALOG_PRODUCTS.has(keep.product) || keep.product === 'peaks') continue;
      const { id, ...params } = keep.codec;
      if (!(COMPRESSIONS as readonly string[]).includes(id)) problems.push(`rule ${rule.name} (line ${rule.line}): ${keep.product} with codec ${id}; containers are written with ${COMPRESSIONS.join(', ')}`);
      else if (Object.keys(params).length > 0) problems.push(`rule ${rule.name} (line ${rule.line}): ${keep.product} codec ${id} with ${Object.keys(params).join(', ')}; containers use the codec's default settings, so leave its parameters out`);
    }
  }
  if (problems.length > 0) throw new SxError('config', `${policy.file}: cannot write these products to containers:\n${problems.join('\n')}`);
}

/** Opens the container a kept product goes into, on the first tier of its lifecycle. */
export async function openProductWriter(keep: KeepSpec, first: SourceFrame, ctx: WriterContext): Promise<ProductWriter> {
  const tier = keep.lifecycle[0].tier;
  const relPath = join(ctx.runDir, `${keep.product}-${String(ctx.nextSequence(keep.product)).padStart(5, '0')}.h5`);
  const location = join(ctx.tierPath(tier), relPath);
  const file = await AtomicFile.create(location);
  try {
    return new ContainerProductWriter(keep, relPath, location, file, await openSink(keep, first, file.tmpPath, ctx));
  } catch (err) {
    await file.abort();
    throw err;
  }
}
