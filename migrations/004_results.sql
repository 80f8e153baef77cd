-- Processing results imported from CrystFEL streams: one row per frame that indexamajig saw.
-- Keyed by experiment, source and event as the stream names them, not by frame: results may
-- arrive before the frames are ingested (results-gated policies act online), and `frame_id` is
-- filled in when a frame matches. Importing the same key again replaces the row and its crystals.
CREATE TABLE results (
  id                INTEGER PRIMARY KEY,
  experiment_id     INTEGER NOT NULL REFERENCES experiments(id),
  source            TEXT NOT NULL,     -- "Image filename:" as written (often relative)
  event             TEXT NOT NULL,     -- CrystFEL event; '//' when the stream has no Event line
  frame_id          INTEGER REFERENCES frames(id),
  matched_by        TEXT CHECK (matched_by IN ('exact', 'resolved', 'suffix', 'basename')),
  stream_path       TEXT NOT NULL,     -- absolute path of the stream the row came from
  stream_line       INTEGER NOT NULL,  -- line of the chunk's "----- Begin chunk -----"
  serial            INTEGER,
  hit               INTEGER,           -- 0/1; NULL when the stream does not say
  indexed           INTEGER NOT NULL,
  indexed_by        TEXT,              -- NULL for "none"
  n_crystals        INTEGER NOT NULL,
  n_peaks           INTEGER,
  n_reflections     INTEGER NOT NULL,  -- over all crystals
  resolution_a      REAL,              -- best (smallest) diffraction_resolution_limit of its crystals, Å
  peak_resolution_a REAL,
  photon_energy_ev  REAL,
  camera_length_m   REAL,
  intensities_bytes INTEGER NOT NULL,  -- bytes of its crystals' packed reflections (the intensities product)
  details           TEXT NOT NULL DEFAULT '{}',  -- JSON: header values and lines not modelled here
  imported_at       TEXT NOT NULL,
  UNIQUE (experiment_id, source, event)
);
CREATE INDEX results_frame ON results(frame_id);
CREATE INDEX results_unmatched ON results(experiment_id) WHERE frame_id IS NULL;

-- One row per crystal: the cell in Å and degrees (streams write nm), the reciprocal basis in
-- nm^-1 as written, and the integrated reflections packed into one blob
-- (layout in src/results/reflection-pack.ts) with the panel names its panel column indexes.
CREATE TABLE crystals (
  id                    INTEGER PRIMARY KEY,
  result_id             INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
  number                INTEGER NOT NULL,  -- order in the chunk, from 0
  a_a                   REAL NOT NULL,
  b_a                   REAL NOT NULL,
  c_a                   REAL NOT NULL,
  alpha_deg             REAL NOT NULL,
  beta_deg              REAL NOT NULL,
  gamma_deg             REAL NOT NULL,
  reciprocal_per_nm     TEXT,              -- JSON [[a*], [b*], [c*]]
  lattice_type          TEXT,
  centering             TEXT,
  unique_axis           TEXT,
  profile_radius_per_nm REAL,
  resolution_a          REAL,
  n_reflections         INTEGER NOT NULL,  -- rows in the blob
  n_saturated           INTEGER,
  reflections           BLOB NOT NULL,
  panels                TEXT NOT NULL DEFAULT '[]',
  UNIQUE (result_id, number)
);
