// The frames of one run on their way: handed to the workers (read, decoded, labelled), decided in
// order, made into their products and recorded batch by batch, with the bytes in flight bounded.
// Shared by file ingest (ingest.ts) and the online pipeline (src/online/), which differ only in
// where a frame comes from.
import { basename, join } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { NewFrame, StartedRun } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import type { FrameLocation } from '../frames/frame-part.ts';
import type { PixelArray } from '../pixels.ts';
import type { ExperimentFacts, Policy } from '../policy/types.ts';
import { BatchWriter, type InFlight, type ResultLookup } from './batch-writer.ts';
import { describeUnreadable, type FramePool, type StoredChunk } from './frame-pool.ts';
import type { StageSeconds } from './frame-products.ts';
import type { Labelling } from './prepare.ts';
import type { FrameShape } from './product-writers.ts';
import { runDirName } from './run-dir.ts';
import type { IngestResult } from './types.ts';

/**
 * Indexing results in the catalog (import-stream, possibly still following) for a frame: by
 * file and event, else by file name and event when only one file of that name has one.
 */
function resultLookup(catalog: Catalog, experimentId: number): ResultLookup {
  return (source, event) => {
    const rows = catalog.indexingResults(experimentId, event);
    const exact = rows.find((r) => r.source === source);
    const named = rows.filter((r) => basename(r.source) === basename(source));
    const r = exact ?? (named.length === 1 ? named[0] : undefined);
    return r && { indexed: r.indexed, nCrystals: r.nCrystals };
  };
}

/** Bytes of frames read but not yet made into their products (or held by the gate): at least a window's worth. */
const IN_FLIGHT_BYTES = 512 << 20;

/** Bytes in flight: `acquire` waits until they fit (one frame always fits when none is in flight). */
class InFlightBytes {
  private used = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  async acquire(bytes: number): Promise<void> {
    while (!this.fits(bytes)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

export interface RunFramesOptions {
  catalog: Catalog;
  facility: Facility;
  run: StartedRun;
  policy: Policy;
  facts: ExperimentFacts;
  labelling?: Labelling;
  result: IngestResult;
  pool: FramePool;
  /** The largest frame of the run, in bytes: the budget holds a few per worker. */
  largestFrame: number;
  stageSeconds?: StageSeconds;
}

/** Where a worker gets a frame's pixels: a chunk in a file, pixels read here, or a stored chunk received. */
export type FrameInput = { location: FrameLocation } | { pixels: PixelArray } | { stored: StoredChunk };

const secondsLeft = (until: Date) => Math.max(0, Math.ceil((until.getTime() - Date.now()) / 1000));

export class RunFrames {
  private readonly window: InFlight[] = [];
  private readonly windowSize: number;
  private readonly budget: InFlightBytes;
  private readonly batch: BatchWriter;
  private readonly pool: FramePool;
  private readonly maxFrames: number;
  private readonly results: ResultLookup;

  constructor(options: RunFramesOptions) {
    const { catalog, facility, run, labelling, pool } = options;
    const sequences = new Map<string, number>();
    this.pool = pool;
    this.results = resultLookup(catalog, run.experiment.id);
    this.maxFrames = facility.config.containers.max_frames;
    // Frames queued per worker: enough that none runs dry while the main thread finishes a batch's
    // containers (~0.1 s at a time); large frames are held back by the byte budget first.
    this.windowSize = 8 * pool.size;
    this.budget = new InFlightBytes(Math.max(IN_FLIGHT_BYTES, (2 * pool.size + 3) * options.largestFrame));
    this.batch = new BatchWriter({
      catalog,
      run: { id: run.id, experimentId: run.experiment.id },
      policyId: run.policyId,
      policy: options.policy,
      experiment: options.facts,
      result: options.result,
      results: this.results,
      writers: {
        tierPath: facility.tierPath,
        writeTier: facility.stagingTier,
        runDir: join(run.experiment.name, runDirName(run.number)),
        nextSequence: (product: string) => {
          const n = (sequences.get(product) ?? 0) + 1;
          sequences.set(product, n);
          return n;
        },
        geometryText: labelling?.geometryText,
        geometry: labelling?.geometry,
      },
      pool,
      seconds: options.stageSeconds,
      settled: (item) => this.budget.release(item.frame.rawBytes),
    });
  }

  /** Whether a frame of `bytes` would be taken without waiting. */
  fits(bytes: number): boolean {
    return this.budget.fits(bytes) && this.window.length < this.windowSize;
  }

  /**
   * Waits until a frame of `bytes` fits the budget (the oldest frames are decided, and their
   * products made, first); the caller then reads it and `add`s it, or `cancel`s.
   */
  async admit(bytes: number): Promise<void> {
    while (!this.budget.fits(bytes) && this.window.length > 0) await this.batch.add(this.window.shift()!);
    await this.budget.acquire(bytes);
  }

  /** The admitted frame could not be read: its bytes are free again. */
  cancel(bytes: number): void {
    this.budget.release(bytes);
  }

  /** Hands an admitted frame to a worker; it is decided once the frames before it are, and `recorded` called once it is in the catalog. */
  async add(frame: NewFrame, shape: FrameShape, input: FrameInput, recorded?: () => void): Promise<void> {
    const where = `${frame.source} event ${frame.event}`;
    const { handle, loaded } = this.pool.load({ where, width: frame.width, height: frame.height, pixelType: shape.pixelType, ...input });
    frame.results = this.results(frame.source, frame.event);
    const named = 'location' in input ? describeUnreadable(loaded, frame.source, frame.event, input.location) : loaded;
    // Awaited in order by the batch; if the run fails first, the frames behind it must not count as unhandled.
    named.catch(() => undefined);
    const item: InFlight = { frame, meta: { source: frame.source, event: frame.event }, shape, handle, loaded: named, arrived: new Date(), recorded };
    // The gate's timeout runs from when the worker has read (and labelled) the frame, not from when it was queued.
    named.then(() => (item.arrived = new Date()), () => undefined);
    this.window.push(item);
    if (this.window.length >= this.windowSize) await this.batch.add(this.window.shift()!);
    await this.batch.settlePending();
    if (this.batch.size >= this.maxFrames) await this.batch.flushInBackground();
  }

  /**
   * Decides every frame still in flight, waits for the results the gate holds frames for (telling
   * `onStatus` what it waits for) unless `stopped` (nothing more is recorded) or `hurried` (the
   * waiting frames take the gate's timeout rule now), and records the last batch.
   */
  async finish(onStatus: ((text: string) => void) | undefined, stopped: () => boolean, hurried: () => boolean = () => false): Promise<void> {
    while (this.window.length > 0) {
      await this.batch.add(this.window.shift()!);
      if (this.batch.size >= this.maxFrames) await this.batch.flushInBackground();
    }
    await this.batch.drainPending(() => {
      const w = this.batch.waiting;
      if (w) onStatus?.(`waiting for the indexing results of ${w.frames} frame(s) (import-stream writes them), at most ${secondsLeft(w.until)} s more`);
    }, () => stopped() || hurried());
    if (stopped()) return;
    const w = this.batch.waiting;
    if (w) {
      onStatus?.(`stopped: ${w.frames} frame(s) waiting for their indexing results take the gate's timeout rule now`);
      await this.batch.releasePending();
    }
    await this.batch.flush();
  }

  /** Drops the batch in hand (its files removed); what was recorded stays. */
  async abort(): Promise<void> {
    await this.batch.abort();
  }
}
