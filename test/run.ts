// `npm test`: runs AVA and ends with the plain line CI reads, `N passed, N failed`.
// The S3 tests need a real endpoint: unless S3_ENDPOINT names one, a throwaway Ceph RGW is
// started for the run when radosgw is installed, and stopped however the run ends. The
// catalog's tests on PostgreSQL need a server: unless SXARCHIVE_TEST_POSTGRES names one, a
// throwaway one is started the same way when Debian's postgresql is installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPostgres, stopPostgres } from './services/postgres.ts';
import { startRgw, stopRgwOnExit } from './services/rgw.ts';

const ava = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url));

let running: ChildProcess | undefined;
stopRgwOnExit((signal) => {
  running?.kill(signal);
  stopPostgres();
});
process.on('exit', stopPostgres);

/** The environment for AVA with a fresh RGW, or undefined when there is none to start (the S3 tests then fail, saying why). */
async function rgwForTests(): Promise<Record<string, string> | undefined> {
  const rgw = await startRgw();
  if (rgw.state === 'not-installed') {
    console.log('# S3_ENDPOINT is not set and radosgw is not installed: the S3 tests will fail (apt-get install radosgw ceph-mon ceph-osd)');
    return undefined;
  }
  if (rgw.state === 'failed') {
    console.log(`# Ceph RGW did not start (test/services/ceph-rgw/start.sh exited with ${rgw.code}); the S3 tests will fail:`);
    for (const line of rgw.log) console.log(`#   ${line}`);
    return undefined;
  }
  console.log(`# Ceph RGW for the S3 tests at ${rgw.env.S3_ENDPOINT}`);
  return rgw.env;
}

/** The environment naming a fresh PostgreSQL server, or nothing (the PostgreSQL tests then fail, saying why). */
async function postgresForTests(): Promise<Record<string, string>> {
  const pg = await startPostgres();
  if (pg.state === 'not-installed') {
    console.log('# SXARCHIVE_TEST_POSTGRES is not set and PostgreSQL is not installed: the catalog tests on PostgreSQL will fail (apt-get install postgresql)');
    return {};
  }
  if (pg.state === 'failed') {
    console.log(`# PostgreSQL did not start (test/services/postgres/start.sh exited with ${pg.code}); the catalog tests on PostgreSQL will fail:`);
    for (const line of pg.log) console.log(`#   ${line}`);
    return {};
  }
  console.log(`# PostgreSQL for the catalog tests at ${pg.url}`);
  return { SXARCHIVE_TEST_POSTGRES: pg.url };
}

const s3 = process.env.S3_ENDPOINT ? {} : await rgwForTests();
const pg = process.env.SXARCHIVE_TEST_POSTGRES ? {} : await postgresForTests();
const child = spawn(process.execPath, [ava, '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...s3, ...pg } });
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
