-- Labels from the processing core: the peak list (packed, see src/core/peak-blob.ts) beside the
-- hit/n_peaks/resolution columns, and how each run was labelled (geometry, peak-finder settings).
ALTER TABLE frames ADD COLUMN peaks BYTEA;
ALTER TABLE runs ADD COLUMN labelling TEXT;
CREATE INDEX frames_hit ON frames(run_id, hit);
