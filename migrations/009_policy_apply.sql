-- `sxarchive policy apply POLICY EXPERIMENT`: an archived experiment re-decided under another
-- policy. An application writes the products the new policy asks for (each container recorded
-- as it is verified), then switches every frame's decisions to the new policy in one
-- transaction, then deletes the containers nothing keeps any more. Its state says which of
-- the three a crash interrupted.
CREATE TABLE applications (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  policy_id     INTEGER NOT NULL REFERENCES policies(id),
  state         TEXT NOT NULL CHECK (state IN ('writing', 'dropping', 'done')),
  owner         TEXT,
  before        TEXT NOT NULL,  -- JSON: live containers and bytes, and the policies in force, when it started
  summary       TEXT,           -- JSON: what it wrote, kept and dropped, when done
  created_at    TEXT NOT NULL,
  switched_at   TEXT,
  finished_at   TEXT
);
CREATE INDEX applications_experiment ON applications(experiment_id, state);

-- Decisions an unfinished application will make current; they become rows of `decisions` at
-- the switch. A frame keeps its older decisions too, marked with the application that
-- superseded them: every frame's decisions record both policy versions.
CREATE TABLE pending_decisions (
  application_id  INTEGER NOT NULL REFERENCES applications(id),
  frame_id        INTEGER NOT NULL REFERENCES frames(id),
  rule            TEXT NOT NULL,
  product         TEXT NOT NULL,
  codec           TEXT NOT NULL,
  tier            TEXT NOT NULL,
  container_id    INTEGER REFERENCES containers(id),
  container_index INTEGER,
  PRIMARY KEY (application_id, frame_id, product)
) WITHOUT ROWID;

ALTER TABLE decisions ADD COLUMN superseded_by INTEGER REFERENCES applications(id);

-- What a container holds, as the policy said it (product, codec config, parameters): an
-- application keeps a container as it is when the new policy asks for exactly that. NULL for
-- containers recorded before (their form is read from their decisions' policy).
ALTER TABLE containers ADD COLUMN form TEXT;
-- The application that wrote the container (its files are under `EXPERIMENT/apply-N/`).
ALTER TABLE containers ADD COLUMN application_id INTEGER REFERENCES applications(id);
