// The catalog's own tests run on both backends: SQLite, and PostgreSQL on the server named by
// SXARCHIVE_TEST_POSTGRES (test/services/postgres.ts starts one for `npm test`). Each test gets
// a fresh catalog of its own; a database on the server is dropped when the test ends.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { MIGRATIONS_DIR, POSTGRES_MIGRATIONS_DIR } from '../../src/catalog/migrator.ts';
import { PgDatabase } from '../../src/catalog/postgres/database.ts';
import { tempDir } from './tmp.ts';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

/** Where the migrations of a backend are. */
export const migrationsDir = (backend: Backend) => (backend === 'postgres' ? POSTGRES_MIGRATIONS_DIR : MIGRATIONS_DIR);

/** The PostgreSQL server the tests make their databases on (`npm test` starts one). */
export function postgresServer(): string {
  const server = process.env.SXARCHIVE_TEST_POSTGRES;
  if (!server) throw new Error('SXARCHIVE_TEST_POSTGRES is not set: npm test starts a PostgreSQL server for these tests when Debian\'s postgresql is installed (apt-get install postgresql)');
  return server;
}

/** Registers a test once per backend, titled `sqlite: ...` and `postgres: ...`. */
export function eachBackend(title: string, run: (t: ExecutionContext, backend: Backend) => void | Promise<void>): void {
  for (const backend of BACKENDS) test(`${backend}: ${title}`, (t) => run(t, backend));
}
/** A new, empty PostgreSQL database on `server`, dropped when the test ends; its URL. */
export function freshPostgresDatabase(t: ExecutionContext, server: string): string {
  const name = `sx_test_${randomBytes(6).toString('hex')}`;
  const admin = new PgDatabase(server);
  try {
    admin.exec(`CREATE DATABASE ${name}`);
  } finally {
    admin.close();
  }
  // Registered first, so it runs after the test's own teardowns have closed its catalogs.
  t.teardown(() => {
    const db = new PgDatabase(server);
    try {
      db.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      db.close();
    }
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.href;
}

/** A location for a fresh catalog: a SQLite file, or a PostgreSQL database of its own. */
export function testCatalogLocation(t: ExecutionContext, backend: Backend): string {
  return backend === 'postgres' ? freshPostgresDatabase(t, postgresServer()) : join(tempDir(t), 'catalog.sqlite');
}
