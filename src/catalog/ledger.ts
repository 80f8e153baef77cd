// The catalog queries behind the cost ledger (src/cost/ledger.ts): every copy that held data
// with its times, every read out of a tier, and the lifecycles of the containers still held;
// for one experiment, or (no id: the facility report) for all of them at once.
import type { ContainerForm, LifecycleSpan } from './types.ts';
import type { ReportSource } from './reports.ts';
import { prepared } from './statements.ts';

export interface CopyRow {
  experimentId: number;
  containerId: number;
  tier: string;
  bytes: number;
  validFrom: string;
  /** When the copy stopped holding data (trimmed or expired); null while it does. */
  endedAt: string | null;
}

export interface ReadRow {
  experimentId: number;
  tier: string;
  bytes: number;
  at: string;
}

export interface HeldContainerRow {
  experimentId: number;
  id: number;
  bytes: number;
  createdAt: string;
  lifecycle: LifecycleSpan[] | null;
  /** The tier and planned end of its copy (for containers recorded before lifecycles were). */
  tier: string;
  validUntil: string | null;
  form: ContainerForm | null;
  /** Its frames as recorded, for a lifecycle that reduces the data later (null otherwise): what the reduced form's bytes are estimated from. */
  frames: { rawBytes: number; nPeaks: number; pixelType: string; width: number; height: number } | null;
}

/** The condition on `column` that keeps one experiment's rows; none for all experiments. */
const ofExperiment = (column: string, experimentId: number | undefined) => (experimentId === undefined ? '' : `AND ${column} = @id`);

/**
 * Copies of the experiment's containers that held data. A copy trimmed or expired before
 * removal times were recorded ended at its planned end.
 */
export function ledgerCopies(source: ReportSource, experimentId?: number): CopyRow[] {
  return prepared(source.db, `SELECT c.experiment_id AS experimentId, p.container_id AS containerId, p.tier, c.bytes, p.valid_from AS validFrom,
                     COALESCE(p.ended_at, CASE WHEN p.state IN ('trimmed', 'expired') THEN p.valid_until END) AS endedAt
              FROM placements p JOIN containers c ON c.id = p.container_id
              WHERE p.state IN ('active', 'verified', 'trimmed', 'expired') ${ofExperiment('c.experiment_id', experimentId)}`)
    .all({ id: experimentId }) as CopyRow[];
}

/** Reads out of a tier: the source side of every migration that committed, and every recalled container. */
export function ledgerReads(source: ReportSource, experimentId?: number): ReadRow[] {
  return prepared(source.db, `SELECT c.experiment_id AS experimentId, p.tier, c.bytes, t.updated_at AS at
              FROM transfers t JOIN placements p ON p.id = t.source_placement_id JOIN containers c ON c.id = t.container_id
              WHERE t.kind = 'migrate' AND t.state IN ('committed', 'trimmed') ${ofExperiment('c.experiment_id', experimentId)}
              UNION ALL
              SELECT r.experiment_id AS experimentId, p.tier, c.bytes, r.updated_at AS at
              FROM recall_items i JOIN recalls r ON r.id = i.recall_id JOIN placements p ON p.id = i.placement_id JOIN containers c ON c.id = i.container_id
              WHERE i.state IN ('staged', 'delivered') ${ofExperiment('r.experiment_id', experimentId)}`)
    .all({ id: experimentId }) as ReadRow[];
}

/** Containers with a copy that still holds data, one row each (its most recent copy). */
export function heldContainers(source: ReportSource, experimentId?: number): HeldContainerRow[] {
  const rows = prepared(source.db, `SELECT c.experiment_id AS experimentId, c.id, c.bytes, c.created_at AS createdAt, c.lifecycle, c.form, p.tier, p.valid_until AS validUntil,
                     CASE WHEN c.lifecycle LIKE '%"as":%' THEN
                       (SELECT json_object('rawBytes', SUM(f.raw_bytes), 'nPeaks', SUM(COALESCE(f.n_peaks, 0)), 'pixelType', MIN(f.pixel_type), 'width', MIN(f.width), 'height', MIN(f.height))
                        FROM decisions d JOIN frames f ON f.id = d.frame_id WHERE d.container_id = c.id AND d.superseded_by IS NULL)
                     END AS frames
              FROM containers c JOIN placements p ON p.container_id = c.id
              WHERE p.id = (SELECT MAX(q.id) FROM placements q WHERE q.container_id = c.id AND q.state IN ('active', 'verified') AND q.ended_at IS NULL)
                ${ofExperiment('c.experiment_id', experimentId)}`)
    .all({ id: experimentId }) as (Omit<HeldContainerRow, 'lifecycle' | 'form' | 'frames'> & { lifecycle: string | null; form: string | null; frames: string | null })[];
  // Only containers whose lifecycle reduces the data later have their frames added up.
  return rows.map((r) => ({
    ...r,
    lifecycle: r.lifecycle === null ? null : (JSON.parse(r.lifecycle) as LifecycleSpan[]),
    form: r.form === null ? null : (JSON.parse(r.form) as ContainerForm),
    frames: r.frames === null ? null : (JSON.parse(r.frames) as NonNullable<HeldContainerRow['frames']>),
  }));
}

/** When the experiment's data was taken: its first run's start to its last run's end (or, for a run still going, its last container). */
export function collectionSpan(source: ReportSource, experimentId: number): { first: string | null; last: string | null } {
  // The later of the two as the largest of one column: the SQL both backends speak.
  return prepared(source.db, `SELECT (SELECT MIN(started_at) FROM runs WHERE experiment_id = @id) AS first,
                     (SELECT MAX(at) FROM (SELECT MAX(finished_at) AS at FROM runs WHERE experiment_id = @id
                                           UNION ALL SELECT MAX(created_at) FROM containers WHERE experiment_id = @id) AS ends) AS last`)
    .get({ id: experimentId }) as { first: string | null; last: string | null };
}

export interface RetentionRow {
  createdAt: string;
  lifecycle: LifecycleSpan[] | null;
  /** For containers recorded before lifecycles were: the last planned end of a copy (null: one is open-ended). */
  lastUntil: string | null;
}

/** Every container of the experiment with what says how long it is kept. */
export function containerRetention(source: ReportSource, experimentId: number): RetentionRow[] {
  const rows = prepared(source.db, `SELECT c.created_at AS createdAt, c.lifecycle,
                     CASE WHEN COUNT(*) > COUNT(p.valid_until) THEN NULL ELSE MAX(p.valid_until) END AS lastUntil
              FROM containers c LEFT JOIN placements p ON p.container_id = c.id AND p.state != 'failed'
              WHERE c.experiment_id = ? GROUP BY c.id`)
    .all(experimentId) as (Omit<RetentionRow, 'lifecycle'> & { lifecycle: string | null })[];
  return rows.map((r) => ({ ...r, lifecycle: r.lifecycle === null ? null : (JSON.parse(r.lifecycle) as LifecycleSpan[]) }));
}
