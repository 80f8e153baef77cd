// The worker thread behind PgDatabase: it holds the PostgreSQL connections and runs each query
// asynchronously with `pg`, while the catalog's thread waits for the answer (synckit). The
// catalog's interface stays synchronous on both backends.
import pg from 'pg';
import { runAsWorker } from 'synckit';
import type { PgReply, PgRequest } from './protocol.ts';

// Counts and sizes come back as bigint/numeric, which pg gives as strings; the catalog's values
// are all below 2^53, as SQLite gives them. Booleans come back as 1/0, as SQLite's do.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);
pg.types.setTypeParser(pg.types.builtins.BOOL, (value: string) => (value === 't' ? 1 : 0));

const clients = new Map<number, pg.Client>();
let nextId = 1;

function client(id: number): pg.Client {
  const found = clients.get(id);
  if (!found) throw new Error(`catalog connection ${id} is closed`);
  return found;
}

runAsWorker(async (request: PgRequest): Promise<PgReply> => {
  switch (request.op) {
    case 'open': {
      const connection = new pg.Client({ connectionString: request.url, connectionTimeoutMillis: request.timeoutMs });
      // A connection the server drops (a restart) fails the next query with the reason; without
      // a listener the error would end the worker.
      connection.on('error', () => {});
      await connection.connect();
      const id = nextId++;
      clients.set(id, connection);
      return { rows: [], changes: 0, id };
    }
    case 'query': {
      // Without parameters, the simple protocol: a migration's several statements run as one.
      const result = request.params.length === 0
        ? await client(request.connection).query(request.sql)
        : await client(request.connection).query(request.sql, request.params);
      const last = Array.isArray(result) ? result[result.length - 1] : result;
      return { rows: last?.rows ?? [], changes: last?.rowCount ?? 0 };
    }
    case 'close': {
      const connection = clients.get(request.connection);
      clients.delete(request.connection);
      await connection?.end();
      return { rows: [], changes: 0 };
    }
  }
});
