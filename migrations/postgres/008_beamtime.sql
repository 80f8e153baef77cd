-- The beamtime an experiment used, in hours, when someone knows it better than its runs'
-- timestamps do (`sxarchive experiment set NAME --beamtime-hours H`); NULL: from the runs.
ALTER TABLE experiments ADD COLUMN beamtime_hours DOUBLE PRECISION CHECK (beamtime_hours IS NULL OR beamtime_hours >= 0);

-- Its changes are recorded like the other metadata's: the field list of experiment_changes
-- widens (SQLite makes the table again; PostgreSQL replaces the CHECK in place).
ALTER TABLE experiment_changes
  DROP CONSTRAINT experiment_changes_field_check,
  ADD CONSTRAINT experiment_changes_field_check CHECK (field IN ('proposal', 'facility', 'sample_tags', 'beamtime_hours'));
