// What the catalog takes and gives: plain records, no SQL.

export interface NewExperiment {
  name: string;
  proposal?: string;
  facility?: string;
  sampleTags?: string[];
  metadata?: Record<string, unknown>;
}

export interface Experiment {
  id: number;
  name: string;
  proposal: string | null;
  facility: string | null;
  sampleTags: string[];
  metadata: Record<string, unknown>;
  /** Hours of beamtime, as set by hand; null: counted from the runs. */
  beamtimeHours: number | null;
  createdAt: string;
}

export interface NewFrame {
  source: string;
  event: string;
  width: number;
  height: number;
  pixelType: string;
  rawBytes: number;
  /** From the processing core, when the frame was labelled on the way in. */
  labels?: FrameLabelColumns;
  /** Indexing results already in the catalog (a stream imported before the frames). */
  results?: { indexed: boolean; nCrystals: number };
}

export interface FrameLabelColumns {
  hit: boolean;
  nPeaks: number;
  /** Å */
  resolution: number | null;
  /** Packed peak list (src/core/peak-blob.ts). */
  peaks: Buffer;
}

export interface NewContainer {
  experimentId: number;
  path: string;
  product: string;
  codec: string;
  nFrames: number;
  bytes: number;
  sha256: string;
  /** Tiers and days (null: forever) from its creation on, as the keep spec that made it says. */
  lifecycle: LifecycleSpan[];
  /** What it holds, as the keep spec says it (absent: unknown, so `policy apply` never keeps it as it is). */
  form?: ContainerForm;
}

/** A container's product, codec config and product parameters, as the keep spec that made it says. */
export interface ContainerForm {
  product: string;
  codec: { id: string; [key: string]: unknown };
  params: Record<string, number>;
}

/** One step of a container's lifecycle. */
export interface LifecycleSpan {
  tier: string;
  days: number | null;
  /** The form the data takes from this step on (a lifecycle that reduces with age). */
  as?: ContainerForm;
}

/** A container safely on its tier: its placement runs from now until `validUntil` (null: open-ended). */
export interface BatchContainer {
  container: NewContainer;
  tier: string;
  location: string;
  validUntil: string | null;
}

/** One kept product of one frame; `frame` and `container` index the batch's arrays. */
export interface BatchDecision {
  frame: number;
  rule: string;
  product: string;
  codec: string;
  tier: string;
  container?: number;
  containerIndex?: number;
}

/** Frames, the containers now holding their kept products, and every decision: recorded together. */
export interface Batch {
  runId: number;
  experimentId: number;
  policyId: number;
  frames: NewFrame[];
  containers: BatchContainer[];
  decisions: BatchDecision[];
}

export type RunState = 'running' | 'complete' | 'partial' | 'failed' | 'interrupted';

/** What `startRun` records in one transaction, after ingest has validated everything. */
export interface NewRun {
  /** Created when new; an existing experiment's metadata must match (see `metadataChanges`). */
  experiment: NewExperiment;
  policy: { name: string; version: number; text: string; contentHash: string };
  /** How the run's frames are labelled (geometry, peak-finder settings). */
  labelling?: Record<string, unknown>;
  /** The files the run ingests (absolute): no other live run of the experiment may hold one. */
  sources: string[];
  /** `host:pid` of the process: a later run tells a dead run from a live one by it. */
  owner: string;
}

export interface StartedRun {
  id: number;
  number: number;
  policyId: number;
  experiment: Experiment;
  /** Whether this run created the experiment (an empty run then removes it again). */
  createdExperiment: boolean;
}

/** A run whose process is gone: removed if it recorded no frame, else marked interrupted. */
export interface DeadRun {
  id: number;
  number: number;
  frames: number;
  removed: boolean;
}

/** One field of an experiment's metadata, as recorded and as asked for. */
export interface MetadataChange {
  field: 'proposal' | 'facility' | 'sample_tags' | 'beamtime_hours';
  recorded: string | string[] | number | null;
  given: string | string[] | number | null;
}

/** A container made from archived data (`policy apply`, a lifecycle that reduces with age) and read back, with its one copy. */
export interface DerivedContainer extends Required<NewContainer> {
  /** Counted from here: the earliest container its frames came from, so retention does not restart. */
  createdAt: string;
  tier: string;
  location: string;
  step: number;
  validUntil: string | null;
}

