// `npm test`: runs AVA and ends with the plain line CI reads, `N passed, N failed`.
// The S3 tests need a real endpoint: unless S3_ENDPOINT names one, a throwaway Ceph RGW is
// started for the run when radosgw is installed, and stopped however the run ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startRgw, stopRgwOnExit } from './services/rgw.ts';

const ava = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url));

let running: ChildProcess | undefined;
stopRgwOnExit((signal) => running?.kill(signal));

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

const s3 = process.env.S3_ENDPOINT ? {} : await rgwForTests();
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
