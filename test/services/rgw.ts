// A throwaway Ceph RGW (test/services/ceph-rgw/start.sh) for this process: `npm test` and
// `npm run bench` start one when S3_ENDPOINT names no endpoint, and it is stopped however the
// process ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.ts';

const scripts = fileURLToPath(new URL('./ceph-rgw/', import.meta.url));

/** The endpoint and keys of a started gateway, as the S3 tests and the bench read them from the environment. */
export type RgwEnv = {
  S3_ENDPOINT: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
};

export type RgwStart =
  | { state: 'started'; env: RgwEnv }
  | { state: 'not-installed' }
  /** start.sh failed (the cluster is stopped again); `log` is what it printed. */
  | { state: 'failed'; code: number; log: string[] };

let cluster: { folder: string; dir: string } | undefined;
let starting: ChildProcess | undefined;

/** Synchronous, so that it also runs from the 'exit' event (an uncaught error, process.exit). */
export function stopRgw(): void {
  if (!cluster) return;
  const { folder, dir } = cluster;
  cluster = undefined;
  spawnSync('bash', [join(scripts, 'stop.sh'), dir], { stdio: 'inherit' });
  rmSync(folder, { recursive: true, force: true });
}

/**
 * Stops the gateway when the process exits, and on SIGINT/SIGTERM: `onSignal` first (a caller's
 * own child, say), then a start.sh still running, then the cluster; the process exits 130/143.
 */
export function stopRgwOnExit(onSignal?: (signal: NodeJS.Signals) => void): void {
  process.on('exit', stopRgw);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      onSignal?.(signal);
      starting?.kill(signal);
      stopRgw();
      process.exit(code);
    });
  }
}

/**
 * Starts a gateway with fresh keys on free ports; one per process. `memstoreBytes` is the RAM
 * its OSD may fill (start.sh's default otherwise): deleted objects free it only when the
 * gateway's garbage collection runs, hours later.
 */
export async function startRgw(options: { memstoreBytes?: number } = {}): Promise<RgwStart> {
  if (spawnSync('sh', ['-c', 'command -v radosgw']).status !== 0) return { state: 'not-installed' };
  const folder = mkdtempSync(join(tmpdir(), 'sxarchive-rgw-'));
  cluster = { folder, dir: join(folder, 'cluster') };
  const port = await freePorts(3); // the gateway, then the monitor's v1 and v2 ports
  const keys = { AWS_ACCESS_KEY_ID: 'sxarchive-test', AWS_SECRET_ACCESS_KEY: randomBytes(20).toString('hex') };
  const log = join(folder, 'start.log');
  const out = openSync(log, 'w');
  const memstore = options.memstoreBytes === undefined ? {} : { MEMSTORE_BYTES: String(options.memstoreBytes) };
  // Output to a file, not a pipe: the daemons fork away and could hold a pipe open.
  starting = spawn('bash', [join(scripts, 'start.sh')], {
    stdio: ['ignore', out, out],
    env: { ...process.env, DIR: cluster.dir, RGW_PORT: String(port), MON_PORT: String(port + 1), ACCESS_KEY: keys.AWS_ACCESS_KEY_ID, SECRET_KEY: keys.AWS_SECRET_ACCESS_KEY, ...memstore },
  });
  const code = await new Promise<number>((done) => starting!.once('exit', (c) => done(c ?? 1)));
  starting = undefined;
  if (code !== 0) {
    const printed = readFileSync(log, 'utf8').trimEnd().split('\n');
    stopRgw();
    return { state: 'failed', code, log: printed };
  }
  return { state: 'started', env: { S3_ENDPOINT: `http://127.0.0.1:${port}`, ...keys } };
}
