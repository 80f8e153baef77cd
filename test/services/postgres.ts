// A throwaway PostgreSQL server (test/services/postgres/start.sh) for this process: `npm test`
// starts one when SXARCHIVE_TEST_POSTGRES names no server, for the catalog's tests on
// PostgreSQL, and it is stopped however the process ends.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.ts';

const scripts = fileURLToPath(new URL('./postgres/', import.meta.url));

export type PostgresStart =
  | { state: 'started'; url: string }
  | { state: 'not-installed' }
  /** start.sh failed (the server is stopped again); `log` is what it printed. */
  | { state: 'failed'; code: number; log: string[] };

let server: { folder: string; dir: string } | undefined;

/** Synchronous, so that it also runs from the 'exit' event. */
export function stopPostgres(): void {
  if (!server) return;
  const { folder, dir } = server;
  server = undefined;
  spawnSync('bash', [join(scripts, 'stop.sh'), dir], { stdio: 'inherit' });
  rmSync(folder, { recursive: true, force: true });
}

/** Starts a server on a free port; one per process. Its caller stops it with `stopPostgres`. */
export async function startPostgres(): Promise<PostgresStart> {
  if (spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb || command -v initdb']).status !== 0) return { state: 'not-installed' };
  const folder = mkdtempSync(join(tmpdir(), 'sxarchive-pg-'));
  // Run as root, start.sh hands the cluster to the postgres user, who must reach it.
  chmodSync(folder, 0o755);
  server = { folder, dir: join(folder, 'cluster') };
  const port = await freePorts(1);
  const log = join(folder, 'start.log');
  const out = openSync(log, 'w');
  // Output to a file, not a pipe: the server forks away and could hold a pipe open.
  const starting = spawn('bash', [join(scripts, 'start.sh')], { stdio: ['ignore', out, out], env: { ...process.env, DIR: server.dir, PG_PORT: String(port) } });
  const code = await new Promise<number>((done) => starting.once('exit', (c) => done(c ?? 1)));
  const printed = readFileSync(log, 'utf8').trimEnd().split('\n');
  const url = printed.map((line) => /^url=(\S+)$/.exec(line)?.[1]).find(Boolean);
  if (code !== 0 || !url) {
    stopPostgres();
    return { state: 'failed', code, log: printed };
  }
  return { state: 'started', url };
}
