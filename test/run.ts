// `npm test`: runs AVA and ends with the plain line CI reads, `N passed, N failed`.
// The S3 tests need a real endpoint: unless S3_ENDPOINT names one, a throwaway Ceph RGW is
// started for the run when radosgw is installed, and stopped however the run ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ava = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url));
const rgwScripts = fileURLToPath(new URL('./services/ceph-rgw/', import.meta.url));

let cluster: { folder: string; dir: string } | undefined;
let running: ChildProcess | undefined;

/** Synchronous, so that it also runs from the 'exit' event (an uncaught error, process.exit). */
function stopRgw(): void {
  if (!cluster) return;
  const { folder, dir } = cluster;
  cluster = undefined;
  spawnSync('bash', [join(rgwScripts, 'stop.sh'), dir], { stdio: 'inherit' });
  rmSync(folder, { recursive: true, force: true });
}
process.on('exit', stopRgw);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    running?.kill(signal);
    stopRgw();
    process.exit(code);
  });
}

function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer().once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** `count` consecutive free ports below 32768 (the ephemeral range would race with clients). */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 12000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}

/** The environment for AVA with a fresh RGW, or undefined when there is none to start (the S3 tests then fail, saying why). */
async function startRgw(): Promise<Record<string, string> | undefined> {
  if (spawnSync('sh', ['-c', 'command -v radosgw']).status !== 0) {
    console.log('# S3_ENDPOINT is not set and radosgw is not installed: the S3 tests will fail (apt-get install radosgw ceph-mon ceph-osd)');
    return undefined;
  }
  const folder = mkdtempSync(join(tmpdir(), 'sxarchive-rgw-'));
  cluster = { folder, dir: join(folder, 'cluster') };
  const port = await freePorts(3); // the gateway, then the monitor's v1 and v2 ports
  const keys = { AWS_ACCESS_KEY_ID: 'sxarchive-test', AWS_SECRET_ACCESS_KEY: randomBytes(20).toString('hex') };
  const log = join(folder, 'start.log');
  const out = openSync(log, 'w');
  // Output to a file, not a pipe: the daemons fork away and could hold a pipe open.
  running = spawn('bash', [join(rgwScripts, 'start.sh')], {
    stdio: ['ignore', out, out],
    env: { ...process.env, DIR: cluster.dir, RGW_PORT: String(port), MON_PORT: String(port + 1), ACCESS_KEY: keys.AWS_ACCESS_KEY_ID, SECRET_KEY: keys.AWS_SECRET_ACCESS_KEY },
  });
  const code = await new Promise<number>((done) => running!.once('exit', (c) => done(c ?? 1)));
  running = undefined;
  if (code !== 0) {
    console.log(`# Ceph RGW did not start (test/services/ceph-rgw/start.sh exited with ${code}); the S3 tests will fail:`);
    for (const line of readFileSync(log, 'utf8').trimEnd().split('\n')) console.log(`#   ${line}`);
    stopRgw();
    return undefined;
  }
  console.log(`# Ceph RGW for the S3 tests at http://127.0.0.1:${port}`);
  return { S3_ENDPOINT: `http://127.0.0.1:${port}`, ...keys };
}

const s3 = process.env.S3_ENDPOINT ? {} : await startRgw();
const child = spawn(process.execPath, [ava, '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...s3 } });
running = child;

let passed = 0;
let failed = 0;
let skipped = 0;
for await (const line of createInterface({ input: child.stdout! })) {
  console.log(line);
  if (/^not ok \d+/.test(line)) failed += 1;
  else if (/^ok \d+.*# SKIP/i.test(line)) skipped += 1;
  else if (/^ok \d+/.test(line)) passed += 1;
}
const code: number = await new Promise((done) => child.on('close', (c) => done(c ?? 1)));
// AVA can fail outside any test (an uncaught error in a file, a timeout): count that as a failure.
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
