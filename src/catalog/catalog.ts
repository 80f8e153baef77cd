import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SxError } from '../errors.ts';
import { ApplyCatalog } from './apply.ts';
import { SqliteFrameQueries, type FrameQueries } from './frames.ts';
import { LifecycleCatalog } from './lifecycle.ts';
import { migrate, missingMigrations, needsMigrations, readMigrations, unreadableCatalog, type Migration } from './migrator.ts';
import { isPostgresUrl, openPostgres } from './postgres/open.ts';
import { reportQueries, type ReportQueries } from './report-queries.ts';
import { SqliteResultQueries, type ResultQueries } from './results.ts';
import { addRunFrameTotals } from './run-totals.ts';
import type { SqlDatabase } from './sql.ts';
import { prepared } from './statements.ts';

export const CATALOG_FILE = 'catalog.sqlite';

export type * from './types.ts';
import type { Batch, DeadRun, Experiment, MetadataChange, NewExperiment, NewFrame, NewRun, RunState, StartedRun } from './types.ts';

interface ExperimentRow {
  id: number;
  name: string;
  proposal: string | null;
  facility: string | null;
  sample_tags: string;
  metadata: string;
  beamtime_hours: number | null;
  created_at: string;
}

function toExperiment(row: ExperimentRow): Experiment {
  return {
    id: row.id,
    name: row.name,
    proposal: row.proposal,
    facility: row.facility,
    sampleTags: JSON.parse(row.sample_tags) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    beamtimeHours: row.beamtime_hours,
    createdAt: row.created_at,
  };
}

const now = () => new Date().toISOString();

/** Longest experiment name: it names a folder on every tier, and file systems limit names to 255 bytes. */
export const MAX_EXPERIMENT_NAME = 128;

/** Experiment names become folder names on every tier: ingest and imports check them first. */
export function checkExperimentName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new SxError('usage', `Expected an experiment name of letters, digits, '.', '_' or '-' (it names folders) but received ${JSON.stringify(name)}`);
  }
  if (name.length > MAX_EXPERIMENT_NAME) {
    throw new SxError('usage', `Expected an experiment name of at most ${MAX_EXPERIMENT_NAME} characters (it names folders) but received one of ${name.length}`);
  }
}

const sameTags = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((t, i) => t === [...b].sort()[i]);

/**
 * How `given` would change an existing experiment's metadata: a field left out changes nothing;
 * sample tags change when the given ones are not all recorded already.
 */
export function metadataChanges(recorded: Experiment, given: NewExperiment): MetadataChange[] {
  const changes: MetadataChange[] = [];
  for (const field of ['proposal', 'facility'] as const) {
    const value = given[field];
    if (value !== undefined && value !== recorded[field]) changes.push({ field, recorded: recorded[field], given: value });
  }
  const tags = given.sampleTags ?? [];
  if (tags.some((t) => !recorded.sampleTags.includes(t))) changes.push({ field: 'sample_tags', recorded: recorded.sampleTags, given: tags });
  return changes;
}

function refuseMetadataChanges(name: string, changes: MetadataChange[]): void {
  if (changes.length === 0) return;
  const show = (v: MetadataChange['given']) => (v === null ? 'none' : Array.isArray(v) ? `[${v.join(', ')}]` : JSON.stringify(v));
  const flag = { proposal: '--proposal', facility: '--facility', sample_tags: '--sample-tag', beamtime_hours: '--beamtime-hours' } as const;
  const lines = changes.map((c) => `${c.field}: recorded ${show(c.recorded)}, given ${show(c.given)}`);
  throw new SxError(
    'usage',
    `experiment "${name}" already has other metadata (${lines.join('; ')}); a run never changes an experiment's metadata, since policies decided its frames by it. ` +
      `Leave ${changes.map((c) => flag[c.field]).join(', ')} out, or change it deliberately (recorded, with the time): sxarchive experiment set ${name} ...`,
  );
}

/**
 * The catalog: the only state shared between sxarchive's stages, in an embedded SQLite file or
 * on a facility's PostgreSQL server. Opening it applies pending migrations (not when opened
 * read-only).
 *
 * Code outside src/catalog/ takes the part it needs (`Pick<Catalog, 'getExperiment' | 'frames'>`),
 * which speaks in plain rows, never in a backend's types. It is all synchronous, as better-sqlite3
 * is: an in-process query takes microseconds, less than a promise would add, and the PostgreSQL
 * backend keeps the same interface (postgres/database.ts).
 *
 * @example
 * const catalog = openCatalog('sxarchive-data/catalog.sqlite');
 * const exp = catalog.ensureExperiment({ name: 'lyso-2026' });
 */
export class Catalog {
  /** The database handle, for the catalog's own query modules and for tests that check rows. */
  readonly db: SqlDatabase;
  /** One experiment's frames as the policy engine, the dry-run and result matching read them. */
  readonly frames: FrameQueries;
  /** Imported indexing results and the labels they give frames. */
  readonly results: ResultQueries;
  /** What the reports and the cost ledger read, one experiment or all at once. */
  readonly reports: ReportQueries;
  /** Placements, transfers, deletions, jobs and recalls. */
  readonly lifecycle: LifecycleCatalog;
  /** The catalog side of `policy apply`. */
  readonly apply: ApplyCatalog;

  constructor(db: SqlDatabase) {
    this.db = db;
    this.frames = new SqliteFrameQueries(db);
    this.results = new SqliteResultQueries(db);
    this.reports = reportQueries(this);
    this.lifecycle = new LifecycleCatalog(db);
    this.apply = new ApplyCatalog(db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `work` in one write transaction (BEGIN IMMEDIATE): what it records is all there, or none of it. */
  writeTransaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  /** Runs `work` in one read transaction: all its queries see the same catalog while others write. */
  readTransaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * Returns the experiment, creating it if new. Metadata given for an existing experiment must
   * be what it has (see `metadataChanges`); a change is refused, never merged in silently.
   */
  ensureExperiment(e: NewExperiment): Experiment {
    return this.db.transaction(() => this.ensureExperimentIn(e).experiment).immediate();
  }

  /**
   * The experiment's metadata as a run giving `e` would find it, without writing anything: the
   * recorded metadata, with what `e` fills in while no frame was recorded under it yet (an
   * experiment import-stream made). Refuses a change once frames were decided by it.
   */
  previewExperiment(e: NewExperiment): Pick<Experiment, 'name' | 'facility' | 'proposal' | 'sampleTags'> {
    const existing = this.findExperiment(e.name);
    if (!existing) return { name: e.name, facility: e.facility ?? null, proposal: e.proposal ?? null, sampleTags: [...new Set(e.sampleTags ?? [])] };
    const changes = metadataChanges(existing, e);
    if (changes.length === 0) return existing;
    if (this.hasRuns(existing.id)) refuseMetadataChanges(e.name, changes);
    return { name: existing.name, facility: e.facility ?? existing.facility, proposal: e.proposal ?? existing.proposal, sampleTags: [...new Set([...existing.sampleTags, ...(e.sampleTags ?? [])])] };
  }

  private hasRuns(experimentId: number): boolean {
    return prepared(this.db, 'SELECT 1 FROM runs WHERE experiment_id = ?').get(experimentId) !== undefined;
  }

  private ensureExperimentIn(e: NewExperiment): { experiment: Experiment; created: boolean } {
    const existing = this.findExperiment(e.name);
    if (existing) {
      if (metadataChanges(existing, e).length === 0) return { experiment: existing, created: false };
      const wanted = this.previewExperiment(e);
      // No frame was decided under it yet: the metadata is filled in, and recorded as a change.
      const { experiment } = this.setExperimentMetadata(e.name, { facility: wanted.facility, proposal: wanted.proposal, sampleTags: wanted.sampleTags });
      return { experiment, created: false };
    }
    prepared(this.db, 'INSERT INTO experiments (name, proposal, facility, sample_tags, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.name, e.proposal ?? null, e.facility ?? null, JSON.stringify([...new Set(e.sampleTags ?? [])]), JSON.stringify(e.metadata ?? {}), now());
    return { experiment: this.findExperiment(e.name)!, created: true };
  }

  /** Changes an experiment's metadata on purpose (`sxarchive experiment set`), recording each change with its time. */
  setExperimentMetadata(name: string, changes: { proposal?: string | null; facility?: string | null; sampleTags?: string[]; beamtimeHours?: number | null }): { experiment: Experiment; changed: MetadataChange[] } {
    return this.db.transaction(() => {
      const exp = this.findExperiment(name);
      if (!exp) throw this.noSuchExperiment(name);
      const changed: MetadataChange[] = [];
      if (changes.proposal !== undefined && changes.proposal !== exp.proposal) changed.push({ field: 'proposal', recorded: exp.proposal, given: changes.proposal });
      if (changes.facility !== undefined && changes.facility !== exp.facility) changed.push({ field: 'facility', recorded: exp.facility, given: changes.facility });
      if (changes.sampleTags !== undefined && !sameTags(changes.sampleTags, exp.sampleTags)) changed.push({ field: 'sample_tags', recorded: exp.sampleTags, given: [...new Set(changes.sampleTags)] });
      if (changes.beamtimeHours !== undefined && changes.beamtimeHours !== exp.beamtimeHours) changed.push({ field: 'beamtime_hours', recorded: exp.beamtimeHours, given: changes.beamtimeHours });
      const at = now();
      const record = prepared(this.db, 'INSERT INTO experiment_changes (experiment_id, field, old_value, new_value, changed_at) VALUES (?, ?, ?, ?, ?)');
      for (const c of changed) {
        const column = c.field === 'sample_tags' ? 'sample_tags' : c.field;
        const value = c.field === 'sample_tags' ? JSON.stringify(c.given) : c.given;
        prepared(this.db, `UPDATE experiments SET ${column} = ? WHERE id = ?`).run(value, exp.id);
        record.run(exp.id, c.field, JSON.stringify(c.recorded), JSON.stringify(c.given), at);
      }
      return { experiment: this.findExperiment(name)!, changed };
    }).immediate();
  }

  /** The experiment's recorded metadata changes, oldest first. */
  experimentChanges(experimentId: number): { field: string; old: unknown; new: unknown; at: string }[] {
    const rows = prepared(this.db, 'SELECT field, old_value, new_value, changed_at FROM experiment_changes WHERE experiment_id = ? ORDER BY id').all(experimentId) as { field: string; old_value: string; new_value: string; changed_at: string }[];
    return rows.map((r) => ({ field: r.field, old: JSON.parse(r.old_value), new: JSON.parse(r.new_value), at: r.changed_at }));
  }

  findExperiment(name: string): Experiment | undefined {
    const row = prepared(this.db, 'SELECT * FROM experiments WHERE name = ?').get(name) as ExperimentRow | undefined;
    return row && toExperiment(row);
  }

  /** The experiment, or a usage error that lists the known ones. */
  getExperiment(name: string): Experiment {
    const exp = this.findExperiment(name);
    if (!exp) throw this.noSuchExperiment(name);
    return exp;
  }

  private noSuchExperiment(name: string): SxError {
    const known = this.listExperiments().map((e) => e.name);
    return new SxError('usage', `no experiment named "${name}"${known.length ? `; known: ${known.join(', ')}` : ' (the catalog has none yet)'}`);
  }

  listExperiments(): Experiment[] {
    return (prepared(this.db, 'SELECT * FROM experiments ORDER BY id').all() as ExperimentRow[]).map(toExperiment);
  }

  /** `labelling` records how the run's frames were labelled (geometry, peak-finder settings). */
  createRun(experimentId: number, labelling?: Record<string, unknown>, extra: { state?: RunState; owner?: string; sources?: string[] } = {}): { id: number; number: number } {
    const highest = 'COALESCE((SELECT MAX(number) FROM runs WHERE experiment_id = ?), 0)';
    prepared(this.db, `UPDATE experiments SET runs_started = 1 + CASE WHEN runs_started >= ${highest} THEN runs_started ELSE ${highest} END WHERE id = ?`)
      .run(experimentId, experimentId, experimentId);
    const { next } = prepared(this.db, 'SELECT runs_started AS next FROM experiments WHERE id = ?').get(experimentId) as { next: number };
    const info = prepared(this.db, 'INSERT INTO runs (experiment_id, number, started_at, labelling, state, owner, sources) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(experimentId, next, now(), labelling ? JSON.stringify(labelling) : null, extra.state ?? 'complete', extra.owner ?? null, JSON.stringify(extra.sources ?? []));
    return { id: Number(info.lastInsertRowid), number: next };
  }

  /**
   * Starts an ingest run in one transaction: the policy version, the experiment (created if
   * new, refused if the metadata differs), and the run, in state 'running'. Refused while
   * another live run of the experiment ingests one of the same files.
   */
  startRun(run: NewRun, isAlive: (owner: string) => boolean): StartedRun {
    return this.db.transaction((): StartedRun => {
      const policyId = this.registerPolicy(run.policy.name, run.policy.version, run.policy.text, run.policy.contentHash);
      const { experiment, created } = this.ensureExperimentIn(run.experiment);
      const running = prepared(this.db, "SELECT number, owner, sources, started_at FROM runs WHERE experiment_id = ? AND state = 'running'").all(experiment.id) as { number: number; owner: string | null; sources: string; started_at: string }[];
      for (const other of running) {
        if (other.owner === null || !isAlive(other.owner)) continue;
        const shared = (JSON.parse(other.sources) as string[]).filter((f) => run.sources.includes(f));
        if (shared.length > 0) {
          throw new SxError('usage', `${shared[0]} is being ingested into experiment "${experiment.name}" right now by run ${other.number} (process ${other.owner}, since ${other.started_at}); wait for it to finish, or stop it, then run this again`);
        }
      }
      const { id, number } = this.createRun(experiment.id, run.labelling, { state: 'running', owner: run.owner, sources: run.sources });
      return { id, number, policyId, experiment, createdExperiment: created };
    }).immediate();
  }

  /** Ends a run: one that recorded no frame is removed (with the experiment it created, if that is empty). */
  finishRun(runId: number, state: Exclude<RunState, 'running'>, summary: Record<string, unknown>, removeCreatedExperiment: boolean): { removed: boolean } {
    return this.db.transaction(() => {
      const removed = this.removeIfEmpty(runId, removeCreatedExperiment);
      if (!removed) prepared(this.db, 'UPDATE runs SET state = ?, finished_at = ?, summary = ? WHERE id = ?').run(state, now(), JSON.stringify(summary), runId);
      return { removed };
    }).immediate();
  }

  private removeIfEmpty(runId: number, removeEmptyExperiment: boolean): boolean {
    const frames = (prepared(this.db, 'SELECT COUNT(*) AS n FROM frames WHERE run_id = ?').get(runId) as { n: number }).n;
    if (frames > 0) return false;
    const { experiment_id: experimentId } = prepared(this.db, 'SELECT experiment_id FROM runs WHERE id = ?').get(runId) as { experiment_id: number };
    prepared(this.db, 'DELETE FROM runs WHERE id = ?').run(runId);
    if (removeEmptyExperiment) {
      // Only an experiment with nothing else in it: no runs, results, containers or recorded changes.
      prepared(this.db, `DELETE FROM experiments WHERE id = ?
        AND NOT EXISTS (SELECT 1 FROM runs WHERE experiment_id = ?) AND NOT EXISTS (SELECT 1 FROM results WHERE experiment_id = ?)
        AND NOT EXISTS (SELECT 1 FROM containers WHERE experiment_id = ?) AND NOT EXISTS (SELECT 1 FROM experiment_changes WHERE experiment_id = ?)`)
        .run(experimentId, experimentId, experimentId, experimentId, experimentId);
    }
    return true;
  }

  /** The experiment's runs still 'running' whose process is gone (their files are cleaned before they are closed). */
  deadRuns(experimentName: string, isAlive: (owner: string) => boolean): { id: number; number: number }[] {
    const exp = this.findExperiment(experimentName);
    if (!exp) return [];
    const running = prepared(this.db, "SELECT id, number, owner FROM runs WHERE experiment_id = ? AND state = 'running'").all(exp.id) as { id: number; number: number; owner: string | null }[];
    return running.filter((r) => r.owner === null || !isAlive(r.owner)).map(({ id, number }) => ({ id, number }));
  }

  /**
   * Closes dead runs (deadRuns): interrupted, or removed if they recorded nothing (with the
   * experiment if they created it). A run closed meanwhile by another process is left alone.
   */
  closeDeadRuns(runs: readonly { id: number; number: number }[]): DeadRun[] {
    return this.db.transaction(() => {
      const dead: DeadRun[] = [];
      for (const r of runs) {
        const row = prepared(this.db, 'SELECT state FROM runs WHERE id = ?').get(r.id) as { state: string } | undefined;
        if (row?.state !== 'running') continue;
        const frames = (prepared(this.db, 'SELECT COUNT(*) AS n FROM frames WHERE run_id = ?').get(r.id) as { n: number }).n;
        const removed = this.removeIfEmpty(r.id, true);
        if (!removed) prepared(this.db, "UPDATE runs SET state = 'interrupted', finished_at = ? WHERE id = ?").run(now(), r.id);
        dead.push({ id: r.id, number: r.number, frames, removed });
      }
      return dead;
    }).immediate();
  }

  /** Events of `source` already recorded for the experiment (by any run). */
  recordedEvents(experimentId: number, source: string): Set<string> {
    const rows = prepared(this.db, 'SELECT f.event FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ? AND f.source = ?').all(experimentId, source) as { event: string }[];
    return new Set(rows.map((r) => r.event));
  }

  /** Whether a container is recorded at `path` (relative to its tier). */
  hasContainer(path: string): boolean {
    return prepared(this.db, 'SELECT 1 FROM containers WHERE path = ?').get(path) !== undefined;
  }

  /** Imported indexing results for an event of the experiment (any source; the caller matches the file). */
  indexingResults(experimentId: number, event: string): { source: string; indexed: boolean; nCrystals: number }[] {
    const rows = prepared(this.db, 'SELECT source, indexed, n_crystals FROM results WHERE experiment_id = ? AND event = ? AND indexed IS NOT NULL').all(experimentId, event) as { source: string; indexed: number; n_crystals: number | null }[];
    return rows.map((r) => ({ source: r.source, indexed: r.indexed === 1, nCrystals: r.n_crystals ?? 0 }));
  }

  /** Inserts frames in one transaction and returns their ids in order. */
  insertFrames(runId: number, frames: NewFrame[]): number[] {
    const insert = prepared(this.db,
      `INSERT INTO frames (run_id, source, event, width, height, pixel_type, raw_bytes, hit, n_peaks, resolution, peaks, indexed, n_crystals)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.db.transaction(() => {
      const totals = { frames: frames.length, rawBytes: 0, labelled: 0, hits: 0, indexed: 0 };
      const ids = frames.map((f) => {
        const l = f.labels;
        const r = f.results;
        const info = insert.run(
          runId, f.source, f.event, f.width, f.height, f.pixelType, f.rawBytes,
          l ? Number(l.hit) : null, l?.nPeaks ?? null, l?.resolution ?? null, l?.peaks ?? null, r ? Number(r.indexed) : null, r?.nCrystals ?? null,
        );
        totals.rawBytes += f.rawBytes;
        if (l) totals.labelled += 1;
        if (l?.hit) totals.hits += 1;
        if (r?.indexed) totals.indexed += 1;
        return Number(info.lastInsertRowid);
      });
      addRunFrameTotals(this.db, runId, totals);
      return ids;
    }).immediate();
  }

  /** Registers a policy version; the same text is the same row, different text under a used version is refused. */
  registerPolicy(name: string, version: number, text: string, contentHash: string): number {
    const byHash = prepared(this.db, 'SELECT id FROM policies WHERE content_hash = ?').get(contentHash) as { id: number } | undefined;
    if (byHash) return byHash.id;
    const clash = prepared(this.db, 'SELECT id FROM policies WHERE name = ? AND version = ?').get(name, version);
    if (clash) {
      throw new SxError('catalog', `policy ${name} version ${version} is already recorded with different content; a changed policy needs a new version`);
    }
    const info = prepared(this.db, 'INSERT INTO policies (name, version, content_hash, text, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, version, contentHash, text, now());
    return Number(info.lastInsertRowid);
  }

  /**
   * Records a batch whose containers are already safely on their tiers: frames, containers,
   * placements and decisions in one transaction, so a crash leaves all of it or none. A frame
   * the experiment has already (a concurrent ingest of the same file) refuses the whole batch.
   */
  recordBatch(batch: Batch): { frameIds: number[]; containerIds: number[] } {
    return this.db.transaction(() => {
      const known = prepared(this.db, 'SELECT r.number FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ? AND f.source = ? AND f.event = ?');
      for (const f of batch.frames) {
        const other = known.get(batch.experimentId, f.source, f.event) as { number: number } | undefined;
        if (other) throw new SxError('catalog', `${f.source} event ${f.event} was recorded meanwhile by run ${other.number} of this experiment (another ingest of the same file); this batch is not recorded`);
      }
      const frameIds = this.insertFrames(batch.runId, batch.frames);
      const at = now();
      const insertContainer = prepared(this.db,
        'INSERT INTO containers (experiment_id, path, product, codec, n_frames, bytes, sha256, created_at, lifecycle, form) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const place = prepared(this.db, "INSERT INTO placements (container_id, tier, location, valid_from, valid_until, state) VALUES (?, ?, ?, ?, ?, 'active')");
      const containerIds = batch.containers.map(({ container: c, tier, location, validUntil }) => {
        const id = Number(insertContainer.run(c.experimentId, c.path, c.product, c.codec, c.nFrames, c.bytes, c.sha256, at, JSON.stringify(c.lifecycle), c.form ? JSON.stringify(c.form) : null).lastInsertRowid);
        place.run(id, tier, location, at, validUntil);
        return id;
      });
      const decide = prepared(this.db,
        'INSERT INTO decisions (frame_id, policy_id, rule, product, codec, tier, container_id, container_index, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const d of batch.decisions) {
        decide.run(frameIds[d.frame], batch.policyId, d.rule, d.product, d.codec, d.tier, d.container === undefined ? null : containerIds[d.container], d.containerIndex ?? null, at);
      }
      return { frameIds, containerIds };
    }).immediate();
  }
}

export interface OpenCatalogOptions {
  /** Only for tests that build an old catalog: the migrations to apply instead of all of them. */
  migrations?: Migration[];
  /**
   * For commands that only read (report, experiments, dry-run, explain): nothing is written, so
   * users who may read but not write the catalog can run them. A catalog that does not exist
   * yet reads as empty; one that needs migrations is refused with how to upgrade it.
   */
  readonly?: boolean;
}

/** Opens the catalog at `location`: a SQLite file's path, or a PostgreSQL server's `postgres://` URL. */
export function openCatalog(location: string, options: OpenCatalogOptions = {}): Catalog {
  if (isPostgresUrl(location)) return new Catalog(openPostgres(location, options));
  const path = location;
  if (options.readonly) return openReadonly(path, options.migrations ?? readMigrations());
  let db: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (err) {
    throw new SxError('catalog', `cannot open catalog ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    db.pragma('journal_mode = WAL');
    // FULL: a committed catalog row must survive a power cut, since it is the only record of a file.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
    migrate(db, options.migrations ?? readMigrations());
  } catch (err) {
    db.close();
    if (err instanceof SxError) throw new SxError('catalog', `${path}: ${err.message}`, { cause: err });
    throw new SxError('catalog', `cannot open catalog ${path}: ${(err as Error).message}`, { cause: err });
  }
  return new Catalog(db);
}

function openReadonly(path: string, migrations: Migration[]): Catalog {
  if (!existsSync(path)) {
    const empty = new Database(':memory:');
    migrate(empty, migrations);
    return new Catalog(empty);
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
  } catch (err) {
    // A WAL catalog needs its -shm file, which a reader without write access to the folder
    // cannot create when no writer is running. Then nothing is in the WAL either: the file is
    // the whole catalog, read into memory, its header marked as not WAL (in-memory databases
    // cannot be WAL).
    if (existsSync(`${path}-wal`)) throw new SxError('catalog', `cannot open catalog ${path} to read it: ${(err as Error).message}`, { cause: err });
    try {
      const image = readFileSync(path);
      image[18] = 1;
      image[19] = 1;
      db = new Database(image, { readonly: true });
    } catch {
      throw new SxError('catalog', `cannot open catalog ${path} to read it: ${(err as Error).message}`, { cause: err });
    }
  }
  const missing = missingMigrations(db, migrations);
  if (missing.length > 0) {
    db.close();
    throw unreadableCatalog(path, needsMigrations(missing));
  }
  return new Catalog(db);
}
