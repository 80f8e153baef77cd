-- Lifecycles: containers move from tier to tier as their policy says, and expire at its end.
-- Every job (migration, expiry, verification, recall) is a persisted state machine; a crash at
-- any point resumes or rolls back on the next run.

-- A tape aggregate: one tar file of containers on a tape tier. 'open' while a migration writes
-- it (owner = host:pid); 'closed' once complete on the target; 'failed' when abandoned (its
-- members went back to their sources); 'deleted' when no member needs it any more.
CREATE TABLE aggregates (
  id          INTEGER PRIMARY KEY,
  tier        TEXT NOT NULL,
  name        TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('open', 'closed', 'failed', 'deleted')),
  owner       TEXT,
  bytes       INTEGER,
  sha256      TEXT,
  members     INTEGER NOT NULL DEFAULT 0,
  reason      TEXT,
  created_at  TEXT NOT NULL,
  closed_at   TEXT,
  deleted_at  TEXT,
  UNIQUE (tier, name)
);

-- The lifecycle of the keep spec that made the container, as JSON [{ "tier": "ssd", "days": 14 },
-- ..., { "tier": "tape", "days": null }] (null: forever), counted from `created_at`. NULL for a
-- container ingested before this migration: migrate derives it from its decisions' policy.
ALTER TABLE containers ADD COLUMN lifecycle TEXT;

-- Which step of the lifecycle a placement serves (0: the first). A container ingested onto the
-- staging tier because its first tier takes no direct writes (tape, S3) has step 0 there, due at once.
ALTER TABLE placements ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
-- When the copy was actually removed (trimmed after a verified copy elsewhere, or expired);
-- `valid_until` stays the end the lifecycle planned.
ALTER TABLE placements ADD COLUMN ended_at TEXT;
ALTER TABLE placements ADD COLUMN verified_at TEXT;
-- On a tape tier: the aggregate holding the container, and the byte offset of its data there.
ALTER TABLE placements ADD COLUMN aggregate_id INTEGER REFERENCES aggregates(id);
ALTER TABLE placements ADD COLUMN member_offset INTEGER;
CREATE INDEX placements_tier ON placements(tier, state);

-- One pass of a job: who ran it, what it was asked, how it ended.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN summary TEXT;
ALTER TABLE jobs ADD COLUMN finished_at TEXT;

-- One container's copy to another tier: planned -> copying -> verifying -> committed -> trimmed
-- (the source removed), or failed / paused with a reason. `kind` repair: a bad copy re-copied
-- from a good one: the bad copy (`replaces_placement_id`) is retired instead of the source
-- trimmed. A lease (owner, until) keeps two processes off one
-- container; an expired lease may be taken over.
CREATE TABLE transfers (
  id                  INTEGER PRIMARY KEY,
  job_id              INTEGER REFERENCES jobs(id),
  kind                TEXT NOT NULL CHECK (kind IN ('migrate', 'repair')),
  container_id        INTEGER NOT NULL REFERENCES containers(id),
  source_placement_id INTEGER NOT NULL REFERENCES placements(id),
  dest_tier           TEXT NOT NULL,
  dest_step           INTEGER NOT NULL,
  dest_placement_id   INTEGER REFERENCES placements(id),
  replaces_placement_id INTEGER REFERENCES placements(id),
  state               TEXT NOT NULL CHECK (state IN ('planned', 'copying', 'verifying', 'committed', 'trimmed', 'failed', 'paused')),
  reason              TEXT,
  lease_owner         TEXT,
  lease_until         TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX transfers_one_active ON transfers(container_id) WHERE state IN ('planned', 'copying', 'verifying', 'committed', 'paused');
CREATE INDEX transfers_state ON transfers(state);

-- Data deleted at the end of its lifecycle (or a copy trimmed after migration): what, where,
-- when, and under which policy rule. Labels and decisions stay in the catalog.
-- planned -> deleting -> deleted, or failed with a reason.
CREATE TABLE deletions (
  id            INTEGER PRIMARY KEY,
  job_id        INTEGER REFERENCES jobs(id),
  container_id  INTEGER NOT NULL REFERENCES containers(id),
  placement_id  INTEGER NOT NULL REFERENCES placements(id),
  tier          TEXT NOT NULL,
  location      TEXT NOT NULL,
  bytes         INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  policy        TEXT,          -- "name vN" of the policy whose lifecycle ended
  rules         TEXT NOT NULL DEFAULT '[]',  -- JSON: the rules that kept the container's frames
  lifecycle_end TEXT NOT NULL, -- when the lifecycle ended (the expiry may run later)
  state         TEXT NOT NULL CHECK (state IN ('planned', 'deleting', 'deleted', 'failed')),
  reason        TEXT,
  lease_owner   TEXT,
  lease_until   TEXT,
  created_at    TEXT NOT NULL,
  deleted_at    TEXT,
  UNIQUE (placement_id)
);

-- A user's request for frames back from the archive, staged then handed over in `dest`.
CREATE TABLE recalls (
  id            INTEGER PRIMARY KEY,
  job_id        INTEGER REFERENCES jobs(id),
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  dest          TEXT NOT NULL,
  request       TEXT NOT NULL,  -- JSON: frames, product as asked
  state         TEXT NOT NULL CHECK (state IN ('queued', 'restoring', 'staging', 'delivered', 'failed')),
  reason        TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE TABLE recall_items (
  id            INTEGER PRIMARY KEY,
  recall_id     INTEGER NOT NULL REFERENCES recalls(id),
  container_id  INTEGER NOT NULL REFERENCES containers(id),
  placement_id  INTEGER NOT NULL REFERENCES placements(id),
  state         TEXT NOT NULL CHECK (state IN ('queued', 'restoring', 'staged', 'delivered', 'failed')),
  reason        TEXT,
  UNIQUE (recall_id, container_id)
);

-- What verify found and did: corrupt, missing and orphaned objects, and repairs.
CREATE TABLE verify_findings (
  id           INTEGER PRIMARY KEY,
  job_id       INTEGER NOT NULL REFERENCES jobs(id),
  tier         TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('corrupt', 'missing', 'orphaned')),
  container_id INTEGER REFERENCES containers(id),
  placement_id INTEGER REFERENCES placements(id),
  location     TEXT NOT NULL,
  detail       TEXT,
  repaired_by  INTEGER REFERENCES transfers(id),
  found_at     TEXT NOT NULL
);
