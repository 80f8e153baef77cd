-- Jobs persist their state so that a crashed migration, expiry or verification resumes.
CREATE TABLE jobs (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL,
  state      TEXT NOT NULL,
  params     TEXT NOT NULL DEFAULT '{}',
  error      TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX jobs_state ON jobs(kind, state);

-- Money booked against an experiment: storage (bytes x time x price) and the one-off terms.
CREATE TABLE cost_ledger (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  placement_id  INTEGER REFERENCES placements(id),
  kind          TEXT NOT NULL CHECK (kind IN ('storage', 'per_object', 'retrieval', 'early_deletion', 'egress')),
  period_from   TEXT NOT NULL,
  period_until  TEXT NOT NULL,
  amount        REAL NOT NULL,
  currency      TEXT NOT NULL,
  details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX cost_ledger_experiment ON cost_ledger(experiment_id);
