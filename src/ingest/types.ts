// What ingest reports: shared by the pipeline (ingest.ts) and its batches (batch-writer.ts).
import type { Catalog } from '../catalog/catalog.ts';
import type { DeadRun, NewExperiment, RunState } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import type { PeakFinderParams } from '../core/peakfinder8.ts';
import type { FrameLayout } from '../frames/hdf5-source.ts';
import type { StageSeconds } from './frame-products.ts';

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
  /** What ingest is doing when it is not reading frames (waiting for indexing results). */
  onStatus?: (text: string) => void;
  /** Aborted (SIGINT, SIGTERM): the current batch is dropped, the run is marked interrupted. */
  signal?: AbortSignal;
  /** Filled with the seconds spent per stage of the frame path (workers' stages summed over threads), for `npm run bench`. */
  stageSeconds?: StageSeconds;
}

export interface WrittenContainer {
  path: string;
  product: string;
  tier: string;
  frames: number;
  bytes: number;
  sha256: string;
}

/** A frame ingest could not read (not archived) or label (archived raw by the unlabelled rule): reported, never fatal. */
export interface SkippedFrame {
  file: string;
  event: string;
  error: string;
}

/** A file that could not be opened: reported, and the other files are ingested. */
export interface BadFile {
  file: string;
  error: string;
}

/** What a start-up cleaned after runs whose process is gone. */
export interface Recovery {
  runs: DeadRun[];
  /** Temporary files of dead processes, and containers written but never recorded, removed. */
  removedFiles: number;
  removedBytes: number;
}

export interface IngestResult {
  experiment: string;
  /** The run's number; null when every frame was recorded already (no run is made). */
  run: number | null;
  /** complete, or partial when frames or files could not be read or labelled. */
  state: Extract<RunState, 'complete' | 'partial'>;
  policy: { name: string; version: number; contentHash: string };
  /** Frames recorded in the catalog by this run (every readable frame; labels are always kept). */
  frames: number;
  /** Frames of these files the experiment had recorded already: not read, decided or stored again. */
  alreadyRecorded: number;
  labelled: number;
  hits: number;
  /** Frames whose indexing result (in the catalog when they were decided) says indexed. */
  indexed: number;
  /** Frames per rule that decided them. */
  rules: Record<string, number>;
  /** Frames decided by the gate's on_timeout rule because their indexing result did not come in time. */
  gateTimeouts: number;
  /** Frames without labels, decided by the policy's unlabelled rule (kept raw by default). */
  unlabelledKept: number;
  rawBytes: number;
  storedBytes: number;
  containers: WrittenContainer[];
  skipped: SkippedFrame[];
  /** Frames whose labelling failed (kept by the unlabelled rule). */
  unlabelled: SkippedFrame[];
  badFiles: BadFile[];
  recovery: Recovery;
}
