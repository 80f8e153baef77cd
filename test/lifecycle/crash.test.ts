// Migration killed with SIGKILL at seeded random points, fs -> tape (a mount point) and fs -> S3
// (a real Ceph RGW), each kill followed by a restart: the restart completes the job, every
// container reads back with its checksum from a tier, no catalog row is left between states,
// and verify finds nothing orphaned.
import test from 'ava';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifecycleCatalog } from '../../src/catalog/lifecycle.ts';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { digestCopy } from '../../src/lifecycle/context.ts';
import { migrate } from '../../src/lifecycle/migrate.ts';
import { verify } from '../../src/lifecycle/verify.ts';
import { OWNER, isAlive } from '../../src/process-owner.ts';
import { Tiers } from '../../src/tiers/open.ts';
import { makeRandom } from '../helpers/random.ts';
import { freshBucket } from '../helpers/s3.ts';
import { HOUR_MS, facilityYaml, later, makeArchive } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const TRIALS = 50;

const POLICY = `policy: split
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 1h, s3: forever] }]
  - name: blanks
    keep: [{ product: raw, lifecycle: [hdd: 1h, tape: forever] }]
`;

function tiers(bucket: string, prefix: string): string {
  return `  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 10, aggregate_size: 60kB }
  s3:   { kind: s3, endpoint: "${process.env.S3_ENDPOINT}", bucket: ${bucket}, prefix: "${prefix}", price_per_tb_year: 20, max_attempts: 2 }`;
}

/** When the child's migrate job is recorded as running: its work begins. */
function jobStarted(catalog: string): boolean {
  try {
    const db = new Database(catalog, { readonly: true, fileMustExist: true });
    try {
      return db.prepare("SELECT 1 FROM jobs WHERE kind = 'migrate' AND state = 'running'").get() !== undefined;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/** Runs migrate, SIGKILLing it `ms` after its job is recorded (never, with ms undefined); resolves with how it ended and how long its work took. */
function runMigrate(data: string, asOf: string, ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; workMs: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, '--data-dir', data, 'migrate', '--as-of', asOf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    let began = 0;
    let timer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (began || !jobStarted(join(data, 'catalog.sqlite'))) return;
      began = Date.now();
      if (ms !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), ms);
    }, 3);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      done({ code, signal, workMs: began ? Date.now() - began : 0, stderr });
    });
  });
}

interface Invariants {
  /** Rows between states: transfers not finished, copies being written, open aggregates. */
  unfinished: string[];
  /** Containers without a copy that reads back with the catalog's SHA-256. */
  unreadable: string[];
  /** Containers whose live copies are not exactly one, on the tier their lifecycle says. */
  misplaced: string[];
  moved: number;
}

async function invariants(data: string, expectTier: (containerId: number) => string): Promise<Invariants> {
  const facility = loadFacility(data);
  const catalog = openCatalog(facility.catalogLocation, { readonly: true });
  try {
    const store = new LifecycleCatalog(catalog.db);
    const tiers = await Tiers.open(facility);
    const unfinished = [
      ...store.activeTransfers().map((t) => `transfer ${t.id} ${t.state}`),
      ...store.writingPlacements().map((w) => `placement writing ${w.tier} ${w.key}`),
      ...store.aggregates({ state: 'open' }).map((a) => `aggregate ${a.name} open`),
    ];
    const unreadable: string[] = [];
    const misplaced: string[] = [];
    const ids = (catalog.db.prepare('SELECT id FROM containers').all() as { id: number }[]).map((r) => r.id);
    let moved = 0;
    for (const id of ids) {
      const live = store.livePlacements({ containerId: id });
      let ok = false;
      for (const p of live) {
        const got = await digestCopy(tiers, p).catch(() => undefined);
        if (got?.sha256 === p.sha256) ok = true;
      }
      if (!ok) unreadable.push(`container ${id}`);
      if (live.length !== 1 || live[0].tier !== expectTier(id)) misplaced.push(`container ${id}: ${live.map((p) => p.tier).join(', ') || 'nowhere'}`);
      if (live.some((p) => p.tier !== 'hdd')) moved += 1;
    }
    return { unfinished, unreadable, misplaced, moved };
  } finally {
    catalog.close();
  }
}

test.serial(`migration fs -> tape and fs -> s3 killed at ${TRIALS} random points: each restart completes it, every container reads back right, nothing is half-committed or orphaned`, async (t) => {
  const { bucket } = await freshBucket(t);
  const base = await makeArchive(t, { facility: facilityYaml(tiers(bucket, 'base/')), policy: POLICY, runs: 3, frames: 20, seed: 11 });
  const targets = new Map<number, string>();
  {
    const db = new Database(base.catalog, { readonly: true });
    for (const r of db.prepare('SELECT DISTINCT container_id AS id, rule FROM decisions WHERE container_id IS NOT NULL').all() as { id: number; rule: string }[]) {
      targets.set(r.id, r.rule === 'hits' ? 's3' : 'tape');
    }
    db.close();
  }
  t.true(targets.size >= 10, `${targets.size} containers`);
  t.true([...targets.values()].includes('s3') && [...targets.values()].includes('tape'));
  const asOf = later(2 * HOUR_MS);
  const trial = (i: number) => {
    const data = join(base.dir, `trial-${i}`);
    cpSync(base.data, data, { recursive: true });
    writeFileSync(join(data, 'facility.yaml'), facilityYaml(tiers(bucket, `trial-${i}/`)));
    return data;
  };

  // An unkilled pass tells how long the work takes, so the kills can fall anywhere inside it.
  const calibration = trial(0);
  const full = await runMigrate(calibration, asOf);
  t.is(full.code, 0, full.stderr);
  t.like(await invariants(calibration, (id) => targets.get(id)!), { unfinished: [], unreadable: [], misplaced: [], moved: targets.size });
  t.log(`an unkilled migration of ${targets.size} containers works for ${full.workMs} ms`);

  const random = makeRandom(2027);
  const progress: number[] = [];
  for (let i = 1; i <= TRIALS; i++) {
    const data = trial(i);
    const killed = await runMigrate(data, asOf, random() * full.workMs * 1.1);
    const partway = await invariants(data, (id) => targets.get(id)!);
    progress.push(partway.moved);
    // The restart runs in this process (the calibration ran the command line): the same code, without a second start-up per trial.
    const facility = loadFacility(data);
    const catalog = openCatalog(facility.catalogLocation);
    try {
      const ctx = { facility, catalog, store: new LifecycleCatalog(catalog.db), tiers: await Tiers.open(facility), owner: OWNER, isAlive };
      const restart = await migrate(ctx, { asOf: new Date(asOf) });
      t.like(restart, { failed: [], paused: [], interrupted: false }, `trial ${i} (${killed.signal ?? `exit ${killed.code}`}): the restart completes`);
      const after = await invariants(data, (id) => targets.get(id)!);
      t.deepEqual(after, { unfinished: [], unreadable: [], misplaced: [], moved: targets.size }, `trial ${i}`);
      const found = await verify(ctx, {});
      t.deepEqual(found.findings, [], `trial ${i}: verify finds nothing corrupt, missing or orphaned`);
    } finally {
      catalog.close();
    }
  }
  t.log(`containers moved when each kill landed: ${progress.join(' ')}`);
  t.true(progress.filter((n) => n > 0 && n < targets.size).length >= TRIALS / 3, 'many kills landed in the middle of the work');
});
