// One detector series as one run of an experiment: its frames handed to the workers, decided and
// recorded as they come, and at its end a summary that adds up, frame for frame, to what the
// catalog holds for the run.
import type { Catalog } from '../catalog/catalog.ts';
import type { NewExperiment, NewFrame, StartedRun } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import type { FramePool } from '../ingest/frame-pool.ts';
import type { Labelling } from '../ingest/prepare.ts';
import { recoverExperiment, removeEmptyFolders } from '../ingest/recover.ts';
import { runDirName } from '../ingest/run-dir.ts';
import { RunFrames } from '../ingest/run-frames.ts';
import type { IngestResult } from '../ingest/types.ts';
import { frameBytes, type PixelType } from '../pixels.ts';
import type { ExperimentFacts, Policy } from '../policy/types.ts';
import { isAlive, OWNER } from '../process-owner.ts';
import { ResultsStore } from '../results/results-store.ts';
import type { DropReason } from './event-queue.ts';
import type { StreamFrame, StreamImage } from './stream-events.ts';

/** Why the series drops a frame the queue handed it (the queue's own reasons, DropReason, are counted as it drops). */
export const SERIES_DROP_REASONS = ['duplicate', 'unsupported-compression', 'undecodable-pixels'] as const;
export type FrameDropReason = DropReason | (typeof SERIES_DROP_REASONS)[number];

/** How a series ended: its end message, the next series' start (a restart), silence, or a stop; or, replayed from a killed process's spool, at the spool's end. */
export type SeriesEnding = 'end' | 'next-start' | 'timeout' | 'interrupted' | 'replayed';

export interface SeriesSummary {
  series: string;
  seriesId: number;
  experiment: string;
  run: number;
  /** Images the start message announced, when it did. */
  announced?: number;
  /** Image messages received (with a detector of several channels, each holds a frame per channel). */
  images: number;
  /** Frames recorded in the catalog: every frame received, less those dropped. */
  frames: number;
  labelled: number;
  hits: number;
  /** Frames whose indexing result (import-stream, in the catalog when they were decided) says indexed. */
  indexed: number;
  /** Frames per product kept in containers (a frame can keep several). */
  kept: Record<string, number>;
  /** Frames per rule that decided them. */
  rules: Record<string, number>;
  /** Images that waited in the spool on the staging tier (and were then processed). */
  spooled: number;
  /** Frames not recorded, per reason. */
  dropped: Partial<Record<FrameDropReason, number>>;
  /** Messages of the series that did not decode. */
  undecodable: number;
  /** Replayed from a spool: frames the catalog had already (recorded before the kill), not recorded twice. */
  alreadyRecorded: number;
  /** image_ids skipped (in the order they arrived), and images that came again or out of order (not counted in a replay, which holds only what was spooled). */
  gaps: number;
  outOfOrder: number;
  ending: SeriesEnding;
  rawBytes: number;
  storedBytes: number;
  containers: number;
}

/** What a series has recorded so far (batch by batch). */
export interface SeriesProgress {
  frames: number;
  hits: number;
  indexed: number;
  storedBytes: number;
}

export interface SeriesContext {
  catalog: Catalog;
  facility: Facility;
  policy: Policy;
  labelling?: Labelling;
  pool: FramePool;
  stageSeconds?: Record<string, number>;
  /** The stream was stopped: frames waiting for indexing results take the gate's timeout rule at once. */
  stopped: () => boolean;
}

/** A frame the size of the largest detector we know (Eiger2 16M, 32-bit), for the budget before the first image says. */
const LARGEST_FRAME = 4150 * 4371 * 4;

export class SeriesRun {
  readonly summary: SeriesSummary;
  private readonly frames: RunFrames;
  private readonly result: IngestResult;
  private readonly recorded = new Set<number>();
  private lastImage = -1;

  private constructor(
    private readonly context: SeriesContext,
    private readonly run: StartedRun,
    series: { series: string; seriesId: number; announced?: number },
    private readonly replay: boolean,
    facts: ExperimentFacts,
    largestFrame: number,
  ) {
    const { policy } = context;
    this.result = {
      experiment: run.experiment.name, run: run.number, state: 'complete', policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash },
      frames: 0, alreadyRecorded: 0, labelled: 0, hits: 0, indexed: 0, rules: {}, gateTimeouts: 0, unlabelledKept: 0, rawBytes: 0, storedBytes: 0,
      containers: [], skipped: [], unlabelled: [], badFiles: [], recovery: { runs: [], removedFiles: 0, removedBytes: 0 },
    };
    this.summary = {
      series: series.series, seriesId: series.seriesId, experiment: run.experiment.name, run: run.number, ...(series.announced !== undefined ? { announced: series.announced } : {}),
      images: 0, frames: 0, labelled: 0, hits: 0, indexed: 0, kept: {}, rules: {}, spooled: 0, dropped: {}, undecodable: 0, alreadyRecorded: 0, gaps: 0, outOfOrder: 0, ending: 'end', rawBytes: 0, storedBytes: 0, containers: 0,
    };
    this.frames = new RunFrames({ catalog: context.catalog, facility: context.facility, run, policy, facts, labelling: context.labelling, result: this.result, pool: context.pool, largestFrame, stageSeconds: context.stageSeconds });
  }

  /** Starts the series' run (after closing what dead runs of the experiment left). */
  static start(context: SeriesContext, experiment: NewExperiment, facts: ExperimentFacts, series: { series: string; seriesId: number; announced?: number; shape?: { width: number; height: number; pixelType: PixelType }; maskedPixels?: number; replay?: boolean }): SeriesRun {
    const { catalog, facility, policy, labelling } = context;
    recoverExperiment(catalog, facility, experiment.name);
    const run = catalog.startRun(
      {
        experiment,
        policy: { name: policy.name, version: policy.version, text: policy.text, contentHash: policy.contentHash },
        labelling: {
          policy: { name: policy.name, version: policy.version, content_hash: policy.contentHash }, stream: { series: series.series, series_id: series.seriesId, ...(series.replay ? { replayed_from_spool: true } : {}) },
          ...(labelling ? { geometry_file: labelling.geometryFile, peakfinder8: labelling.params } : {}),
          // Pixels the detector's mask (start message) marked bad beside the geometry's.
          ...(labelling && series.maskedPixels !== undefined ? { detector_pixel_mask: { pixels_added: series.maskedPixels } } : {}),
        },
        // Not held against other runs: receivers sharing a detector's images record one series in several runs.
        sources: [],
        owner: OWNER,
      },
      isAlive,
    );
    return new SeriesRun(context, run, series, series.replay === true, facts, series.shape ? frameBytes(series.shape) : LARGEST_FRAME);
  }

  /** Images the queue dropped (received, never in the pipeline). */
  dropped(reason: DropReason, images: number, frames: number): void {
    this.summary.images += images;
    this.drop(reason, frames);
  }

  private drop(reason: FrameDropReason, frames: number): void {
    this.summary.dropped[reason] = (this.summary.dropped[reason] ?? 0) + frames;
  }

  undecodable(): void {
    this.summary.undecodable += 1;
  }

  /**
   * Hands the image's frames to the workers (waiting while the frames in flight fill the budget);
   * a spooled image's `recorded` is called once all its frames are in the catalog.
   */
  async add(image: StreamImage, spooled?: { recorded: () => void }): Promise<void> {
    const s = this.summary;
    s.images += 1;
    if (spooled) s.spooled += 1;
    let waiting = image.frames.length + 1;
    const handled = () => {
      if (--waiting === 0) spooled?.recorded();
    };
    if (this.recorded.has(image.imageId)) {
      s.outOfOrder += 1;
      this.drop('duplicate', image.frames.length);
      spooled?.recorded();
      return;
    }
    this.recorded.add(image.imageId);
    if (!this.replay) {
      if (image.imageId > this.lastImage + 1) s.gaps += image.imageId - this.lastImage - 1;
      else if (image.imageId < this.lastImage) s.outOfOrder += 1;
    }
    this.lastImage = Math.max(this.lastImage, image.imageId);
    for (const f of image.frames) await this.addFrame(image, f, handled);
    handled();
  }

  private async addFrame(image: StreamImage, f: StreamFrame, recorded: () => void): Promise<void> {
    if (!f.chunk) {
      this.drop('unsupported-compression', 1);
      recorded();
      return;
    }
    const rawBytes = frameBytes(f);
    const frame: NewFrame = { source: image.frames.length > 1 ? `${image.series}/${f.channel}` : image.series, event: String(image.imageId), width: f.width, height: f.height, pixelType: f.pixelType, rawBytes };
    if (this.replay && this.context.catalog.frames.frameIdOf(this.run.experiment.id, frame.source, frame.event) !== undefined) {
      this.summary.alreadyRecorded += 1;
      recorded();
      return;
    }
    await this.frames.admit(rawBytes);
    await this.frames.add(frame, { width: f.width, height: f.height, pixelType: f.pixelType }, { stored: f.chunk }, recorded);
  }

  /**
   * Decides and records every frame in flight (even when stopped: they cannot be received
   * again), closes the run and returns the summary.
   */
  async finish(ending: SeriesEnding, onStatus?: (text: string) => void): Promise<SeriesSummary> {
    const { catalog, facility } = this.context;
    const { run, result, summary: s } = this;
    s.ending = ending;
    try {
      await this.frames.finish(onStatus, () => false, this.context.stopped);
    } catch (err) {
      await this.frames.abort();
      try {
        if (catalog.finishRun(run.id, 'failed', { ...this.fill(), error: (err as Error).message }, run.createdExperiment).removed) removeEmptyFolders(facility, run.experiment.name, runDirName(run.number));
      } catch {
        // The catalog may be what failed: the run stays 'running' and a later start closes it as dead.
      }
      throw err;
    }
    this.fill();
    const complete = (ending === 'end' || ending === 'replayed') && Object.keys(s.dropped).length === 0 && s.undecodable === 0 && s.gaps === 0 && result.unlabelled.length === 0;
    const state = ending === 'interrupted' ? 'interrupted' : complete ? 'complete' : 'partial';
    if (catalog.finishRun(run.id, state, { ...s }, run.createdExperiment).removed) removeEmptyFolders(facility, run.experiment.name, runDirName(run.number));
    new ResultsStore(catalog, run.experiment.id).linkNewFrames();
    return s;
  }

  private fill(): SeriesSummary {
    const { result, summary: s } = this;
    if (result.skipped.length > 0) s.dropped['undecodable-pixels'] = result.skipped.length;
    s.frames = result.frames;
    s.labelled = result.labelled;
    s.hits = result.hits;
    s.indexed = result.indexed;
    s.rules = result.rules;
    s.kept = {};
    for (const c of result.containers) s.kept[c.product] = (s.kept[c.product] ?? 0) + c.frames;
    s.rawBytes = result.rawBytes;
    s.storedBytes = result.storedBytes;
    s.containers = result.containers.length;
    return s;
  }

  get progress(): SeriesProgress {
    return { frames: this.result.frames, hits: this.result.hits, indexed: this.result.indexed, storedBytes: this.result.storedBytes };
  }

  /** Frames the worker could not decode, with why (truncated bslz4 ...), for the log. */
  get skipped(): readonly { event: string; error: string }[] {
    return this.result.skipped;
  }
}
