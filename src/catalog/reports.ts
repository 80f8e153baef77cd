// The catalog queries behind the reports (src/report/): read-only, one experiment at a time.
import type { SqlDatabase } from './sql.ts';
import { prepared } from './statements.ts';

/**
 * What the report queries run on: the catalog's database handle (`Catalog.db`). Only the
 * catalog itself and tests pass it; src/report/ reads the same queries as `catalog.reports`.
 */
export interface ReportSource {
  readonly db: SqlDatabase;
}

export interface FrameCounts {
  frames: number;
  rawBytes: number;
  /** Frames the processing core labelled, and how many of those are hits. */
  labelled: number;
  hits: number;
  /** Frames with an indexing result. */
  indexed: number;
}

export interface TierRow {
  tier: string;
  containers: number;
  bytes: number;
}

/**
 * Frames of an experiment, their raw bytes and label counts: added up over its runs' totals
 * (migration 007), since counting 10 M frames takes seconds.
 *
 * @example
 * const { frames, hits } = countExperimentFrames(catalog, exp.id);
 */
export function countExperimentFrames(source: ReportSource, experimentId: number): FrameCounts {
  return prepared(source.db, `SELECT COALESCE(SUM(t.frames), 0) AS frames, COALESCE(SUM(t.raw_bytes), 0) AS rawBytes, COALESCE(SUM(t.labelled), 0) AS labelled,
                     COALESCE(SUM(t.hits), 0) AS hits, COALESCE(SUM(t.indexed), 0) AS indexed
              FROM runs r JOIN run_frame_totals t ON t.run_id = r.id WHERE r.experiment_id = ?`)
    .get(experimentId) as FrameCounts;
}

/** @example countRuns(catalog, exp.id) // 2 */
export function countRuns(source: ReportSource, experimentId: number): number {
  return (prepared(source.db, 'SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ?').get(experimentId) as { n: number }).n;
}

/** A container a copy holds the data of now (one whose data expiry or `policy apply` deleted does not). */
const HOLDS_DATA = "EXISTS (SELECT 1 FROM placements p WHERE p.container_id = c.id AND p.state IN ('active', 'verified'))";

/** Containers that hold data now, and their bytes. @example const { containers, bytes } = countContainers(catalog, exp.id); */
export function countContainers(source: ReportSource, experimentId: number): { containers: number; bytes: number } {
  return prepared(source.db, `SELECT COUNT(*) AS containers, COALESCE(SUM(bytes), 0) AS bytes FROM containers c WHERE experiment_id = ? AND ${HOLDS_DATA}`)
    .get(experimentId) as { containers: number; bytes: number };
}

/** How `policy apply` marks the deletions it makes (src/lifecycle/apply.ts): they are savings, not expiry. */
export const APPLIED = ' (policy apply)';

/** What expiry deleted of the experiment's data: containers, bytes and when it last did. */
export function countExpired(source: ReportSource, experimentId: number): { containers: number; bytes: number; lastDeletedAt: string | null } {
  return prepared(source.db, `SELECT COUNT(DISTINCT d.container_id) AS containers, COALESCE(SUM(d.bytes), 0) AS bytes, MAX(d.deleted_at) AS lastDeletedAt
              FROM deletions d JOIN containers c ON c.id = d.container_id
              WHERE c.experiment_id = ? AND d.state = 'deleted' AND (d.policy IS NULL OR d.policy NOT LIKE '%${APPLIED}')`)
    .get(experimentId) as { containers: number; bytes: number; lastDeletedAt: string | null };
}

/**
 * Containers and bytes per tier over the placements that held data at `at` (an ISO time):
 * placed by then and not removed by then (`ended_at`: trimmed after a migration, or expired).
 * Up to now a copy past its planned end (`valid_until`) that no job has moved yet still
 * counts: it is still there. A time after now counts copies to their planned end.
 *
 * @example
 * currentTierUsage(catalog, exp.id, new Date().toISOString()) // [{ tier: 'hdd', containers: 1, bytes: 5123 }]
 */
export function currentTierUsage(source: ReportSource, experimentId: number, at: string): TierRow[] {
  return prepared(source.db, `SELECT p.tier AS tier, COUNT(*) AS containers, SUM(c.bytes) AS bytes
              FROM placements p JOIN containers c ON c.id = p.container_id
              WHERE c.experiment_id = @id AND p.state IN ('active', 'verified', 'trimmed', 'expired')
                AND p.valid_from <= @at AND (p.ended_at IS NULL OR p.ended_at > @at)
                AND (@at <= @now OR p.valid_until IS NULL OR p.valid_until > @at)
              GROUP BY p.tier ORDER BY p.tier`)
    .all({ id: experimentId, at, now: new Date().toISOString() }) as TierRow[];
}

/**
 * Each frame's hit label (null: not labelled) with its source and event, in catalog order.
 *
 * @example
 * listFrameHits(catalog, exp.id) // [{ source: '/data/run7.h5', event: '//0', hit: false }, ...]
 */
export function listFrameHits(source: ReportSource, experimentId: number): { source: string; event: string; hit: boolean | null }[] {
  const rows = prepared(source.db, 'SELECT f.source, f.event, f.hit FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ? ORDER BY f.id')
    .all(experimentId) as { source: string; event: string; hit: number | null }[];
  return rows.map((r) => ({ source: r.source, event: r.event, hit: r.hit === null ? null : r.hit !== 0 }));
}

export interface ProductRow {
  product: string;
  containers: number;
  frames: number;
  bytes: number;
}

/** Containers that hold data now per product (raw, binned, peaks, quantized), with their frames and bytes. */
export function keptByProduct(source: ReportSource, experimentId: number): ProductRow[] {
  return prepared(source.db, `SELECT product, COUNT(*) AS containers, SUM(n_frames) AS frames, SUM(bytes) AS bytes
              FROM containers c WHERE experiment_id = ? AND ${HOLDS_DATA} GROUP BY product ORDER BY product`)
    .all(experimentId) as ProductRow[];
}

export interface RuleRow {
  rule: string;
  /** Frames the rule decided, and their raw bytes as recorded. */
  frames: number;
  rawBytes: number;
  /** Of those, frames with at least one kept product, and their share of the containers' bytes. */
  keptFrames: number;
  keptBytes: number;
}

/**
 * Frames per policy rule: how many each rule decided, what they were raw, and what of them is
 * kept (container bytes shared out by frame). From the runs' rule totals (migration 007): a
 * pass over 10 M decisions takes seconds.
 */
export function framesByRule(source: ReportSource, experimentId: number): RuleRow[] {
  return prepared(source.db, `SELECT t.rule, SUM(t.frames) AS frames, SUM(t.raw_bytes) AS rawBytes, SUM(t.kept_frames) AS keptFrames,
                     CAST(ROUND(SUM(t.kept_bytes)) AS INTEGER) AS keptBytes
              FROM runs r JOIN rule_totals t ON t.run_id = r.id WHERE r.experiment_id = ?
              GROUP BY t.rule ORDER BY frames DESC, t.rule`)
    .all(experimentId) as RuleRow[];
}
