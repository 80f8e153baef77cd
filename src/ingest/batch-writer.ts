// One batch of ingest: frames in, decisions made (holding gated frames for their results),
// products written to containers, and everything recorded in the catalog in one transaction.
import type { BatchContainer, BatchDecision, Catalog, NewFrame } from '../catalog/catalog.ts';
import type { FrameLabels } from '../core/labels.ts';
import { encodePeaks } from '../core/peak-blob.ts';
import { SxError } from '../errors.ts';
import { decide, isPending } from '../policy/engine.ts';
import type { Decision, ExperimentFacts, FrameFacts, Policy } from '../policy/types.ts';
import type { IngestResult, SkippedFrame } from './ingest.ts';
import { CATALOG_PRODUCTS, openProductWriter, writerKey, type ProductWriter, type SourceFrame, type WriterContext } from './product-writers.ts';

export type ResultLookup = (source: string, event: string) => { indexed: boolean; nCrystals: number } | undefined;

/**
 * Frames a results-gated rule holds in memory while they wait for their indexing result; past
 * this, the oldest takes the gate's timeout rule at once (a daemon would stage them on a tier).
 */
export const MAX_PENDING_BYTES = 1 << 30;
const RESULT_POLL_MS = 500;

/** One frame on its way: read, being labelled, then decided and written. */
export interface InFlight {
  source: SourceFrame;
  frame: NewFrame;
  labels?: Promise<FrameLabels | SkippedFrame>;
  /** When the frame was read: its gate timeout runs from here. */
  arrived: Date;
}

/** Frames of one batch, their decisions and the containers their products go into. */
export class BatchWriter {
  private frames: NewFrame[] = [];
  private decisions: (BatchDecision & { writer?: string })[] = [];
  private writers = new Map<string, ProductWriter>();
  /** Frames held by the gate, oldest first. */
  private pending: { item: InFlight; until: Date }[] = [];
  private pendingBytes = 0;
  private lastPoll = 0;

  constructor(
    private readonly catalog: Catalog,
    private readonly runId: number,
    private readonly policyId: number,
    private readonly policy: Policy,
    private readonly experiment: ExperimentFacts,
    private readonly context: WriterContext,
    private readonly result: IngestResult,
    private readonly results: ResultLookup,
  ) {}

  get size(): number {
    return this.frames.length;
  }

  async add(item: InFlight): Promise<void> {
    const { frame } = item;
    const labels = item.labels && (await item.labels);
    if (labels && 'error' in labels) {
      this.result.unlabelled.push(labels);
    } else if (labels) {
      frame.labels = { hit: labels.hit, nPeaks: labels.nPeaks, resolution: labels.resolution, peaks: encodePeaks(labels.peaks) };
      item.source.peaks = labels.peaks;
      this.result.labelled += 1;
      if (labels.hit) this.result.hits += 1;
    }
    const decision = decide(this.policy, this.experiment, frameFacts(this.experiment.name, frame), { now: new Date(), frameTime: item.arrived });
    if (!isPending(decision)) return this.keep(item, decision);
    this.pending.push({ item, until: decision.until });
    this.pendingBytes += item.source.pixels.byteLength;
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

  /** At the end of the input: waits until every held frame has its result or its timeout. */
  async drainPending(): Promise<void> {
    while (this.pending.length > 0) {
      await new Promise((done) => setTimeout(done, RESULT_POLL_MS));
      await this.settlePending();
    }
  }

  private async release(entry: { item: InFlight; until: Date }, early: boolean): Promise<void> {
    this.pending.splice(this.pending.indexOf(entry), 1);
    this.pendingBytes -= entry.item.source.pixels.byteLength;
    // Without a frame time the engine treats a missing result as timed out.
    const decision = decide(this.policy, this.experiment, frameFacts(this.experiment.name, entry.item.frame), early ? { now: new Date() } : { now: new Date(), frameTime: entry.item.arrived });
    if (isPending(decision)) throw new SxError('catalog', `policy ${this.policy.name}: ${entry.item.frame.source} ${entry.item.frame.event} still waits after its timeout`);
    await this.keep(entry.item, decision);
  }

  private async keep(item: InFlight, decision: Decision): Promise<void> {
    const { frame } = item;
    const at = this.frames.length;
    this.frames.push(frame);
    this.result.rules[decision.rule] = (this.result.rules[decision.rule] ?? 0) + 1;
    if (decision.keep.length === 0) this.decisions.push({ frame: at, rule: decision.rule, product: 'labels', codec: 'none', tier: 'catalog' });
    for (const keep of decision.keep) {
      const tier = keep.lifecycle[0]?.tier ?? 'catalog';
      if (CATALOG_PRODUCTS.has(keep.product)) {
        this.decisions.push({ frame: at, rule: decision.rule, product: keep.product, codec: keep.codec.id, tier });
        continue;
      }
      const key = `${writerKey(keep)}:${frame.width}x${frame.height}:${frame.pixelType}`;
      let writer = this.writers.get(key);
      if (!writer) {
        writer = await openProductWriter(keep, item.source, this.context);
        this.writers.set(key, writer);
      }
      const containerIndex = writer.append(item.source);
      this.decisions.push({ frame: at, rule: decision.rule, product: keep.product, codec: keep.codec.id, tier, writer: key, containerIndex });
    }
  }

  /** Commits every container of the batch, then records the batch in one transaction. */
  async flush(): Promise<void> {
    if (this.frames.length === 0) return;
    const containers: BatchContainer[] = [];
    const order = new Map<string, number>();
    for (const [key, writer] of this.writers) {
      const written = await writer.finish();
      const days = writer.keep.lifecycle[0].days;
      order.set(key, containers.length);
      containers.push({
        container: { experimentId: 0, path: writer.relPath, product: writer.product, codec: writer.codecId, nFrames: writer.count, bytes: written.bytes, sha256: written.sha256 },
        tier: writer.tier,
        location: writer.location,
        validUntil: days == null ? null : new Date(Date.now() + days * 86_400_000).toISOString(),
      });
      this.result.storedBytes += written.bytes;
      this.result.containers.push({ path: writer.location, product: writer.product, tier: writer.tier, frames: writer.count, bytes: written.bytes, sha256: written.sha256 });
    }
    const experimentId = this.catalog.findExperiment(this.experiment.name)!.id;
    for (const c of containers) c.container.experimentId = experimentId;
    this.catalog.recordBatch({
      runId: this.runId,
      policyId: this.policyId,
      frames: this.frames,
      containers,
      decisions: this.decisions.map(({ writer, ...d }) => (writer === undefined ? d : { ...d, container: order.get(writer)! })),
    });
    this.result.frames += this.frames.length;
    this.result.rawBytes += this.frames.reduce((n, f) => n + f.rawBytes, 0);
    this.frames = [];
    this.decisions = [];
    this.writers = new Map();
  }

  async abort(): Promise<void> {
    for (const w of this.writers.values()) await w.abort();
  }
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
