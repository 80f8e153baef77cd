// The catalog queries behind the facility report (src/report/facility-report.ts): every
// experiment at once, one query per kind of fact, so the report costs the same few queries
// however many experiments the facility has. The ledger's rows for all experiments come from
// src/catalog/ledger.ts called without an experiment id.
import type { ReportSource } from './reports.ts';
import { recountRunFrameTotals } from './run-totals.ts';
import { prepared } from './statements.ts';

export interface ExperimentTotalsRow {
  id: number;
  name: string;
  proposal: string | null;
  facility: string | null;
  createdAt: string;
  runs: number;
  frames: number;
  rawBytes: number;
  /** Frames the processing core labelled, how many of those are hits, and frames with an indexing result. */
  labelled: number;
  hits: number;
  indexed: number;
  containers: number;
  keptBytes: number;
}

/**
 * Every experiment with its runs, frames and kept containers, by name. Frames are added up per
 * run from `run_frame_totals` (migration 007), not counted row by row. With `since` (an ISO
 * time): only experiments created then or later, or with a run started then or later.
 *
 * @example experimentTotals(catalog, '2026-01-01T00:00:00.000Z') // [{ name: 'lyso', frames: 16, ... }]
 */
export function experimentTotals(source: ReportSource, since?: string): ExperimentTotalsRow[] {
  return prepared(source.db, `WITH chosen AS (
                SELECT e.id, e.name, e.proposal, e.facility, e.created_at FROM experiments e
                WHERE CAST(@since AS TEXT) IS NULL OR e.created_at >= @since
                   OR EXISTS (SELECT 1 FROM runs r WHERE r.experiment_id = e.id AND r.started_at >= @since)),
              framed AS (
                SELECT r.experiment_id, COUNT(*) AS runs, SUM(t.frames) AS frames, SUM(t.raw_bytes) AS rawBytes,
                       SUM(t.labelled) AS labelled, SUM(t.hits) AS hits, SUM(t.indexed) AS indexed
                FROM runs r LEFT JOIN run_frame_totals t ON t.run_id = r.id GROUP BY r.experiment_id),
              kept AS (SELECT experiment_id, COUNT(*) AS containers, SUM(bytes) AS keptBytes FROM containers GROUP BY experiment_id)
              SELECT e.id, e.name, e.proposal, e.facility, e.created_at AS createdAt, COALESCE(f.runs, 0) AS runs,
                     COALESCE(f.frames, 0) AS frames, COALESCE(f.rawBytes, 0) AS rawBytes, COALESCE(f.labelled, 0) AS labelled,
                     COALESCE(f.hits, 0) AS hits, COALESCE(f.indexed, 0) AS indexed,
                     COALESCE(k.containers, 0) AS containers, COALESCE(k.keptBytes, 0) AS keptBytes
              FROM chosen e LEFT JOIN framed f ON f.experiment_id = e.id LEFT JOIN kept k ON k.experiment_id = e.id
              ORDER BY e.name`)
    .all({ since: since ?? null }) as ExperimentTotalsRow[];
}

export interface HeldTierRow {
  experimentId: number;
  tier: string;
  containers: number;
  bytes: number;
}

/**
 * Containers and bytes per experiment and tier held at `at` (an ISO time): the copies
 * `currentTierUsage` (src/catalog/reports.ts) counts for one experiment, for all of them.
 */
export function heldByExperimentAndTier(source: ReportSource, at: string): HeldTierRow[] {
  return prepared(source.db, `SELECT c.experiment_id AS experimentId, p.tier AS tier, COUNT(*) AS containers, SUM(c.bytes) AS bytes
              FROM placements p JOIN containers c ON c.id = p.container_id
              WHERE p.state IN ('active', 'verified', 'trimmed', 'expired')
                AND p.valid_from <= @at AND (p.ended_at IS NULL OR p.ended_at > @at)
                AND (@at <= @now OR p.valid_until IS NULL OR p.valid_until > @at)
              GROUP BY c.experiment_id, p.tier`)
    .all({ at, now: new Date().toISOString() }) as HeldTierRow[];
}

/**
 * For benchmarks only: records `containerIds.length * framesPerContainer` frames in the run,
 * each kept raw by one decision, in the containers in order, with two INSERT ... SELECTs over a
 * counter instead of recordBatch, which takes minutes for 10 M frames. The containers must have
 * consecutive ids, as one recordBatch gives them. Every third frame is a hit, every other hit
 * indexed; hits are decided by rule `hits`, the others by `blanks`.
 */
export function insertFramesForBenchmark(catalog: ReportSource, options: { runId: number; policyId: number; containerIds: number[]; framesPerContainer: number; rawBytes: number }): void {
  const { runId, policyId, containerIds, framesPerContainer, rawBytes } = options;
  if (containerIds.some((id, i) => id !== containerIds[0] + i)) throw new RangeError('expected containers with consecutive ids');
  const db = catalog.db;
  db.transaction(() => {
    const { first } = db.prepare('SELECT COALESCE(MAX(id), 0) + 1 AS first FROM frames').get() as { first: number };
    // BigInt: better-sqlite3 binds numbers as REAL, and the container arithmetic must stay integer.
    const counts = { run: BigInt(runId), policy: BigInt(policyId), first: BigInt(first), count: BigInt(containerIds.length * framesPerContainer), per: BigInt(framesPerContainer), container: BigInt(containerIds[0]) };
    db.prepare(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @count)
                INSERT INTO frames (id, run_id, source, event, width, height, pixel_type, raw_bytes, hit, n_peaks, indexed, n_crystals)
                SELECT @first + i, @run, '/bench/run-' || @run || '-' || (i / @per) || '.h5', '//' || (i % @per), 2068, 2162, 'uint16', @rawBytes,
                       CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 3 = 0 THEN 40 ELSE 2 END, CASE WHEN i % 3 = 0 THEN i % 2 END, CASE WHEN i % 6 = 3 THEN 1 END
                FROM n`)
      .run({ ...counts, rawBytes: BigInt(rawBytes) });
    db.prepare(`INSERT INTO decisions (frame_id, policy_id, rule, product, codec, tier, container_id, container_index, decided_at)
                SELECT id, @policy, CASE WHEN hit = 1 THEN 'hits' ELSE 'blanks' END, 'raw', 'none', 'hdd', @container + (id - @first) / @per, (id - @first) % @per, @at
                FROM frames WHERE id >= @first`)
      .run({ ...counts, at: new Date().toISOString() });
    recountRunFrameTotals(db, runId);
  })();
}
