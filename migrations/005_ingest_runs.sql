-- Ingest runs carry their state, so a run that crashed, failed or was stopped is told apart from
-- data: 'running' while its process (owner = host:pid) lives; then 'complete', 'partial' (some
-- frames unreadable or unlabelled), 'failed' (stopped by an error) or 'interrupted' (killed or
-- stopped; found dead by a later ingest). A run that recorded no frame is removed.
ALTER TABLE runs ADD COLUMN state TEXT NOT NULL DEFAULT 'complete'
  CHECK (state IN ('running', 'complete', 'partial', 'failed', 'interrupted'));
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';   -- JSON: the files it ingests
ALTER TABLE runs ADD COLUMN finished_at TEXT;
ALTER TABLE runs ADD COLUMN summary TEXT;                         -- JSON: its counts, when finished

-- Run numbers are never reused (a removed empty run leaves a gap), so a run's folder on a tier
-- names one run only.
ALTER TABLE experiments ADD COLUMN runs_started INTEGER NOT NULL DEFAULT 0;
UPDATE experiments SET runs_started = (SELECT COALESCE(MAX(number), 0) FROM runs WHERE runs.experiment_id = experiments.id);

-- Ingest recognises frames already recorded for an experiment by source and event.
CREATE INDEX frames_source ON frames(source, event);

-- Experiment metadata changes only by `sxarchive experiment set`, each change recorded here.
CREATE TABLE experiment_changes (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  field         TEXT NOT NULL CHECK (field IN ('proposal', 'facility', 'sample_tags')),
  old_value     TEXT,       -- JSON
  new_value     TEXT,       -- JSON
  changed_at    TEXT NOT NULL
);
