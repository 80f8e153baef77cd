-- The catalog: every experiment, frame, policy, decision, container and placement.
-- Times are ISO-8601 UTC text; JSON columns hold objects or arrays as text.

CREATE TABLE experiments (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  proposal    TEXT,
  facility    TEXT,
  sample_tags TEXT NOT NULL DEFAULT '[]',
  metadata    TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL
);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  number        INTEGER NOT NULL,
  started_at    TEXT NOT NULL,
  UNIQUE (experiment_id, number)
);

-- One row per detector frame. `event` is CrystFEL's event notation ("//17") within `source`.
-- Label columns stay NULL until the processing core or imported results fill them.
CREATE TABLE frames (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  source      TEXT NOT NULL,
  event       TEXT NOT NULL,
  width       INTEGER NOT NULL,
  height      INTEGER NOT NULL,
  pixel_type  TEXT NOT NULL,
  raw_bytes   INTEGER NOT NULL,
  hit         INTEGER,
  n_peaks     INTEGER,
  indexed     INTEGER,
  n_crystals  INTEGER,
  resolution  REAL,
  UNIQUE (run_id, source, event)
);

-- A policy version is immutable: the same name and version always has the same content.
CREATE TABLE policies (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  version      INTEGER NOT NULL,
  content_hash TEXT NOT NULL UNIQUE,
  text         TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  UNIQUE (name, version)
);

CREATE TABLE containers (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  path          TEXT NOT NULL UNIQUE,
  product       TEXT NOT NULL,
  codec         TEXT NOT NULL,
  n_frames      INTEGER NOT NULL,
  bytes         INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  created_at    TEXT NOT NULL
);

-- One row per frame and kept product; `container_index` is the frame's place in the container.
CREATE TABLE decisions (
  id              INTEGER PRIMARY KEY,
  frame_id        INTEGER NOT NULL REFERENCES frames(id),
  policy_id       INTEGER NOT NULL REFERENCES policies(id),
  rule            TEXT NOT NULL,
  product         TEXT NOT NULL,
  codec           TEXT NOT NULL,
  tier            TEXT NOT NULL,
  container_id    INTEGER REFERENCES containers(id),
  container_index INTEGER,
  decided_at      TEXT NOT NULL,
  UNIQUE (frame_id, policy_id, product)
);
CREATE INDEX decisions_container ON decisions(container_id);

-- A container on a tier over [valid_from, valid_until); an open placement has valid_until NULL.
CREATE TABLE placements (
  id           INTEGER PRIMARY KEY,
  container_id INTEGER NOT NULL REFERENCES containers(id),
  tier         TEXT NOT NULL,
  location     TEXT NOT NULL,
  valid_from   TEXT NOT NULL,
  valid_until  TEXT,
  state        TEXT NOT NULL CHECK (state IN ('writing', 'active', 'verified', 'trimmed', 'expired', 'failed'))
);
CREATE INDEX placements_container ON placements(container_id);
