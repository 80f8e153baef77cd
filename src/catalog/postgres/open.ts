// Opening a catalog on a PostgreSQL server: `catalog: postgres://user@host:port/database` in
// facility.yaml. The server keeps the same tables as the SQLite file, made by the same
// migrations written in PostgreSQL's SQL (migrations/postgres/).
import { SxError } from '../../errors.ts';
import { migrate, missingMigrations, needsMigrations, POSTGRES_MIGRATIONS_DIR, readMigrations, unreadableCatalog, type Migration } from '../migrator.ts';
import type { SqlDatabase } from '../sql.ts';
import { PgDatabase } from './database.ts';

export function isPostgresUrl(location: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(location);
}

/** The URL without its password, for messages. */
export function displayUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

export function openPostgres(url: string, options: { readonly?: boolean; migrations?: Migration[] }): SqlDatabase {
  const migrations = options.migrations ?? readMigrations(POSTGRES_MIGRATIONS_DIR);
  let db: PgDatabase;
  try {
    db = new PgDatabase(url);
  } catch (err) {
    throw new SxError('catalog', `cannot connect to the catalog at ${displayUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  let lacks: string;
  try {
    if (!options.readonly) {
      migrate(db, migrations);
      return db;
    }
    const hasSchema = db.prepare("SELECT 1 AS yes FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'").get();
    const missing = hasSchema ? missingMigrations(db, migrations) : migrations;
    if (missing.length === 0) {
      // As a SQLite catalog opened read-only: nothing this connection runs can write.
      db.exec('SET default_transaction_read_only = on');
      return db;
    }
    lacks = hasSchema ? needsMigrations(missing) : 'has no sxarchive tables yet';
  } catch (err) {
    db.close();
    // The migrator's refusals (SxError) say what, the server's errors neither what nor where.
    throw new SxError('catalog', `${err instanceof SxError ? '' : 'catalog '}${displayUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  db.close();
  throw unreadableCatalog(displayUrl(url), lacks);
}
