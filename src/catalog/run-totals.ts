// Per-run frame totals (table run_frame_totals, migration 007): what reports read instead of
// counting frames row by row. New frames are added here once per batch; label changes by a
// trigger.
import type { SqlDatabase } from './sql.ts';
import { prepared } from './statements.ts';

export interface FrameTotals {
  frames: number;
  rawBytes: number;
  labelled: number;
  hits: number;
  indexed: number;
}

/** Adds a batch of new frames to its run's totals (inside the transaction that inserts them). */
export function addRunFrameTotals(db: SqlDatabase, runId: number, t: FrameTotals): void {
  if (t.frames === 0) return;
  prepared(db, `INSERT INTO run_frame_totals AS t (run_id, frames, raw_bytes, labelled, hits, indexed) VALUES (?, ?, ?, ?, ?, ?)
              ON CONFLICT (run_id) DO UPDATE SET frames = t.frames + excluded.frames, raw_bytes = t.raw_bytes + excluded.raw_bytes,
                labelled = t.labelled + excluded.labelled, hits = t.hits + excluded.hits, indexed = t.indexed + excluded.indexed`)
    .run(runId, t.frames, t.rawBytes, t.labelled, t.hits, t.indexed);
}

/** Counts a run's totals again from its frames (after frames were written other than by insertFrames). */
export function recountRunFrameTotals(db: SqlDatabase, runId: number): void {
  prepared(db, `INSERT INTO run_frame_totals (run_id, frames, raw_bytes, labelled, hits, indexed)
              SELECT run_id, COUNT(*), SUM(raw_bytes), COUNT(hit), COUNT(CASE WHEN hit = 1 THEN 1 END), COUNT(CASE WHEN indexed = 1 THEN 1 END) FROM frames WHERE run_id = ? GROUP BY run_id
              ON CONFLICT (run_id) DO UPDATE SET frames = excluded.frames, raw_bytes = excluded.raw_bytes,
                labelled = excluded.labelled, hits = excluded.hits, indexed = excluded.indexed`)
    .run(runId);
}

/**
 * Counts the rule totals of an experiment's runs again from the decisions in force (after an
 * application superseded some): each frame once per rule, its kept bytes its share of each
 * container that holds data now.
 */
export function recountRuleTotals(db: SqlDatabase, experimentId: number): void {
  prepared(db, 'DELETE FROM rule_totals WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = ?)').run(experimentId);
  prepared(db, `INSERT INTO rule_totals (run_id, rule, frames, raw_bytes, kept_frames, kept_bytes)
              SELECT f.run_id, d.rule, COUNT(*), SUM(f.raw_bytes), SUM(d.kept), SUM(d.kept_bytes)
              FROM (SELECT d.frame_id, d.rule, MAX(CASE WHEN d.product <> 'labels' THEN 1 ELSE 0 END) AS kept,
                           SUM(CASE WHEN c.id IS NULL THEN 0 ELSE CAST(c.bytes AS REAL) / c.n_frames END) AS kept_bytes
                    FROM decisions d JOIN frames f0 ON f0.id = d.frame_id JOIN runs r ON r.id = f0.run_id
                    LEFT JOIN containers c ON c.id = d.container_id
                    WHERE r.experiment_id = ? AND d.superseded_by IS NULL GROUP BY d.frame_id, d.rule) d
              JOIN frames f ON f.id = d.frame_id
              GROUP BY f.run_id, d.rule`).run(experimentId);
}
