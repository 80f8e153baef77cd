// What the catalog's thread asks the PostgreSQL worker (worker.ts), and what it answers.
export type PgValue = string | number | bigint | Buffer | Uint8Array | null;

export type PgRequest =
  | { op: 'open'; url: string; timeoutMs: number }
  | { op: 'query'; connection: number; sql: string; params: PgValue[] }
  | { op: 'close'; connection: number };

export interface PgReply {
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted. */
  changes: number;
  /** The connection `open` made. */
  id?: number;
}
