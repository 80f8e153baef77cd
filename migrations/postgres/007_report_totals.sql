-- Totals the reports read instead of counting frames and decisions row by row: over 10 M
-- frames that takes SQLite seconds per pass whatever the indexes (a bare scan of the decisions
-- grouped by rule: 5 s), and an experiment's report makes several. Triggers (and, for new frames,
-- the catalog's insertFrames) keep the totals in the transaction that writes the rows they count. A frame's run and raw
-- bytes are fixed when it is recorded; its labels may come later (imported results). Frames and
-- decisions are never deleted (labels and decisions stay); a change that deletes them must
-- update these totals too: until it does, the foreign keys refuse to delete their run.

-- Per run: its frames, their raw bytes, and how many are labelled, hits and indexed.
-- run_id is the runs' id, always given: a plain key here, not an identity column.
CREATE TABLE run_frame_totals (
  run_id    BIGINT PRIMARY KEY REFERENCES runs(id),
  frames    BIGINT NOT NULL,
  raw_bytes BIGINT NOT NULL,
  labelled  BIGINT NOT NULL,
  hits      BIGINT NOT NULL,
  indexed   BIGINT NOT NULL
);
INSERT INTO run_frame_totals (run_id, frames, raw_bytes, labelled, hits, indexed)
  SELECT run_id, COUNT(*), SUM(raw_bytes), COUNT(hit), COUNT(*) FILTER (WHERE hit = 1), COUNT(*) FILTER (WHERE indexed = 1)
  FROM frames GROUP BY run_id;

-- New frames are counted by the catalog's insertFrames, once per batch (a trigger per row would
-- double the cost of recording frames).

-- A comparison is boolean here, not 0/1: CASE turns it into the count SQLite adds.
CREATE FUNCTION frames_totals_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE run_frame_totals
    SET labelled = labelled + CASE WHEN NEW.hit IS NOT NULL THEN 1 ELSE 0 END - CASE WHEN OLD.hit IS NOT NULL THEN 1 ELSE 0 END,
        hits = hits + CASE WHEN NEW.hit = 1 THEN 1 ELSE 0 END - CASE WHEN OLD.hit = 1 THEN 1 ELSE 0 END,
        indexed = indexed + CASE WHEN NEW.indexed = 1 THEN 1 ELSE 0 END - CASE WHEN OLD.indexed = 1 THEN 1 ELSE 0 END
    WHERE run_id = NEW.run_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER frames_totals_labels AFTER UPDATE OF hit, indexed ON frames
  FOR EACH ROW EXECUTE FUNCTION frames_totals_labels();

-- Per run and policy rule: the frames the rule decided (a frame with several kept products
-- counts once) and their raw bytes; of those, the frames with a kept product, and the bytes of
-- the containers holding them, each container's bytes shared out by frame.
CREATE TABLE rule_totals (
  run_id      BIGINT NOT NULL REFERENCES runs(id),
  rule        TEXT NOT NULL,
  frames      BIGINT NOT NULL,
  raw_bytes   BIGINT NOT NULL,
  kept_frames BIGINT NOT NULL,
  kept_bytes  DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (run_id, rule)
);
-- NULLIF: SQLite divides by zero to NULL, PostgreSQL fails.
INSERT INTO rule_totals (run_id, rule, frames, raw_bytes, kept_frames, kept_bytes)
  SELECT f.run_id, d.rule, COUNT(*), SUM(f.raw_bytes), SUM(d.kept), SUM(d.kept_bytes)
  FROM (SELECT d.frame_id, d.rule, MAX(CASE WHEN d.product <> 'labels' THEN 1 ELSE 0 END) AS kept,
               SUM(CASE WHEN c.id IS NULL THEN 0 ELSE CAST(c.bytes AS DOUBLE PRECISION) / NULLIF(c.n_frames, 0) END) AS kept_bytes
        FROM decisions d LEFT JOIN containers c ON c.id = d.container_id GROUP BY d.frame_id, d.rule) d
  JOIN frames f ON f.id = d.frame_id
  GROUP BY f.run_id, d.rule;

-- `earlier`: what the frame's other decisions under the same rule counted already.
-- SQLite runs its trigger after each row, so a row sees the rows of its statement inserted
-- before it. A row trigger here would run after the whole statement and see every row of it
-- (INSERT ... SELECT writes several decisions of one frame at once), so this trigger runs once
-- per statement over its new rows: per frame and rule, `earlier` is the decisions that are not
-- new, and the frame counts once, as SQLite's rows add up to in any order.
CREATE FUNCTION decisions_totals_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH added AS (
    SELECT n.frame_id, n.rule, COUNT(*) AS decided, COUNT(*) FILTER (WHERE n.product <> 'labels') AS kept,
           SUM(COALESCE(CAST(c.bytes AS DOUBLE PRECISION) / NULLIF(c.n_frames, 0), 0)) AS kept_bytes
    FROM new_decisions n LEFT JOIN containers c ON c.id = n.container_id
    GROUP BY n.frame_id, n.rule
  ), total AS (
    SELECT d.frame_id, d.rule, COUNT(*) AS decided, COUNT(*) FILTER (WHERE d.product <> 'labels') AS kept
    FROM decisions d WHERE d.frame_id IN (SELECT frame_id FROM added)
    GROUP BY d.frame_id, d.rule
  ), counted AS (
    SELECT a.frame_id, a.rule, t.decided > a.decided AS decided_earlier, a.kept > 0 AS kept, t.kept > a.kept AS kept_earlier, a.kept_bytes
    FROM added a JOIN total t ON t.frame_id = a.frame_id AND t.rule = a.rule
  )
  INSERT INTO rule_totals (run_id, rule, frames, raw_bytes, kept_frames, kept_bytes)
    SELECT f.run_id, e.rule, SUM(CASE WHEN e.decided_earlier THEN 0 ELSE 1 END), SUM(CASE WHEN e.decided_earlier THEN 0 ELSE f.raw_bytes END),
           SUM(CASE WHEN e.kept AND NOT e.kept_earlier THEN 1 ELSE 0 END), SUM(e.kept_bytes)
    FROM counted e JOIN frames f ON f.id = e.frame_id
    GROUP BY f.run_id, e.rule
    ON CONFLICT (run_id, rule) DO UPDATE SET frames = rule_totals.frames + excluded.frames, raw_bytes = rule_totals.raw_bytes + excluded.raw_bytes,
      kept_frames = rule_totals.kept_frames + excluded.kept_frames, kept_bytes = rule_totals.kept_bytes + excluded.kept_bytes;
  RETURN NULL;
END;
$$;
CREATE TRIGGER decisions_totals_insert AFTER INSERT ON decisions
  REFERENCING NEW TABLE AS new_decisions FOR EACH STATEMENT EXECUTE FUNCTION decisions_totals_insert();
