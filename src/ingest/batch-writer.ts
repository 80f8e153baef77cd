// One batch of ingest: frames in, decisions made (holding gated frames for their results),
// products written to containers, and everything recorded in the catalog in one transaction.
import { rm } from 'node:fs/promises';
import type { Catalog } from '../catalog/catalog.ts';
import type { BatchContainer, BatchDecision, NewFrame } from '../catalog/types.ts';
import { encodePeaks } from '../core/peak-blob.ts';
import type { PeakList } from '../core/peakfinder8.ts';
import { decide, isPending } from '../policy/engine.ts';
import type { Decision, ExperimentFacts, FrameFacts, Policy } from '../policy/types.ts';
import type { IngestResult } from './types.ts';
import type { ContainerFrame } from '../store/cxi-container.ts';
import type { FramePool, HeldHandle, Loaded } from './frame-pool.ts';
import { addSeconds, outputBuffers, type ProductRequest, type StageSeconds } from './frame-products.ts';
import { CATALOG_PRODUCTS, openProductWriter, writerKey, type FrameShape, type ProductWriter, type WriterContext } from './product-writers.ts';

export type ResultLookup = (source: string, event: string) => { indexed: boolean; nCrystals: number } | undefined;

/**
 * Frames a results-gated rule holds in memory while they wait for their indexing result; past
 * this, the oldest takes the gate's timeout rule at once (a daemon would stage them on a tier).
 */
export const MAX_PENDING_BYTES = 1 << 30;
const RESULT_POLL_MS = 500;

/** One frame on its way: held by a worker (read, being labelled), then decided and made. */
export interface InFlight {
  frame: NewFrame;
  meta: ContainerFrame;
  shape: FrameShape;
  handle: HeldHandle;
  loaded: Promise<Loaded>;
  /** When the frame was read: its gate timeout runs from here. */
  arrived: Date;
  peaks?: PeakList;
  /** Called once the frame is in the catalog (or, unreadable, never will be). */
  recorded?: () => void;
}

export interface BatchWriterOptions {
  catalog: Pick<Catalog, 'recordBatch'>;
  run: { id: number; experimentId: number };
  policyId: number;
  policy: Policy;
  experiment: ExperimentFacts;
  writers: WriterContext;
  pool: FramePool;
  /** Where the main thread's seconds per stage go (write, finish, record), when given. */
  seconds?: StageSeconds;
  /** Called once per frame when no worker needs to hold it for a product any more (made, dropped or held by the gate). */
  settled: (item: InFlight) => void;
  /** Counts are added to it as batches are recorded. */
  result: IngestResult;
  results: ResultLookup;
}

/** The frames of one batch, their decisions, its open containers and the products being made for it. */
interface Batch {
  frames: NewFrame[];
  decisions: (BatchDecision & { writer?: string })[];
  writers: Map<string, ProductWriter>;
  /** Products being made by the workers; the first failure fails the batch. */
  making: Promise<void>[];
  makeError?: unknown;
  recorded: (() => void)[];
}

const newBatch = (): Batch => ({ frames: [], decisions: [], writers: new Map(), making: [], recorded: [] });

/** Frames in, batch by batch: their decisions, the containers their products go into, the catalog. */
export class BatchWriter {
  private batch: Batch = newBatch();
  /** The batch before, being committed while this one fills (at most one); its failure fails the next flush. */
  private committing: Promise<void> | undefined;
  private commitError: unknown;
  /** Frames held by the gate, oldest first. */
  private pending: { item: InFlight; until: Date }[] = [];
  private pendingBytes = 0;
  private lastPoll = 0;
  private readonly catalog: BatchWriterOptions['catalog'];
  private readonly run: BatchWriterOptions['run'];
  private readonly policyId: number;
  private readonly policy: Policy;
  private readonly experiment: ExperimentFacts;
  private readonly context: WriterContext;
  private readonly result: IngestResult;
  private readonly results: ResultLookup;
  private readonly pool: FramePool;
  private readonly seconds: StageSeconds | undefined;
  private readonly settled: (item: InFlight) => void;

  constructor(options: BatchWriterOptions) {
    this.catalog = options.catalog;
    this.run = options.run;
    this.policyId = options.policyId;
    this.policy = options.policy;
    this.experiment = options.experiment;
    this.context = options.writers;
    this.result = options.result;
    this.results = options.results;
    this.pool = options.pool;
    this.seconds = options.seconds;
    this.settled = options.settled;
  }

  /** Frames the gate holds for their indexing result, and until when the last of them waits. */
  get waiting(): { frames: number; until: Date } | undefined {
    if (this.pending.length === 0) return undefined;
    return { frames: this.pending.length, until: new Date(Math.max(...this.pending.map((p) => p.until.getTime()))) };
  }

  get size(): number {
    return this.batch.frames.length;
  }

  async add(item: InFlight): Promise<void> {
    // A batch that failed in the background fails the run at the next frame, not a batch later.
    if (this.commitError !== undefined) await this.committed();
    const { frame } = item;
    const loaded = await item.loaded;
    if ('unreadable' in loaded) {
      this.result.skipped.push({ file: frame.source, event: frame.event, error: loaded.unreadable });
      this.settled(item);
      item.recorded?.();
      return;
    }
    if (loaded.labelError !== undefined) {
      this.result.unlabelled.push({ file: frame.source, event: frame.event, error: loaded.labelError });
    } else if (loaded.labels) {
      const { labels } = loaded;
      frame.labels = { hit: labels.hit, nPeaks: labels.nPeaks, resolution: labels.resolution, peaks: encodePeaks(labels.peaks) };
      item.peaks = labels.peaks;
      this.result.labelled += 1;
      if (labels.hit) this.result.hits += 1;
    }
    const decision = decide(this.policy, this.experiment, frameFacts(this.experiment.name, frame), { now: new Date(), frameTime: item.arrived });
    if (!isPending(decision)) return this.keep(item, decision);
    this.pending.push({ item, until: decision.until });
    this.pendingBytes += frame.rawBytes;
    // The worker keeps holding it; its bytes count against MAX_PENDING_BYTES instead.
    this.settled(item);
    // Bounded: past the limit the oldest waiting frame is decided as timed out now.
    while (this.pendingBytes > MAX_PENDING_BYTES) await this.release(this.pending[0], true);
  }

  /** Decides the waiting frames whose result has arrived or whose time is up (polled, not every frame). */
  async settlePending(): Promise<void> {
    if (this.pending.length === 0 || Date.now() - this.lastPoll < RESULT_POLL_MS) return;
    this.lastPoll = Date.now();
    for (const entry of [...this.pending]) {
      const { frame } = entry.item;
      frame.results ??= this.results(frame.source, frame.event);
      if (frame.results || Date.now() >= entry.until.getTime()) await this.release(entry, false);
    }
  }

  /** At the end of the input: waits until every held frame has its result or its timeout (or `stop` says to stop). */
  async drainPending(onWait: () => void, stop: () => boolean): Promise<void> {
    while (this.pending.length > 0 && !stop()) {
      onWait();
      await new Promise((done) => setTimeout(done, RESULT_POLL_MS));
      await this.settlePending();
    }
  }

  /** Decides every waiting frame now by the gate's timeout rule (a stop that cannot wait for results). */
  async releasePending(): Promise<void> {
    while (this.pending.length > 0) await this.release(this.pending[0], true);
  }

  private async release(entry: { item: InFlight; until: Date }, early: boolean): Promise<void> {
    this.pending.splice(this.pending.indexOf(entry), 1);
    this.pendingBytes -= entry.item.frame.rawBytes;
    // Without a frame time the engine treats a missing result as timed out.
    const decision = decide(this.policy, this.experiment, frameFacts(this.experiment.name, entry.item.frame), early ? { now: new Date() } : { now: new Date(), frameTime: entry.item.arrived });
    if (isPending(decision)) throw new Error(`policy ${this.policy.name}: ${entry.item.frame.source} ${entry.item.frame.event} still waits after its timeout`);
    await this.keep(entry.item, decision);
  }

  private async keep(item: InFlight, decision: Decision): Promise<void> {
    const { frame } = item;
    const batch = this.batch;
    const at = batch.frames.length;
    batch.frames.push(frame);
    if (item.recorded) batch.recorded.push(item.recorded);
    this.result.rules[decision.rule] = (this.result.rules[decision.rule] ?? 0) + 1;
    if (frame.results?.indexed) this.result.indexed += 1;
    if (decision.via === 'gate-timeout') this.result.gateTimeouts += 1;
    if (decision.via === 'unlabelled') this.result.unlabelledKept += 1;
    if (decision.keep.length === 0) batch.decisions.push({ frame: at, rule: decision.rule, product: 'labels', codec: 'none', tier: 'catalog' });
    const requests: ProductRequest[] = [];
    const into: { writer: ProductWriter; index: number }[] = [];
    for (const keep of decision.keep) {
      const tier = keep.lifecycle[0]?.tier ?? 'catalog';
      if (CATALOG_PRODUCTS.has(keep.product)) {
        batch.decisions.push({ frame: at, rule: decision.rule, product: keep.product, codec: keep.codec.id, tier });
        continue;
      }
      const key = `${writerKey(keep)}:${frame.width}x${frame.height}:${frame.pixelType}`;
      let writer = batch.writers.get(key);
      if (!writer) {
        writer = await openProductWriter(keep, item.shape, this.context);
        batch.writers.set(key, writer);
      }
      const containerIndex = writer.reserve(item.meta, frame.rawBytes);
      requests.push(writer.request());
      into.push({ writer, index: containerIndex });
      batch.decisions.push({ frame: at, rule: decision.rule, product: keep.product, codec: keep.codec.id, tier, writer: key, containerIndex });
    }
    if (requests.length === 0) {
      this.pool.drop(item.handle);
      this.settled(item);
      return;
    }
    const made = this.pool
      .make(item.handle, requests)
      .then((outputs) => {
        const start = performance.now();
        outputs.forEach((output, i) => into[i].writer.put(into[i].index, output, item.peaks));
        addSeconds(this.seconds, 'write (direct chunk, main thread)', start);
        // Written (ProductWriter.put keeps none of them): the worker fills them again.
        this.pool.recycle(item.handle, outputBuffers(outputs));
      })
      .catch((err: unknown) => {
        batch.makeError ??= err;
      })
      .finally(() => this.settled(item));
    batch.making.push(made);
  }

  /**
   * Starts committing the batch (as `flush` does) and starts the next one at once, so that the
   * workers go on while its containers are read back and recorded. Waits first for the batch
   * before it, so at most one is being committed; a failure of that one is thrown here.
   */
  async flushInBackground(): Promise<void> {
    await this.committed();
    if (this.batch.frames.length === 0) return;
    const batch = this.batch;
    this.batch = newBatch();
    this.committing = this.commit(batch).catch((err: unknown) => {
      this.commitError = err;
    });
  }

  /** Commits the batch, after the one being committed in the background (see `commit`). */
  async flush(): Promise<void> {
    await this.flushInBackground();
    await this.committed();
  }

  /** Waits for the batch being committed in the background; throws its failure. */
  private async committed(): Promise<void> {
    await this.committing;
    this.committing = undefined;
    const err = this.commitError;
    this.commitError = undefined;
    if (err !== undefined) throw err;
  }

  /**
   * Commits every container of `batch` (each read back first), once all its products are made,
   * then records the batch in one transaction. If any of it fails, the batch's files are removed
   * and nothing of it is recorded.
   */
  private async commit(batch: Batch): Promise<void> {
    const containers: BatchContainer[] = [];
    const order = new Map<string, number>();
    const committed: string[] = [];
    try {
      await Promise.all(batch.making);
      if (batch.makeError !== undefined) throw batch.makeError;
      let start = performance.now();
      for (const [key, writer] of batch.writers) {
        const written = await writer.finish();
        committed.push(written.path);
        const [first] = writer.keep.lifecycle;
        // On the staging tier instead of its first tier (tape, S3): due to move at once.
        const days = writer.tier === first.tier ? first.days : 0;
        order.set(key, containers.length);
        containers.push({
          container: {
            experimentId: this.run.experimentId, path: writer.relPath, product: writer.product, codec: writer.codecId,
            nFrames: writer.count, bytes: written.bytes, sha256: written.sha256, lifecycle: writer.keep.lifecycle,
            form: { product: writer.keep.product, codec: writer.keep.codec, params: writer.keep.params },
          },
          tier: writer.tier,
          location: writer.location,
          validUntil: days == null ? null : new Date(Date.now() + days * 86_400_000).toISOString(),
        });
      }
      start = addSeconds(this.seconds, 'finish containers (close, read back, fsync, rename)', start);
      this.catalog.recordBatch({
        runId: this.run.id,
        experimentId: this.run.experimentId,
        policyId: this.policyId,
        frames: batch.frames,
        containers,
        decisions: batch.decisions.map(({ writer, ...d }) => (writer === undefined ? d : { ...d, container: order.get(writer)! })),
      });
      addSeconds(this.seconds, 'record (catalog)', start);
    } catch (err) {
      await abortBatch(batch);
      // Renamed into place but not recorded: nothing refers to these files.
      for (const path of committed) await rm(path, { force: true });
      throw err;
    }
    for (const c of containers) {
      this.result.storedBytes += c.container.bytes;
      this.result.containers.push({ path: c.location, product: c.container.product, tier: c.tier, frames: c.container.nFrames, bytes: c.container.bytes, sha256: c.container.sha256 });
    }
    this.result.frames += batch.frames.length;
    this.result.rawBytes += batch.frames.reduce((n, f) => n + f.rawBytes, 0);
    for (const recorded of batch.recorded) recorded();
  }

  /**
   * Drops the batch that is filling: its open containers' files are removed, the frames held for
   * it are let go. A batch being committed in the background is waited for (and recorded if it
   * can be: its frames are whole).
   */
  async abort(): Promise<void> {
    await this.committing;
    this.committing = undefined;
    this.commitError = undefined;
    await abortBatch(this.batch);
    this.batch = newBatch();
    for (const { item } of this.pending) this.pool.drop(item.handle);
    this.pending = [];
    this.pendingBytes = 0;
  }
}

async function abortBatch(batch: Batch): Promise<void> {
  await Promise.all(batch.making);
  for (const w of batch.writers.values()) await w.abort();
}

function frameFacts(experiment: string, f: NewFrame): FrameFacts {
  return {
    frameId: 0,
    experiment,
    source: f.source,
    event: f.event,
    hit: f.labels ? f.labels.hit : null,
    nPeaks: f.labels ? f.labels.nPeaks : null,
    indexed: f.results?.indexed ?? null,
    nCrystals: f.results?.nCrystals ?? null,
    resolution: f.labels?.resolution ?? null,
    rawBytes: f.rawBytes,
    width: f.width,
    height: f.height,
    pixelType: f.pixelType,
  };
}
