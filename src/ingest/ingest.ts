import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkExperimentName, type BatchContainer, type BatchDecision, type Catalog, type NewExperiment, type NewFrame } from '../catalog/catalog.ts';
import type { Facility } from '../config/facility.ts';
import { frameLayoutOf } from '../core/label-files.ts';
import { LabelPool } from '../core/label-pool.ts';
import type { FrameLabels } from '../core/labels.ts';
import { encodePeaks } from '../core/peak-blob.ts';
import { DEFAULT_PEAKFINDER_PARAMS, type PeakFinderParams } from '../core/peakfinder8.ts';
import { isSxError, SxError } from '../errors.ts';
import { parseGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import { checkApplies, decide, isPending } from '../policy/engine.ts';
import { loadPolicy } from '../policy/load.ts';
import type { Decision, ExperimentFacts, FrameFacts, Policy } from '../policy/types.ts';
import { ResultsStore } from '../results/results-store.ts';
import type { PixelArray } from '../store/hdf5.ts';
import { openFrameSource, type FrameLayout, type FrameSource } from './hdf5-source.ts';
import { CATALOG_PRODUCTS, checkContainerCodecs, openProductWriter, writerKey, type ProductWriter, type SourceFrame } from './product-writers.ts';

export const POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

/** A shipped policy by name (`hits-only`), or a policy file. */
export function resolvePolicyFile(nameOrFile: string): string {
  const shipped = join(POLICIES_DIR, `${nameOrFile}.yaml`);
  if (/^[a-z0-9-]+$/.test(nameOrFile) && existsSync(shipped)) return shipped;
  return resolve(nameOrFile);
}

export interface IngestOptions {
  files: string[];
  experiment: NewExperiment;
  geometryFile?: string;
  /** Where the frames are in each file; default: the geometry's data path, else the known paths and NXmx series. */
  layout?: FrameLayout;
  /** Peak-finder settings over the defaults; frames are labelled when a geometry is given. */
  peakFinder?: Partial<PeakFinderParams>;
  /** Retention policy: a shipped name or a file; default the facility's `ingest.policy`. */
  policy?: string;
  facility: Facility;
  catalog: Catalog;
  onFrame?: (done: number, total: number) => void;
}

export interface WrittenContainer {
  path: string;
  product: string;
  tier: string;
  frames: number;
  bytes: number;
  sha256: string;
}

/** A frame ingest could not read (not archived) or label (archived without labels): reported, never fatal. */
export interface SkippedFrame {
  file: string;
  event: string;
  error: string;
}

export interface IngestResult {
  experiment: string;
  run: number;
  policy: { name: string; version: number; contentHash: string };
  /** Frames recorded in the catalog (every readable frame; labels are always kept). */
  frames: number;
  labelled: number;
  hits: number;
  /** Frames per rule that decided them. */
  rules: Record<string, number>;
  rawBytes: number;
  storedBytes: number;
  containers: WrittenContainer[];
  skipped: SkippedFrame[];
  unlabelled: SkippedFrame[];
}

interface Labelling {
  geometryFile: string;
  geometryText: string;
  geometry: Geometry;
  layout: FrameLayout;
  pool: LabelPool;
  params: PeakFinderParams;
}

function startLabelling(geometryFile: string, params: PeakFinderParams): Labelling {
  const file = resolve(geometryFile);
  let geometryText: string;
  try {
    geometryText = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SxError('input', `${file}: cannot read geometry: ${(err as Error).message}`, { cause: err });
  }
  const geometry = parseGeometry(geometryText, file);
  return { geometryFile: file, geometryText, geometry, layout: frameLayoutOf(geometry), pool: new LabelPool({ geometryFile: file, params }), params };
}

type ResultLookup = (source: string, event: string) => { indexed: boolean; nCrystals: number } | undefined;

/**
 * Indexing results in the catalog (import-stream, possibly still following) for a frame: by
 * file and event, else by file name and event when only one file of that name has one.
 */
function resultLookup(catalog: Catalog, experimentId: number): ResultLookup {
  const query = catalog.db.prepare('SELECT source, indexed, n_crystals FROM results WHERE experiment_id = ? AND event = ? AND indexed IS NOT NULL');
  return (source, event) => {
    const rows = query.all(experimentId, event) as { source: string; indexed: number; n_crystals: number | null }[];
    const exact = rows.find((r) => r.source === source);
    const named = rows.filter((r) => basename(r.source) === basename(source));
    const r = exact ?? (named.length === 1 ? named[0] : undefined);
    return r && { indexed: r.indexed === 1, nCrystals: r.n_crystals ?? 0 };
  };
}

/**
 * Frames a results-gated rule holds in memory while they wait for their indexing result; past
 * this, the oldest takes the gate's timeout rule at once (a daemon would stage them on a tier).
 */
export const MAX_PENDING_BYTES = 1 << 30;
const RESULT_POLL_MS = 500;

/** One frame on its way: read, being labelled, then decided and written. */
interface InFlight {
  source: SourceFrame;
  frame: NewFrame;
  labels?: Promise<FrameLabels | SkippedFrame>;
  /** When the frame was read: its gate timeout runs from here. */
  arrived: Date;
}

/**
 * Records every readable frame of `files` in the catalog, labels it (with a geometry, on all
 * cores) and keeps what the retention policy decides, in containers on the tiers its lifecycle
 * starts on. Under a results-gated rule a frame without its indexing result waits (in memory,
 * up to MAX_PENDING_BYTES) until the result reaches the catalog (import-stream --follow) or the
 * gate's timeout passes, then takes the gate's timeout rule. Each batch's containers
 * are complete on disk (fsynced, checksummed) before the catalog records them with their frames
 * and decisions, in one transaction.
 */
export async function ingest(options: IngestOptions): Promise<IngestResult> {
  const { catalog, facility } = options;
  checkExperimentName(options.experiment.name);
  const policy = loadPolicy(resolvePolicyFile(options.policy ?? facility.config.ingest.policy), facility.config);
  checkContainerCodecs(policy);
  const labelling = options.geometryFile === undefined ? undefined : startLabelling(options.geometryFile, { ...DEFAULT_PEAKFINDER_PARAMS, ...options.peakFinder });
  const sources: FrameSource[] = [];
  try {
    const layout = options.layout ?? labelling?.layout;
    for (const file of options.files) sources.push(await openFrameSource(resolve(file), layout));
    const policyId = catalog.registerPolicy(policy.name, policy.version, policy.text, policy.contentHash);
    const experiment = catalog.ensureExperiment({
      ...options.experiment,
      metadata: { ...options.experiment.metadata, ...(labelling ? { geometry_file: labelling.geometryFile } : {}) },
    });
    const experimentFacts: ExperimentFacts = { name: experiment.name, facility: experiment.facility, proposal: experiment.proposal, sampleTags: experiment.sampleTags };
    checkApplies(policy, experimentFacts);
    const run = catalog.createRun(experiment.id, {
      policy: { name: policy.name, version: policy.version, content_hash: policy.contentHash },
      ...(labelling ? { geometry_file: labelling.geometryFile, peakfinder8: labelling.params } : {}),
    });
    const results = resultLookup(catalog, experiment.id);
    const result: IngestResult = {
      experiment: experiment.name, run: run.number, policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash },
      frames: 0, labelled: 0, hits: 0, rules: {}, rawBytes: 0, storedBytes: 0, containers: [], skipped: [], unlabelled: [],
    };
    const sequences = new Map<string, number>();
    const writerContext = {
      tierPath: facility.tierPath,
      runDir: join(experiment.name, `run-${String(run.number).padStart(4, '0')}`),
      nextSequence: (product: string) => {
        const n = (sequences.get(product) ?? 0) + 1;
        sequences.set(product, n);
        return n;
      },
      geometryText: labelling?.geometryText,
      geometry: labelling?.geometry,
    };
    const batch = new BatchWriter(catalog, run.id, policyId, policy, experimentFacts, writerContext, result, results);
    const total = sources.reduce((n, s) => n + s.count, 0);
    const maxFrames = facility.config.containers.max_frames;
    const window: InFlight[] = [];
    const windowSize = labelling ? 2 * labelling.pool.size : 1;
    let done = 0;
    try {
      for (const source of sources) {
        for (let index = 0; index < source.count; index++) {
          const event = source.event(index);
          options.onFrame?.(++done, total);
          let pixels: PixelArray;
          try {
            pixels = source.read(index);
          } catch (err) {
            if (!isSxError(err)) throw err;
            result.skipped.push({ file: source.file, event, error: err.message });
            continue;
          }
          const frame: NewFrame = { source: source.file, event, width: source.width, height: source.height, pixelType: source.pixelType, rawBytes: pixels.byteLength };
          frame.results = results(source.file, event);
          const item: InFlight = { source: { pixels, width: source.width, height: source.height, pixelType: source.pixelType, meta: { source: source.file, event } }, frame, arrived: new Date() };
          // The worker gets a copy: the pixels are still needed for the products.
          if (labelling) item.labels = labelling.pool.label(pixels.slice(), `${source.file} event ${event}`).catch((err: Error) => ({ file: source.file, event, error: err.message }));
          window.push(item);
          if (window.length >= windowSize) await batch.add(window.shift()!);
          await batch.settlePending();
          if (batch.size >= maxFrames) await batch.flush();
        }
      }
      while (window.length > 0) await batch.add(window.shift()!);
      await batch.drainPending();
      await batch.flush();
    } catch (err) {
      await batch.abort();
      throw err;
    }
    new ResultsStore(catalog, experiment.id).linkNewFrames();
    return result;
  } finally {
    for (const s of sources) s.close();
    await labelling?.pool.close();
  }
}

/** Frames of one batch, their decisions and the containers their products go into. */
class BatchWriter {
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
    private readonly context: Parameters<typeof openProductWriter>[2],
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
