// The catalog's frames as the policy engine, the dry-run, `policy explain` and the results'
// frame matcher read them: one experiment's frames in order with what holds them now, a frame
// by id or name, the byte-estimate inputs and a frame's recorded decisions. Read-only.
import type { SqlDatabase } from './sql.ts';
import { prepared } from './statements.ts';
import type { ContainerForm } from './types.ts';

/** A frame as the frames table holds it (labels 0/1, null: not labelled), with its run's number. */
export interface FrameRow {
  id: number;
  source: string;
  event: string;
  width: number;
  height: number;
  pixel_type: string;
  raw_bytes: number;
  hit: number | null;
  n_peaks: number | null;
  indexed: number | null;
  n_crystals: number | null;
  resolution: number | null;
  run: number;
}

/** A frame's share of a container that holds it now: the container's form and its bytes over its frames. */
export interface KeptShare {
  form: ContainerForm;
  bytes: number;
}

export interface FrameWithShares {
  frame: FrameRow;
  /** Empty when no container with a recorded form holds the frame now. */
  kept: readonly KeptShare[];
}

/** What the byte estimates are measured from (see src/policy/estimates.ts). */
export interface EstimateInputs {
  /** Bytes of the experiment's raw containers, and the raw bytes of the frames they hold. */
  rawContainerBytes: number;
  rawFrameBytes: number;
  /** Stored reflection bytes of every frame with a linked result. */
  intensities: { frameId: number; bytes: number }[];
}

/** One recorded decision of a frame, with the policy version that made it. */
export interface FrameDecisionRow {
  policyId: number;
  name: string;
  version: number;
  contentHash: string;
  text: string;
  rule: string;
  product: string;
  codec: string;
  tier: string;
  /** The container's path; null for a product kept in the catalog. */
  container: string | null;
  decidedAt: string;
}

/** The frame queries an open catalog answers (`catalog.frames`). */
export interface FrameQueries {
  /**
   * Every frame of the experiment in catalog order, one at a time (an experiment may have
   * millions). Nothing may write to the catalog until the iteration ends.
   */
  framesWithShares(experimentId: number): Generator<FrameWithShares>;
  frameById(experimentId: number, frameId: number): FrameRow | undefined;
  /** Frames whose event ends `spec` with something before it (`run7.h5//17` for event `//17`), by id. */
  framesWithEventEnding(experimentId: number, spec: string): FrameRow[];
  estimateInputs(experimentId: number): EstimateInputs;
  /** Most recent first. */
  frameDecisions(frameId: number): FrameDecisionRow[];
  /** The frame recorded under exactly this source and event. */
  frameIdOf(experimentId: number, source: string, event: string): number | undefined;
  /** Distinct sources of the experiment's frames with ids in (afterId, upToId]. */
  sourcesBetween(experimentId: number, afterId: number, upToId: number): IterableIterator<{ source: string }>;
  /** The highest frame id of the whole catalog (0: none). */
  lastFrameId(): number;
}

const FRAME_COLUMNS = `f.id, f.source, f.event, f.width, f.height, f.pixel_type, f.raw_bytes, f.hit, f.n_peaks, f.indexed, f.n_crystals, f.resolution, r.number AS run`;
const EXPERIMENT_FRAMES = `SELECT ${FRAME_COLUMNS} FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ? ORDER BY f.id`;
const KEPT_SHARES = `SELECT d.frame_id AS frameId, c.form, CAST(c.bytes AS REAL) / c.n_frames AS bytes
              FROM decisions d JOIN frames f ON f.id = d.frame_id JOIN runs r ON r.id = f.run_id JOIN containers c ON c.id = d.container_id
              WHERE r.experiment_id = ? AND d.superseded_by IS NULL AND c.form IS NOT NULL
                AND EXISTS (SELECT 1 FROM placements p WHERE p.container_id = c.id AND p.state IN ('active', 'verified'))
              ORDER BY d.frame_id`;
const FRAME_BY_ID = `SELECT ${FRAME_COLUMNS} FROM frames f JOIN runs r ON r.id = f.run_id WHERE f.id = ? AND r.experiment_id = ?`;
const FRAMES_WITH_EVENT_ENDING = `SELECT ${FRAME_COLUMNS} FROM frames f JOIN runs r ON r.id = f.run_id
              WHERE r.experiment_id = ? AND length(f.event) < length(?) AND substr(?, length(?) - length(f.event) + 1) = f.event
              ORDER BY f.id`;
const RAW_CONTAINER_BYTES = `SELECT COALESCE(SUM(bytes), 0) AS containerBytes FROM containers WHERE experiment_id = ? AND product = 'raw'`;
const RAW_FRAME_BYTES = `SELECT COALESCE(SUM(f.raw_bytes), 0) AS rawBytes FROM decisions d
              JOIN containers c ON c.id = d.container_id JOIN frames f ON f.id = d.frame_id
              WHERE c.experiment_id = ? AND c.product = 'raw'`;
const INTENSITIES = 'SELECT frame_id AS frameId, intensities_bytes AS bytes FROM results WHERE experiment_id = ? AND frame_id IS NOT NULL';
const FRAME_DECISIONS = `SELECT p.id AS policyId, p.name, p.version, p.content_hash AS contentHash, p.text,
                     d.rule, d.product, d.codec, d.tier, c.path AS container, d.decided_at AS decidedAt
              FROM decisions d JOIN policies p ON p.id = d.policy_id LEFT JOIN containers c ON c.id = d.container_id
              WHERE d.frame_id = ? ORDER BY d.decided_at DESC, d.id DESC`;
// `run_id IN (...)` lets SQLite use frames' (run_id, source, event) index run by run.
const FRAME_ID_OF = 'SELECT id FROM frames WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = ?) AND source = ? AND event = ?';
// Frames by rowid range (`+run_id` keeps SQLite off the run index): a refresh reads only new frames.
const SOURCES_BETWEEN = 'SELECT DISTINCT source FROM frames WHERE +run_id IN (SELECT id FROM runs WHERE experiment_id = ?) AND id > ? AND id <= ?';
const LAST_FRAME_ID = 'SELECT MAX(id) AS id FROM frames';

const NOT_KEPT: readonly KeptShare[] = [];

/** The frame queries on a SQLite catalog; `Catalog` holds one as `frames`. */
export class SqliteFrameQueries implements FrameQueries {
  constructor(private readonly db: SqlDatabase) {}

  *framesWithShares(experimentId: number): Generator<FrameWithShares> {
    const rows = prepared(this.db, EXPERIMENT_FRAMES).iterate(experimentId) as IterableIterator<FrameRow>;
    // Beside them, in the same order, each frame's share of the containers that hold it now.
    const shares = prepared(this.db, KEPT_SHARES).iterate(experimentId) as IterableIterator<{ frameId: number; form: string; bytes: number }>;
    // A few forms for millions of shares: each text is parsed once, and stays one object.
    const forms = new Map<string, ContainerForm>();
    const formOf = (text: string) => forms.get(text) ?? forms.set(text, JSON.parse(text) as ContainerForm).get(text)!;
    let share = shares.next();
    for (const frame of rows) {
      while (!share.done && share.value.frameId < frame.id) share = shares.next();
      let kept: KeptShare[] | undefined;
      for (; !share.done && share.value.frameId === frame.id; share = shares.next()) (kept ??= []).push({ form: formOf(share.value.form), bytes: share.value.bytes });
      yield { frame, kept: kept ?? NOT_KEPT };
    }
  }

  frameById(experimentId: number, frameId: number): FrameRow | undefined {
    return prepared(this.db, FRAME_BY_ID).get(frameId, experimentId) as FrameRow | undefined;
  }

  framesWithEventEnding(experimentId: number, spec: string): FrameRow[] {
    return prepared(this.db, FRAMES_WITH_EVENT_ENDING).all(experimentId, spec, spec, spec) as FrameRow[];
  }

  estimateInputs(experimentId: number): EstimateInputs {
    const { containerBytes } = prepared(this.db, RAW_CONTAINER_BYTES).get(experimentId) as { containerBytes: number };
    const { rawBytes } = prepared(this.db, RAW_FRAME_BYTES).get(experimentId) as { rawBytes: number };
    const intensities = prepared(this.db, INTENSITIES).all(experimentId) as { frameId: number; bytes: number }[];
    return { rawContainerBytes: containerBytes, rawFrameBytes: rawBytes, intensities };
  }

  frameDecisions(frameId: number): FrameDecisionRow[] {
    return prepared(this.db, FRAME_DECISIONS).all(frameId) as FrameDecisionRow[];
  }

  frameIdOf(experimentId: number, source: string, event: string): number | undefined {
    return (prepared(this.db, FRAME_ID_OF).get(experimentId, source, event) as { id: number } | undefined)?.id;
  }

  sourcesBetween(experimentId: number, afterId: number, upToId: number): IterableIterator<{ source: string }> {
    return prepared(this.db, SOURCES_BETWEEN).iterate(experimentId, afterId, upToId) as IterableIterator<{ source: string }>;
  }

  lastFrameId(): number {
    return (prepared(this.db, LAST_FRAME_ID).get() as { id: number | null }).id ?? 0;
  }
}
