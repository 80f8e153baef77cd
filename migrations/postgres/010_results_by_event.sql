-- Ingest looks up each frame's indexing result by experiment and event (then picks the source),
-- once per frame: without this index every lookup scanned all of the experiment's results.
CREATE INDEX results_event ON results(experiment_id, event);
