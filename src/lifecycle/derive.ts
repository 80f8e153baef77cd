// Products made from data already archived: frames read from their kept raw containers (from
// any tier; copies not on a file system are staged first) and written into new containers of
// another form, each read back before it is recorded. `policy apply` and lifecycles that reduce
// the data with age make their reductions here.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DerivedContainer } from '../catalog/types.ts';
import { decodePeaks } from '../core/peak-blob.ts';
import { SxError } from '../errors.ts';
import { parseGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import { buildPixelMap } from '../core/pixel-map.ts';
import { openHdf5File } from '../frames/hdf5-read.ts';
import { openFrameSource, type FrameSource } from '../frames/hdf5-source.ts';
import { heldPixels, makeProduct } from '../ingest/frame-products.ts';
import { openProductWriter, type ProductWriter, type WriterContext } from '../ingest/product-writers.ts';
import type { KeepSpec } from '../policy/types.ts';
import { readContainerMeta, type ContainerFrame } from '../store/cxi-container.ts';
import { cheapestToRead, localCopy, type LifecycleContext } from './context.ts';

/** One frame to write: where its raw data is kept now, and the rule that keeps it. */
export interface DeriveFrame {
  frameId: number;
  rule: string;
  containerId: number;
  index: number;
}

/** Frames that go into containers of one form on one tier. */
export interface DeriveGroup {
  keep: KeepSpec;
  /** The filesystem tier the containers are written to, and the lifecycle step they are on there. */
  tier: string;
  step: number;
  validUntil: string | null;
  /** The containers' creation time (the earliest of their sources'): their lifecycle counts from it. */
  createdAt: string;
  frames: DeriveFrame[];
}

/** A frame as it went into a new container: its decision names that container from the switch on. */
export interface DerivedMember {
  frameId: number;
  rule: string;
  product: string;
  codec: string;
  tier: string;
  containerIndex: number;
}

/** Where new containers go and how they are recorded. */
export interface DeriveSink {
  experimentId: number;
  /** `EXPERIMENT/apply-0001`: the folder, on the tier, of the new containers. */
  dir: string;
  maxFrames: number;
  /** Paths recorded in `dir` already: new containers are numbered after them, what else is there is a leftover. */
  recorded: () => Set<string>;
  /** Each new container, once it is read back and in place, with its frames: recorded in one transaction. */
  record: (c: DerivedContainer, members: DerivedMember[]) => void;
}

/** An open source container: its frames and what its file says about them. */
interface OpenSource {
  frames: FrameSource;
  meta: ContainerFrame[];
  geometry?: Geometry;
  /** The geometry's never-usable pixels (binning excludes them), built on first use. */
  staticMask: () => Uint8Array | undefined;
  done: () => Promise<void>;
}

/**
 * Removes what a killed application left in its folders and did not record: temporary files
 * and containers renamed into place whose record never committed.
 */
export async function removeUnrecorded(ctx: Pick<LifecycleContext, 'facility'>, target: DeriveSink): Promise<number> {
  const recorded = target.recorded();
  let removed = 0;
  for (const [name, tier] of Object.entries(ctx.facility.config.tiers)) {
    if (tier.kind !== 'filesystem') continue;
    const dir = join(ctx.facility.tierPath(name), target.dir);
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (recorded.has(join(target.dir, entry))) continue;
      await rm(join(dir, entry), { force: true });
      removed += 1;
    }
  }
  return removed;
}

/**
 * Writes a group's frames into containers of its form (at most `maxFrames` each), reading each
 * frame from its raw container. Every container is read back (frame count, every frame's bytes)
 * and renamed into place before `record` is called with it; a failure removes the container
 * being written and records nothing of it.
 */
export async function writeDerived(
  ctx: Pick<LifecycleContext, 'facility' | 'tiers' | 'store' | 'signal'>,
  target: DeriveSink,
  group: DeriveGroup,
  onFrame: () => void,
): Promise<DerivedContainer[]> {
  const frames = [...group.frames].sort((a, b) => a.containerId - b.containerId || a.index - b.index);
  const peaks = group.keep.product === 'peaks' ? ctx.store.framePeaks(frames.map((f) => f.frameId)) : new Map<number, Buffer>();
  const written: DerivedContainer[] = [];
  const sequence = nextSequence(target.recorded(), target.dir);
  let source: { containerId: number; open: OpenSource } | undefined;
  let writer: ProductWriter | undefined;
  let members: DerivedMember[] = [];
  const finish = async () => {
    if (!writer) return;
    const w = writer;
    writer = undefined;
    const file = await w.finish();
    const c: DerivedContainer = {
      experimentId: target.experimentId, path: w.relPath, product: w.product, codec: w.codecId, nFrames: w.count, bytes: file.bytes, sha256: file.sha256,
      createdAt: group.createdAt, lifecycle: group.keep.lifecycle, form: { product: group.keep.product, codec: group.keep.codec, params: group.keep.params },
      tier: group.tier, location: w.location, step: group.step, validUntil: group.validUntil,
    };
    target.record(c, members);
    written.push(c);
    members = [];
  };
  try {
    for (const f of frames) {
      if (ctx.signal?.aborted) throw new SxError('interrupted', 'interrupted: what was written so far is recorded; run the same command again to continue');
      if (source?.containerId !== f.containerId) {
        await source?.open.done();
        source = undefined;
        source = { containerId: f.containerId, open: await openSource(ctx, f.containerId) };
      }
      const open = source.open;
      const { width, height, pixelType } = open.frames;
      const frame = heldPixels(open.frames.read(f.index), width, height);
      const meta = open.meta[f.index] ?? { source: '', event: open.frames.event(f.index) };
      const blob = peaks.get(f.frameId);
      if (blob) frame.peaks = decodePeaks(blob);
      if (!writer) writer = await openProductWriter(group.keep, { width, height, pixelType }, writerContext(ctx, target, group.tier, sequence, open.geometry));
      const index = writer.reserve(meta, frame.pixels.byteLength);
      writer.put(index, await makeProduct(frame, writer.request(), open.staticMask(), `${meta.source} event ${meta.event}`), frame.peaks);
      members.push({ frameId: f.frameId, rule: f.rule, product: group.keep.product, codec: group.keep.codec.id, tier: group.keep.lifecycle[0].tier, containerIndex: index });
      onFrame();
      if (writer.count >= target.maxFrames) await finish();
    }
    await finish();
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await source?.open.done();
  }
  return written;
}

function writerContext(ctx: Pick<LifecycleContext, 'facility'>, target: DeriveSink, tier: string, sequence: (product: string) => number, geometry?: Geometry): WriterContext {
  return {
    tierPath: ctx.facility.tierPath,
    writeTier: () => tier,
    runDir: target.dir,
    nextSequence: sequence,
    ...(geometry ? { geometry } : {}),
  };
}

/** Numbers new containers after those the application has recorded (`raw-00003.h5` -> 4). */
function nextSequence(recorded: Set<string>, dir: string): (product: string) => number {
  const last = new Map<string, number>();
  for (const path of recorded) {
    const m = /^(\w+)-(\d+)\.h5$/.exec(path.slice(dir.length + 1));
    if (m) last.set(m[1], Math.max(last.get(m[1]) ?? 0, Number(m[2])));
  }
  return (product) => {
    const n = (last.get(product) ?? 0) + 1;
    last.set(product, n);
    return n;
  };
}

async function openSource(ctx: Pick<LifecycleContext, 'facility' | 'tiers' | 'store'>, containerId: number): Promise<OpenSource> {
  const copies = cheapestToRead(ctx.store.livePlacements({ containerId }), (tier) => ctx.facility.config.tiers[tier]?.kind);
  if (copies.length === 0) throw new SxError('catalog', `container ${containerId} has no copy that holds data any more`);
  const local = await localCopy(ctx, copies[0]);
  try {
    const { file } = await openHdf5File(local.file);
    let meta;
    try {
      meta = readContainerMeta(file);
    } finally {
      file.close();
    }
    const frames = await openFrameSource(local.file);
    const geometry = meta.geometry === undefined ? undefined : parseGeometry(meta.geometry, `${copies[0].path} (its geometry)`);
    let mask: Uint8Array | undefined;
    return {
      frames, meta: meta.frames, ...(geometry ? { geometry } : {}),
      staticMask: () => (geometry ? (mask ??= buildPixelMap(geometry).bad) : undefined),
      done: async () => {
        frames.close();
        await local.done();
      },
    };
  } catch (err) {
    await local.done();
    throw err;
  }
}
