import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SxError } from '../errors.ts';
import { migrate, readMigrations, type Migration } from './migrator.ts';

export const CATALOG_FILE = 'catalog.sqlite';

export interface NewExperiment {
  name: string;
  proposal?: string;
  facility?: string;
  sampleTags?: string[];
  metadata?: Record<string, unknown>;
}

export interface Experiment {
  id: number;
  name: string;
  proposal: string | null;
  facility: string | null;
  sampleTags: string[];
  metadata: Record<string, unknown>;
  createdAt: string;
}

export interface NewFrame {
  source: string;
  event: string;
  width: number;
  height: number;
  pixelType: string;
  rawBytes: number;
  /** From the processing core, when the frame was labelled on the way in. */
  labels?: FrameLabelColumns;
  /** Indexing results already in the catalog (a stream imported before the frames). */
  results?: { indexed: boolean; nCrystals: number };
}

export interface FrameLabelColumns {
  hit: boolean;
  nPeaks: number;
  /** Å */
  resolution: number | null;
  /** Packed peak list (src/core/peak-blob.ts). */
  peaks: Buffer;
}

export interface NewContainer {
  experimentId: number;
  path: string;
  product: string;
  codec: string;
  nFrames: number;
  bytes: number;
  sha256: string;
}

/** A container safely on its tier: its placement runs from now until `validUntil` (null: open-ended). */
export interface BatchContainer {
  container: NewContainer;
  tier: string;
  location: string;
  validUntil: string | null;
}

/** One kept product of one frame; `frame` and `container` index the batch's arrays. */
export interface BatchDecision {
  frame: number;
  rule: string;
  product: string;
  codec: string;
  tier: string;
  container?: number;
  containerIndex?: number;
}

/** Frames, the containers now holding their kept products, and every decision: recorded together. */
export interface Batch {
  runId: number;
  policyId: number;
  frames: NewFrame[];
  containers: BatchContainer[];
  decisions: BatchDecision[];
}

interface ExperimentRow {
  id: number;
  name: string;
  proposal: string | null;
  facility: string | null;
  sample_tags: string;
  metadata: string;
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
    createdAt: row.created_at,
  };
}

const now = () => new Date().toISOString();

/** Experiment names become folder names on every tier: ingest and imports check them first. */
export function checkExperimentName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new SxError('usage', `Expected an experiment name of letters, digits, '.', '_' or '-' (it names folders) but received ${JSON.stringify(name)}`);
  }
}

/**
 * The SQLite catalog: the only state shared between sxarchive's stages. Opening it applies
 * pending migrations.
 *
 * @example
 * const catalog = openCatalog('sxarchive-data/catalog.sqlite');
 * const exp = catalog.ensureExperiment({ name: 'lyso-2026' });
 */
export class Catalog {
  readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
  }

  close(): void {
    this.db.close();
  }

  /** Returns the experiment, creating it if new; metadata given for an existing one is merged in. */
  ensureExperiment(e: NewExperiment): Experiment {
    const existing = this.findExperiment(e.name);
    if (!existing) {
      this.db
        .prepare('INSERT INTO experiments (name, proposal, facility, sample_tags, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(e.name, e.proposal ?? null, e.facility ?? null, JSON.stringify(e.sampleTags ?? []), JSON.stringify(e.metadata ?? {}), now());
      return this.findExperiment(e.name)!;
    }
    this.db
      .prepare('UPDATE experiments SET proposal = ?, facility = ?, sample_tags = ?, metadata = ? WHERE id = ?')
      .run(
        e.proposal ?? existing.proposal,
        e.facility ?? existing.facility,
        JSON.stringify([...new Set([...existing.sampleTags, ...(e.sampleTags ?? [])])]),
        JSON.stringify({ ...existing.metadata, ...e.metadata }),
        existing.id,
      );
    return this.findExperiment(e.name)!;
  }

  findExperiment(name: string): Experiment | undefined {
    const row = this.db.prepare('SELECT * FROM experiments WHERE name = ?').get(name) as ExperimentRow | undefined;
    return row && toExperiment(row);
  }

  listExperiments(): Experiment[] {
    return (this.db.prepare('SELECT * FROM experiments ORDER BY id').all() as ExperimentRow[]).map(toExperiment);
  }

  /** `labelling` records how the run's frames were labelled (geometry, peak-finder settings). */
  createRun(experimentId: number, labelling?: Record<string, unknown>): { id: number; number: number } {
    const { next } = this.db
      .prepare('SELECT COALESCE(MAX(number), 0) + 1 AS next FROM runs WHERE experiment_id = ?')
      .get(experimentId) as { next: number };
    const info = this.db
      .prepare('INSERT INTO runs (experiment_id, number, started_at, labelling) VALUES (?, ?, ?, ?)')
      .run(experimentId, next, now(), labelling ? JSON.stringify(labelling) : null);
    return { id: Number(info.lastInsertRowid), number: next };
  }

  /** Inserts frames in one transaction and returns their ids in order. */
  insertFrames(runId: number, frames: NewFrame[]): number[] {
    const insert = this.db.prepare(
      `INSERT INTO frames (run_id, source, event, width, height, pixel_type, raw_bytes, hit, n_peaks, resolution, peaks, indexed, n_crystals)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.db.transaction(() =>
      frames.map((f) => {
        const l = f.labels;
        const r = f.results;
        const info = insert.run(
          runId, f.source, f.event, f.width, f.height, f.pixelType, f.rawBytes,
          l ? Number(l.hit) : null, l?.nPeaks ?? null, l?.resolution ?? null, l?.peaks ?? null, r ? Number(r.indexed) : null, r?.nCrystals ?? null,
        );
        return Number(info.lastInsertRowid);
      }),
    )();
  }

  /** Registers a policy version; the same text is the same row, different text under a used version is refused. */
  registerPolicy(name: string, version: number, text: string, contentHash: string): number {
    const byHash = this.db.prepare('SELECT id FROM policies WHERE content_hash = ?').get(contentHash) as { id: number } | undefined;
    if (byHash) return byHash.id;
    const clash = this.db.prepare('SELECT id FROM policies WHERE name = ? AND version = ?').get(name, version);
    if (clash) {
      throw new SxError('catalog', `policy ${name} version ${version} is already recorded with different content; a changed policy needs a new version`);
    }
    const info = this.db
      .prepare('INSERT INTO policies (name, version, content_hash, text, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, version, contentHash, text, now());
    return Number(info.lastInsertRowid);
  }

  /**
   * Records a batch whose containers are already safely on their tiers: frames, containers,
   * placements and decisions in one transaction, so a crash leaves all of it or none.
   */
  recordBatch(batch: Batch): { frameIds: number[]; containerIds: number[] } {
    return this.db.transaction(() => {
      const frameIds = this.insertFrames(batch.runId, batch.frames);
      const at = now();
      const insertContainer = this.db.prepare(
        'INSERT INTO containers (experiment_id, path, product, codec, n_frames, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const place = this.db.prepare("INSERT INTO placements (container_id, tier, location, valid_from, valid_until, state) VALUES (?, ?, ?, ?, ?, 'active')");
      const containerIds = batch.containers.map(({ container: c, tier, location, validUntil }) => {
        const id = Number(insertContainer.run(c.experimentId, c.path, c.product, c.codec, c.nFrames, c.bytes, c.sha256, at).lastInsertRowid);
        place.run(id, tier, location, at, validUntil);
        return id;
      });
      const decide = this.db.prepare(
        'INSERT INTO decisions (frame_id, policy_id, rule, product, codec, tier, container_id, container_index, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const d of batch.decisions) {
        decide.run(frameIds[d.frame], batch.policyId, d.rule, d.product, d.codec, d.tier, d.container === undefined ? null : containerIds[d.container], d.containerIndex ?? null, at);
      }
      return { frameIds, containerIds };
    })();
  }
}

export interface OpenCatalogOptions {
  /** Only for tests that build an old catalog: the migrations to apply instead of all of them. */
  migrations?: Migration[];
}

export function openCatalog(path: string, options: OpenCatalogOptions = {}): Catalog {
  mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
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
