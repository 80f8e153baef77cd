// Per-run frame totals (table run_frame_totals, migration 007): what reports read instead of
// counting frames row by row. New frames are added here once per batch; label changes by a
// trigger.
import type Database from 'better-sqlite3';

export interface FrameTotals {
  frames: number;
  rawBytes: number;
  labelled: number;
  hits: number;
  indexed: number;
}

/** Adds a batch of new frames to its run's totals (inside the transaction that inserts them). */
export function addRunFrameTotals(db: Database.Database, runId: number, t: FrameTotals): void {
  if (t.frames === 0) return;
  db.prepare(`INSERT INTO run_frame_totals (run_id, frames, raw_bytes, labelled, hits, indexed) VALUES (?, ?, ?, ?, ?, ?)
              ON CONFLICT (run_id) DO UPDATE SET frames = frames + excluded.frames, raw_bytes = raw_bytes + excluded.raw_bytes,
                labelled = labelled + excluded.labelled, hits = hits + excluded.hits, indexed = indexed + excluded.indexed`)
    .run(runId, t.frames, t.rawBytes, t.labelled, t.hits, t.indexed);
}

/** Counts a run's totals again from its frames (after frames were written other than by insertFrames). */
export function recountRunFrameTotals(db: Database.Database, runId: number): void {
  db.prepare(`INSERT INTO run_frame_totals (run_id, frames, raw_bytes, labelled, hits, indexed)
              SELECT run_id, COUNT(*), SUM(raw_bytes), COUNT(hit), COALESCE(SUM(hit = 1), 0), COALESCE(SUM(indexed = 1), 0) FROM frames WHERE run_id = ? GROUP BY run_id
              ON CONFLICT (run_id) DO UPDATE SET frames = excluded.frames, raw_bytes = excluded.raw_bytes,
                labelled = excluded.labelled, hits = excluded.hits, indexed = excluded.indexed`)
    .run(runId);
}
