import { join } from 'node:path';
import { SxError } from '../errors.ts';
import type { KeepSpec } from '../policy/types.ts';
import { AtomicFile, type WrittenFile } from '../store/atomic.ts';
import { COMPRESSIONS, type Compression } from '../store/compression.ts';
import { CxiContainerWriter, type ContainerFrame } from '../store/cxi-container.ts';
import type { PixelArray, PixelType } from '../store/hdf5.ts';

/** The frame a product is made from, with what the products need beside the pixels. */
export interface SourceFrame {
  pixels: PixelArray;
  width: number;
  height: number;
  pixelType: PixelType;
  meta: ContainerFrame;
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
}

class RawWriter implements ProductWriter {
  readonly keep: KeepSpec;
  readonly product = 'raw';
  readonly codecId: string;
  readonly tier: string;
  readonly relPath: string;
  readonly location: string;
  private readonly file: AtomicFile;
  private readonly writer: CxiContainerWriter;

  constructor(keep: KeepSpec, relPath: string, location: string, file: AtomicFile, writer: CxiContainerWriter) {
    this.keep = keep;
    this.codecId = keep.codec.id;
    this.tier = keep.lifecycle[0].tier;
    this.relPath = relPath;
    this.location = location;
    this.file = file;
    this.writer = writer;
  }

  get count(): number {
    return this.writer.count;
  }

  append(frame: SourceFrame): number {
    this.writer.append(frame.pixels, frame.meta);
    return this.writer.count - 1;
  }

  async finish(): Promise<WrittenFile> {
    this.writer.close();
    return this.file.commit();
  }

  async abort(): Promise<void> {
    this.writer.close();
    await this.file.abort();
  }
}

function compressionOf(keep: KeepSpec): Compression {
  const id = keep.codec.id;
  if (!(COMPRESSIONS as readonly string[]).includes(id)) {
    throw new SxError('config', `${keep.product} with codec ${id}: containers are written with ${COMPRESSIONS.join(', ')}`);
  }
  return id as Compression;
}

/** Opens the container a kept product goes into, on the first tier of its lifecycle. */
export async function openProductWriter(keep: KeepSpec, first: SourceFrame, ctx: WriterContext): Promise<ProductWriter> {
  const tier = keep.lifecycle[0].tier;
  const relPath = join(ctx.runDir, `${keep.product}-${String(ctx.nextSequence(keep.product)).padStart(5, '0')}.h5`);
  const location = join(ctx.tierPath(tier), relPath);
  switch (keep.product) {
    case 'raw': {
      const file = await AtomicFile.create(location);
      const writer = await CxiContainerWriter.create(file.tmpPath, {
        height: first.height, width: first.width, pixelType: first.pixelType, compression: compressionOf(keep), product: 'raw', geometry: ctx.geometryText,
      });
      return new RawWriter(keep, relPath, location, file, writer);
    }
    default:
      throw new SxError('config', `product ${keep.product} cannot be written to a container yet`);
  }
}
