-- Totals the reports read instead of counting frames and decisions row by row: over 10 M
-- frames that takes SQLite seconds per pass whatever the indexes (a bare scan of the decisions
-- grouped by rule: 5 s), and an experiment's report makes several. Triggers (and, for new frames,
-- the catalog's insertFrames) keep the totals in the transaction that writes the rows they count. A frame's run and raw
-- bytes are fixed when it is recorded; its labels may come later (imported results). Frames and
-- decisions are never deleted (labels and decisions stay); a change that deletes them must
-- update these totals too: until it does, the foreign keys refuse to delete their run.

-- Per run: its frames, their raw bytes, and how many are labelled, hits and indexed.
CREATE TABLE run_frame_totals (
  run_id    INTEGER PRIMARY KEY REFERENCES runs(id),
  frames    INTEGER NOT NULL,
  raw_bytes INTEGER NOT NULL,
  labelled  INTEGER NOT NULL,
  hits      INTEGER NOT NULL,
  indexed   INTEGER NOT NULL
);
INSERT INTO run_frame_totals (run_id, frames, raw_bytes, labelled, hits, indexed)
  SELECT run_id, COUNT(*), SUM(raw_bytes), COUNT(hit), COALESCE(SUM(hit = 1), 0), COALESCE(SUM(indexed = 1), 0)
  FROM frames GROUP BY run_id;

-- New frames are counted by the catalog's insertFrames, once per batch (a trigger per row would
-- double the cost of recording frames).


CREATE TRIGGER frames_totals_labels AFTER UPDATE OF hit, indexed ON frames BEGIN
  UPDATE run_frame_totals
    SET labelled = labelled + (NEW.hit IS NOT NULL) - (OLD.hit IS NOT NULL),
        hits = hits + COALESCE(NEW.hit = 1, 0) - COALESCE(OLD.hit = 1, 0),
        indexed = indexed + COALESCE(NEW.indexed = 1, 0) - COALESCE(OLD.indexed = 1, 0)
    WHERE run_id = NEW.run_id;
END;

-- Per run and policy rule: the frames the rule decided (a frame with several kept products
-- counts once) and their raw bytes; of those, the frames with a kept product, and the bytes of
-- the containers holding them, each container's bytes shared out by frame.
CREATE TABLE rule_totals (
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  rule        TEXT NOT NULL,
  frames      INTEGER NOT NULL,
  raw_bytes   INTEGER NOT NULL,
  kept_frames INTEGER NOT NULL,
  kept_bytes  REAL NOT NULL,
  PRIMARY KEY (run_id, rule)
) WITHOUT ROWID;
INSERT INTO rule_totals (run_id, rule, frames, raw_bytes, kept_frames, kept_bytes)
  SELECT f.run_id, d.rule, COUNT(*), SUM(f.raw_bytes), SUM(d.kept), SUM(d.kept_bytes)
  FROM (SELECT d.frame_id, d.rule, MAX(d.product != 'labels') AS kept,
               SUM(CASE WHEN c.id IS NULL THEN 0 ELSE CAST(c.bytes AS REAL) / c.n_frames END) AS kept_bytes
        FROM decisions d LEFT JOIN containers c ON c.id = d.container_id GROUP BY d.frame_id, d.rule) d
  JOIN frames f ON f.id = d.frame_id
  GROUP BY f.run_id, d.rule;

-- `earlier`: what the frame's other decisions under the same rule counted already.
CREATE TRIGGER decisions_totals_insert AFTER INSERT ON decisions BEGIN
  INSERT INTO rule_totals (run_id, rule, frames, raw_bytes, kept_frames, kept_bytes)
    SELECT f.run_id, NEW.rule, earlier.decided IS NULL, CASE WHEN earlier.decided IS NULL THEN f.raw_bytes ELSE 0 END,
           NEW.product != 'labels' AND COALESCE(earlier.kept, 0) = 0,
           COALESCE((SELECT CAST(c.bytes AS REAL) / c.n_frames FROM containers c WHERE c.id = NEW.container_id), 0)
    FROM frames f,
         (SELECT MAX(1) AS decided, MAX(product != 'labels') AS kept FROM decisions
          WHERE frame_id = NEW.frame_id AND rule = NEW.rule AND id != NEW.id) earlier
    WHERE f.id = NEW.frame_id
    ON CONFLICT (run_id, rule) DO UPDATE SET frames = frames + excluded.frames, raw_bytes = raw_bytes + excluded.raw_bytes,
      kept_frames = kept_frames + excluded.kept_frames, kept_bytes = kept_bytes + excluded.kept_bytes;
END;
