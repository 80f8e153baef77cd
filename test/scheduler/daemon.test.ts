// The scheduler on schedules that fire every second: the real `sxarchive daemon` moving aged
// containers and stopping on SIGTERM, and runDaemon with stand-in jobs for skipped runs, a job
// that throws and a stop during a run. The stand-in jobs' timers run in this process, so nothing
// here blocks the event loop (no spawnSync).
import test from 'ava';
import Database from 'better-sqlite3';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SxError } from '../../src/errors.ts';
import { runDaemon, type DaemonOptions, type JobName, type JobRun } from '../../src/scheduler/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const EVERY_SECOND = '* * * * * *';

type Line = Record<string, unknown>;
interface RunLine { job: JobName; started: string; finished: string; state: string; exitCode: number; summary?: Record<string, unknown>; error?: string; stack?: string }

const isRun = (l: Line): l is Line & RunLine => typeof l.job === 'string' && typeof l.started === 'string';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sxarchive(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(50)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

/** No two runs overlap in time: the daemon carries out one at a time. */
function overlapping(runs: RunLine[]): [RunLine, RunLine] | undefined {
  const sorted = [...runs].sort((a, b) => a.started.localeCompare(b.started));
  for (let i = 1; i < sorted.length; i++) if (sorted[i].started < sorted[i - 1].finished) return [sorted[i - 1], sorted[i]];
  return undefined;
}

function facilityYaml(schedules: string): string {
  return `facility: test
currency: EUR
tiers:
  ssd:  { kind: filesystem, path: tiers/ssd,  price_per_tb_year: 100 }
  hdd:  { kind: filesystem, path: tiers/hdd,  price_per_tb_year: 10 }
  tape: { kind: tape,       path: tiers/tape, price_per_tb_year: 10, min_duration_days: 365 }
containers:
  max_frames: 2
ingest:
  tier: hdd
  policy: keep-all
${schedules}beamtime_price_per_hour: 2000
`;
}

// hdd -> ssd is a move between file systems: no tape or S3 involved.
const POLICY = `policy: hdd-then-ssd
version: 1
rules:
  - name: all-raw
    keep: [{ product: raw, lifecycle: [hdd: 1h, ssd: forever] }]
`;

const h5Files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.h5')).sort() : []);

test('the daemon migrates containers whose step has ended, one run at a time, and stops on SIGTERM with exit 0', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const h5 = join(dir, 'f.h5');
  const geom = join(dir, 'f.geom');
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, POLICY);
  t.is((await sxarchive(['simulate', '--detector', 'tiny', '--frames', '6', '--out', h5, '--geometry-out', geom, '--json'])).code, 0);
  mkdirSync(data);
  writeFileSync(join(data, 'facility.yaml'), facilityYaml(`schedules:\n  migrate: "${EVERY_SECOND}"\n  expire: "${EVERY_SECOND}"\n`));
  // With a geometry the frames are labelled, so the policy's rule decides them (unlabelled frames are kept raw forever).
  const ingest = await sxarchive(['--data-dir', data, 'ingest', h5, '--experiment', 'e1', '--geometry', geom, '--policy', policy, '--json']);
  t.is(ingest.code, 0, ingest.stderr);
  const containers = (JSON.parse(ingest.stdout) as { containers: { tier: string }[] }).containers;
  t.true(containers.length >= 2);
  t.true(containers.every((c) => c.tier === 'hdd'));
  const onHdd = h5Files(join(data, 'tiers/hdd'));
  t.is(onHdd.length, containers.length);

  // Two hours pass: the containers' hour on hdd is over.
  const db = new Database(join(data, 'catalog.sqlite'));
  t.teardown(() => db.close());
  db.prepare('UPDATE containers SET created_at = ?').run(new Date(Date.now() - 2 * 3_600_000).toISOString());

  const child = spawn(process.execPath, [BIN, '--data-dir', data, 'daemon'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: Line[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Line));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

  const runs = (job: JobName) => lines.filter(isRun).filter((l) => l.job === job);
  const running = () => {
    if (child.exitCode !== null) throw new Error(`the daemon exited ${child.exitCode}: ${stderr}`);
    return true;
  };
  await until('a migrate run that moves the containers', () => running() && runs('migrate').some((r) => (r.summary?.moved as { containers: number }).containers > 0), 30_000);
  // Another pass of each, with nothing left to do.
  const after = runs('migrate').length;
  await until('later runs', () => running() && runs('migrate').length > after && runs('expire').length >= 2);
  child.kill('SIGTERM');
  t.is(await exited, 0, stderr);
  t.is(stderr, '');

  t.like(lines[0], { daemon: 'started', pid: child.pid, schedules: { migrate: EVERY_SECOND, expire: EVERY_SECOND } });
  t.like(lines.at(-1), { daemon: 'stopped', pid: child.pid, signal: 'SIGTERM' });
  const [moving, ...rest] = runs('migrate').filter((r) => (r.summary?.moved as { containers: number }).containers > 0);
  t.deepEqual(rest, [], 'one pass moves everything that is due');
  t.like(moving, { state: 'complete', exitCode: 0, summary: { moved: { containers: containers.length }, failed: [], paused: [], interrupted: false } });
  t.true(Date.parse(moving.started) <= Date.parse(moving.finished));
  for (const r of runs('expire')) t.like(r, { state: 'complete', exitCode: 0, summary: { deleted: { containers: 0, bytes: 0 } } });
  t.is(overlapping(lines.filter(isRun)), undefined);
  for (const l of lines) t.true('daemon' in l || isRun(l) || typeof l.skipped === 'string', JSON.stringify(l));

  t.deepEqual(h5Files(join(data, 'tiers/ssd')), onHdd);
  t.deepEqual(h5Files(join(data, 'tiers/hdd')), []);
  // Each line's state is the one the job recorded.
  const jobs = db.prepare("SELECT id, kind, state FROM jobs WHERE kind IN ('migrate', 'expire') ORDER BY id").all() as { id: number; kind: string; state: string }[];
  t.deepEqual(lines.filter(isRun).map((r) => [r.summary?.jobId, r.job, r.state]), jobs.map((j) => [j.id, j.kind, j.state]));
});

test('the daemon refuses a facility.yaml with a bad cron expression, or with no schedules', async (t) => {
  const [badDir, noneDir] = [tempDir(t), tempDir(t)];
  writeFileSync(join(badDir, 'facility.yaml'), facilityYaml('schedules:\n  migrate: "61 * * * *"\n'));
  writeFileSync(join(noneDir, 'facility.yaml'), facilityYaml(''));
  const [bad, none] = await Promise.all([sxarchive(['--data-dir', badDir, 'daemon']), sxarchive(['--data-dir', noneDir, 'daemon'])]);
  // A broken facility.yaml is exit 1 for every command, the daemon included.
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^error: \S*facility\.yaml:13:12: schedules\.migrate: expected a cron expression such as "0 3 \* \* \*" but received "61 \* \* \* \*"\n$/);
  t.is(bad.stdout, '');

  t.is(none.code, 2);
  t.regex(none.stderr, /facility\.yaml has no schedules: add cron expressions for the daemon to run/);
  t.is(none.stdout, '');
});

function daemon(schedules: DaemonOptions['schedules'], run: DaemonOptions['run'], debug = false) {
  const lines: Line[] = [];
  const stop = new AbortController();
  const done = runDaemon({ schedules, run, log: (l) => lines.push(JSON.parse(JSON.stringify(l)) as Line), stop: stop.signal, debug });
  return { lines, stop, done, runs: () => lines.filter(isRun) };
}

test('a job that fires while its last run is still going is skipped and logged; a job that throws does not stop the daemon', async (t) => {
  let failures = 0;
  const d = daemon({ migrate: EVERY_SECOND, expire: EVERY_SECOND }, async (job): Promise<JobRun> => {
    if (job === 'expire') {
      failures += 1;
      throw new SxError('store', `tier hdd is on fire (${failures})`);
    }
    await sleep(2500); // over two of the schedule's seconds, whichever job fires first in each
    return { state: 'complete', exitCode: 0, summary: { moved: 1 } };
  });
  await until('two runs of each', () => ['migrate', 'expire'].every((job) => d.runs().filter((r) => r.job === job).length >= 2), 15_000);
  d.stop.abort('SIGTERM');
  await d.done;

  const runs = d.runs();
  t.is(overlapping(runs), undefined);
  const skipped = d.lines.filter((l) => typeof l.skipped === 'string');
  t.true(skipped.some((l) => l.job === 'migrate' && /^its previous run \(started \S+\) is still running$/.test(String(l.reason))), JSON.stringify(skipped));
  // expire fires while migrate runs and waits for it; firing again meanwhile, it is skipped too.
  t.true(skipped.some((l) => l.job === 'expire' && l.reason === 'a run of it is already waiting for migrate to finish'), JSON.stringify(skipped));
  const failed = runs.filter((r) => r.job === 'expire');
  t.true(failed.length >= 2, 'expire ran again after it threw');
  for (const [i, r] of failed.entries()) {
    t.like(r, { state: 'failed', exitCode: 1, error: `tier hdd is on fire (${i + 1})` });
    t.false('stack' in r);
    t.false('summary' in r);
  }
  t.like(runs.find((r) => r.job === 'migrate'), { state: 'complete', exitCode: 0, summary: { moved: 1 } });
  t.like(d.lines.at(-1), { daemon: 'stopped', signal: 'SIGTERM' });
});

test('--debug adds the stack trace of a job that throws', async (t) => {
  const d = daemon({ verify: EVERY_SECOND }, async () => {
    throw new Error('a bug');
  }, true);
  await until('a run', () => d.runs().length > 0, 5_000);
  d.stop.abort('SIGINT');
  await d.done;
  t.like(d.runs()[0], { job: 'verify', state: 'failed', exitCode: 1, error: 'a bug' });
  t.regex(String(d.runs()[0].stack), /^Error: a bug\n\s+at /);
});

test('stopping aborts the running job, waits for it to finish its step, and drops the run waiting behind it', async (t) => {
  let started: (() => void) | undefined;
  const running = new Promise<void>((r) => (started = r));
  const d = daemon({ migrate: EVERY_SECOND, verify: EVERY_SECOND }, async (job, signal): Promise<JobRun> => {
    started!();
    await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
    // The step in progress is finished before the job returns. Longer than the 400 ms asserted
    // below: a timer counts from the event loop's cached time, which can lag Date.now() by a few ms.
    await sleep(450);
    return { state: 'interrupted', exitCode: 130, summary: { job, interrupted: true } };
  });
  await running;
  await sleep(1200); // a schedule's second has passed: the other job has fired and waits
  const stoppedAt = Date.now();
  d.stop.abort('SIGTERM');
  await d.done;
  const returnedAt = Date.now();

  const runs = d.runs();
  t.is(runs.length, 1);
  const [run] = runs;
  t.like(run, { state: 'interrupted', exitCode: 130, summary: { job: run.job, interrupted: true } });
  t.true(Date.parse(run.finished) >= stoppedAt + 400);
  t.true(Date.parse(run.finished) <= returnedAt, 'runDaemon returns only after the run has ended');
  const other = run.job === 'migrate' ? 'verify' : 'migrate';
  const dropped = d.lines.findIndex((l) => l.job === other && l.reason === 'the daemon stopped before its turn');
  t.true(dropped > d.lines.indexOf(run), JSON.stringify(d.lines));
  t.like(d.lines[0], { daemon: 'started' });
  t.like(d.lines.at(-1), { daemon: 'stopped', signal: 'SIGTERM' });
  t.is(dropped, d.lines.length - 2);
});
