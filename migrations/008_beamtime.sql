-- The beamtime an experiment used, in hours, when someone knows it better than its runs'
-- timestamps do (`sxarchive experiment set NAME --beamtime-hours H`); NULL: from the runs.
ALTER TABLE experiments ADD COLUMN beamtime_hours REAL CHECK (beamtime_hours IS NULL OR beamtime_hours >= 0);

-- Its changes are recorded like the other metadata's: the field list of experiment_changes
-- widens (SQLite changes a CHECK only by making the table again).
CREATE TABLE experiment_changes_new (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  field         TEXT NOT NULL CHECK (field IN ('proposal', 'facility', 'sample_tags', 'beamtime_hours')),
  old_value     TEXT,       -- JSON
  new_value     TEXT,       -- JSON
  changed_at    TEXT NOT NULL
);
INSERT INTO experiment_changes_new (id, experiment_id, field, old_value, new_value, changed_at)
  SELECT id, experiment_id, field, old_value, new_value, changed_at FROM experiment_changes;
DROP TABLE experiment_changes;
ALTER TABLE experiment_changes_new RENAME TO experiment_changes;
