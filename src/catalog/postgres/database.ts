// A PostgreSQL connection with better-sqlite3's synchronous interface (sql.ts), so the catalog's
// query modules run unchanged on a facility's server. Each query goes to a worker thread that
// holds the connection (worker.ts) and this thread waits for its answer: a catalog query on a
// LAN takes a fraction of a millisecond, less than a SQLite commit's fsync, which blocks this
// thread just the same.
import { fileURLToPath } from 'node:url';
import { createSyncFn } from 'synckit';
import { toPostgres, type PgQuery } from './dialect.ts';
import type { PgReply, PgRequest, PgValue } from './protocol.ts';
import type { RunResult, SqlDatabase, Statement, Transaction } from '../sql.ts';

const call = createSyncFn<(request: PgRequest) => Promise<PgReply>>(fileURLToPath(new URL('./worker-entry.js', import.meta.url)));

/**
 * Every write transaction takes this one lock first, as SQLite's BEGIN IMMEDIATE takes its
 * database's write lock: writers from any process, on any node, follow one another, and what the
 * catalog's code does inside a transaction (read, decide, write) stays as safe as on SQLite.
 */
const WRITE_LOCK = 0x5358_4152; // "SXAR"

/** How long a writer waits for another's transaction, as SQLite's busy_timeout. */
const LOCK_TIMEOUT = '10s';

export class PgDatabase implements SqlDatabase {
  private readonly connection: number;
  private depth = 0;
  private open = true;
  private withId: Set<string> | undefined;

  constructor(url: string) {
    this.connection = call({ op: 'open', url, timeoutMs: 10_000 }).id!;
    this.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
  }

  prepare(sql: string): Statement {
    return new PgStatement(this, toPostgres(sql));
  }

  /** Runs `sql` as it is (PostgreSQL's own, several statements): for migrations. */
  exec(sql: string): this {
    this.query(sql);
    return this;
  }

  transaction<T>(fn: () => T): Transaction<T> {
    return Object.assign(() => this.inTransaction(false, fn), { immediate: () => this.inTransaction(true, fn) });
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    call({ op: 'close', connection: this.connection });
  }

  /** The answer to one statement, parameters as PostgreSQL numbers them. */
  query(sql: string, params: PgValue[] = []): PgReply {
    if (!this.open) throw new Error('the catalog is closed');
    try {
      const reply = call({ op: 'query', connection: this.connection, sql, params });
      for (const row of reply.rows) for (const [k, v] of Object.entries(row)) if (v instanceof Uint8Array) row[k] = asBuffer(v);
      return reply;
    } catch (err) {
      // What ran, for --debug: the server's message names only a position in it.
      if (err instanceof Error) Object.assign(err, { sql });
      throw err;
    }
  }

  /** Whether `table` has an `id` column, which an INSERT returns as better-sqlite3's lastInsertRowid. */
  hasId(table: string): boolean {
    this.withId ??= new Set(
      this.query("SELECT table_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'id'").rows.map((r) => String(r.name)),
    );
    return this.withId.has(table);
  }

  private inTransaction<T>(immediate: boolean, work: () => T): T {
    // Nested: a savepoint, as better-sqlite3 does.
    if (this.depth > 0) {
      const name = `sx_${this.depth}`;
      this.query(`SAVEPOINT ${name}`);
      this.depth += 1;
      try {
        const result = work();
        this.query(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (err) {
        this.query(`ROLLBACK TO SAVEPOINT ${name}`);
        this.query(`RELEASE SAVEPOINT ${name}`);
        throw err;
      } finally {
        this.depth -= 1;
      }
    }
    // A read transaction sees one snapshot, as SQLite's does; a write one is serialised by the lock.
    this.query(immediate ? 'BEGIN' : 'BEGIN ISOLATION LEVEL REPEATABLE READ');
    this.depth = 1;
    try {
      if (immediate) this.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const result = work();
      if (result instanceof Promise) throw new TypeError('a catalog transaction cannot be asynchronous');
      this.query('COMMIT');
      return result;
    } catch (err) {
      if (this.open) this.query('ROLLBACK');
      throw err;
    } finally {
      this.depth = 0;
    }
  }
}

class PgStatement implements Statement {
  readonly busy = false;

  constructor(
    private readonly db: PgDatabase,
    private readonly query: PgQuery,
  ) {}

  run(...params: unknown[]): RunResult {
    const { query } = this;
    const returnId = !query.returns && query.insertInto !== undefined && this.db.hasId(query.insertInto);
    const reply = this.db.query(returnId ? `${query.sql} RETURNING id` : query.sql, this.bind(params));
    const last = reply.rows[reply.rows.length - 1];
    return { changes: reply.changes, lastInsertRowid: last && typeof last.id === 'number' ? last.id : 0 };
  }

  get(...params: unknown[]): unknown {
    return this.db.query(this.query.sql, this.bind(params)).rows[0];
  }

  all(...params: unknown[]): unknown[] {
    return this.db.query(this.query.sql, this.bind(params)).rows;
  }

  // The rows are all fetched at once: PostgreSQL cursors live only inside a transaction, and the
  // catalog iterates outside them.
  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.all(...params)[Symbol.iterator]();
  }

  private bind(params: unknown[]): PgValue[] {
    const { names } = this.query;
    // Named values given to a statement that uses none of them are ignored, as better-sqlite3 does.
    if (names.length === 0) return params.filter((p) => !isNamed(p)).map(value);
    const named = (params.find(isNamed) ?? {}) as Record<string, unknown>;
    return names.map((name) => {
      if (!(name in named)) throw new RangeError(`missing named parameter "${name}"`);
      return value(named[name]);
    });
  }
}

/** Blobs cross from the worker as Uint8Arrays; the catalog gets Buffers, as better-sqlite3 gives them (the same memory). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An object of `@name` values (better-sqlite3 takes them so), not a value of its own. */
function isNamed(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

function value(v: unknown): PgValue {
  if (v === undefined) return null;
  if (typeof v === 'boolean') throw new TypeError('catalog parameters are numbers, strings, bigints, buffers or null, not booleans');
  return v as PgValue;
}
