// What the catalog's query modules need of a database: better-sqlite3's own interface, which
// the embedded SQLite catalog is, and which the PostgreSQL catalog (postgres/database.ts)
// implements, synchronously too, so the same queries run on both.

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  /** Whether an `iterate` over it has not finished (it cannot run again until then). */
  readonly busy: boolean;
}

/** The catalog's transactions take no arguments: what they work on is in their closure. */
export interface Transaction<T> {
  /** A read transaction: one snapshot (on PostgreSQL its writes would not be serialised: write in `immediate`). */
  (): T;
  /** BEGIN IMMEDIATE: the write lock is taken first, so two writers cannot interleave. */
  immediate(): T;
}

export interface SqlDatabase {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  transaction<T>(fn: () => T): Transaction<T>;
  close(): unknown;
}
