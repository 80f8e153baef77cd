// Statements prepared once per open database and reused, as better-sqlite3 keeps its own
// BEGIN/COMMIT statements per database (lib/methods/transaction.js): preparing parses and plans
// the SQL, which costs more than running most of the catalog's queries. Keyed by the database,
// not by whoever holds it, so a LifecycleCatalog made per job shares the catalog's statements.
import type { SqlDatabase, Statement } from './sql.ts';

const cache = new WeakMap<SqlDatabase, Map<string, Statement>>();

/**
 * The statement for `sql` on `db`, prepared on its first use.
 *
 * @example prepared(db, 'SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ?').get(experimentId)
 */
export function prepared(db: SqlDatabase, sql: string): Statement {
  let statements = cache.get(db);
  if (!statements) cache.set(db, (statements = new Map()));
  const statement = statements.get(sql);
  // One still iterating (a generator over frames not run to its end) cannot run again until it
  // finishes: this use gets a statement of its own.
  if (statement && !statement.busy) return statement;
  const fresh = db.prepare(sql);
  if (!statement) statements.set(sql, fresh);
  return fresh;
}
