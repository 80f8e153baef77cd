import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlDatabase } from './sql.ts';
import { SxError } from '../errors.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** The same migrations, version for version, in PostgreSQL's SQL. */
export const POSTGRES_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/postgres/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

/** Reads `NNN_name.sql` files in version order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new SxError('catalog', `${join(dir, file)}: migration files must be named NNN_name.sql`);
      const sql = readFileSync(join(dir, file), 'utf8');
      return { version: Number(match[1]), name: match[2], sql, sha256: createHash('sha256').update(sql).digest('hex') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (i > 0 && m.version === migrations[i - 1].version) {
      throw new SxError('catalog', `${dir}: two migrations have version ${m.version}`);
    }
  });
  return migrations;
}

/** The migrations a catalog opened only to read lacks: it cannot be read by this build until they are applied. */
export function missingMigrations(db: SqlDatabase, migrations: Migration[]): Migration[] {
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  return migrations.filter((m) => !applied.has(m.version));
}

/** Why `catalog` (as messages name it) cannot be read: what it lacks, and how a writer gives it. */
export function unreadableCatalog(catalog: string, lacks: string): SxError {
  return new SxError('catalog', `catalog ${catalog} ${lacks}; run a command that writes it once (e.g. sxarchive init) as a user who may write it`);
}

/** What `unreadableCatalog` says of a catalog that lacks these migrations. */
export const needsMigrations = (missing: Migration[]) => `was written by an older sxarchive and needs migration ${missing.map((m) => m.version).join(', ')}`;

/**
 * Brings the schema up to the newest migration in one write transaction (BEGIN IMMEDIATE, or
 * PostgreSQL's write lock), so two processes opening an old catalog at once cannot both upgrade
 * it. A catalog that has a migration this build does not know, or whose applied migration was
 * edited, is refused: it was written by a newer or different sxarchive and must not be guessed at.
 */
export function migrate(db: SqlDatabase, migrations = readMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const run = db.transaction(() => {
    const applied = db.prepare('SELECT version, name, sha256 FROM schema_migrations ORDER BY version').all() as Migration[];
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const a of applied) {
      const m = known.get(a.version);
      if (!m) {
        throw new SxError('catalog', `catalog has migration ${a.version} (${a.name}) that this sxarchive does not know; upgrade sxarchive`);
      }
      if (m.sha256 !== a.sha256) {
        throw new SxError('catalog', `migration ${a.version} (${a.name}) was changed after it was applied to this catalog`);
      }
    }
    const done = new Set(applied.map((a) => a.version));
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?, ?, ?, ?)');
    const newlyApplied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      db.exec(m.sql);
      insert.run(m.version, m.name, m.sha256, new Date().toISOString());
      newlyApplied.push(m.version);
    }
    return newlyApplied;
  });
  return run.immediate();
}
