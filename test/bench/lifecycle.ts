// The lifecycle stages of `npm run bench`: a migration pass to a filesystem tier and to a tape
// tier, each timed against `cp` of the same bytes in the same run (plain, and followed by
// `sync`: migration fsyncs every copy, plain cp does not), and S3 multipart uploads to a local
// RGW (a throwaway one unless S3_ENDPOINT names an endpoint).
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openCatalog, type BatchContainer, type Catalog } from '../../src/catalog/catalog.ts';
import { LifecycleCatalog } from '../../src/catalog/lifecycle.ts';
import type { LifecycleSpan } from '../../src/catalog/types.ts';
import { loadFacility, type Facility } from '../../src/config/facility.ts';
import type { LifecycleContext } from '../../src/lifecycle/context.ts';
import { migrate } from '../../src/lifecycle/migrate.ts';
import { OWNER, isAlive } from '../../src/process-owner.ts';
import { Tiers } from '../../src/tiers/open.ts';
import { plainClient } from '../helpers/s3.ts';
import { startRgw, stopRgw, stopRgwOnExit, type RgwEnv } from '../services/rgw.ts';

export type Emit = (record: Record<string, unknown>) => void;
export type Target = (stage: string, detector: string | undefined, measured: number, comparison: '>=' | '<', bound: number, unit: string) => { target: string; met: boolean };

const MB = 1e6;
const HOUR_MS = 3_600_000;
const CHUNK = 4 << 20;
const FILE_BYTES = 96 << 20;
/** 1.6 GB per stage: several seconds of disk writes, so per-pass costs (planning, catalog) weigh little. */
const FILES = 16;
/**
 * 805 MB each for the upload and for migrate-s3: the RGW's memstore frees deleted objects only
 * when its garbage collection runs, hours later, so both stay in its RAM until it stops; hence
 * a memstore above start.sh's 2 GiB default.
 */
const S3_FILES = 8;
const RGW_MEMSTORE_BYTES = 3 * 2 ** 30;
const CACHE_NOTE = 'sources read once before each timing, so cp and migrate both read them from the page cache; migrate reads its just-written copy back from the page cache too';

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const mbPerS = (bytes: number, seconds: number) => round(bytes / MB / seconds);

function facilityYaml(s3 = ''): string {
  return `facility: bench
currency: EUR
tiers:
  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
  ssd:  { kind: filesystem, path: tiers/ssd, price_per_tb_year: 100 }
  tape: { kind: tape, path: mnt/tape, aggregate_size: 4GB, price_per_tb_year: 10 }
${s3}containers: { max_frames: 1000 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
`;
}

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${command} exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Reads every file once, so that whatever is timed next finds them in the page cache. */
function warm(files: string[]): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const file of files) {
    const fd = openSync(file, 'r');
    try {
      while (readSync(fd, buf, 0, CHUNK, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}

/** Writes a file of random bytes at each path and returns their SHA-256s. */
function writeRandomFiles(paths: string[]): string[] {
  const buf = Buffer.allocUnsafe(CHUNK);
  return paths.map((path) => {
    const hash = createHash('sha256');
    const fd = openSync(path, 'w');
    try {
      for (let done = 0; done < FILE_BYTES; done += CHUNK) {
        randomFillSync(buf);
        hash.update(buf);
        writeSync(fd, buf);
      }
    } finally {
      closeSync(fd);
    }
    return hash.digest('hex');
  });
}

interface Bench {
  facility: Facility;
  catalog: Catalog;
  ctx: LifecycleContext;
  policyId: number;
}

async function openBench(dataDir: string, s3Tier = ''): Promise<Bench> {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'facility.yaml'), facilityYaml(s3Tier));
  const facility = loadFacility(dataDir);
  const catalog = openCatalog(facility.catalogLocation);
  const text = 'bench containers: each carries its own lifecycle';
  const policyId = catalog.registerPolicy('bench-lifecycle', 1, text, createHash('sha256').update(text).digest('hex'));
  const ctx = { facility, catalog, store: new LifecycleCatalog(catalog.db), tiers: await Tiers.open(facility), owner: OWNER, isAlive };
  return { facility, catalog, ctx, policyId };
}

/**
 * Containers of random bytes on hdd, recorded as ingest records them, with an hour there: a
 * pass as of two hours ahead moves them all to the lifecycle's second tier.
 */
function addContainers(bench: Bench, experiment: string, lifecycle: LifecycleSpan[], count: number): { files: string[]; sums: string[]; bytes: number } {
  const exp = bench.catalog.ensureExperiment({ name: experiment });
  const runRow = bench.catalog.createRun(exp.id);
  const root = bench.facility.tierPath('hdd');
  const keys = Array.from({ length: count }, (_, i) => `${experiment}/run-0001/raw-${String(i + 1).padStart(5, '0')}.h5`);
  const files = keys.map((key) => join(root, key));
  mkdirSync(join(root, experiment, 'run-0001'), { recursive: true });
  const sums = writeRandomFiles(files);
  const validUntil = new Date(Date.now() + HOUR_MS).toISOString();
  const containers: BatchContainer[] = keys.map((path, i) => ({
    container: { experimentId: exp.id, path, product: 'raw', codec: 'none', nFrames: 1, bytes: FILE_BYTES, sha256: sums[i], lifecycle },
    tier: 'hdd', location: files[i], validUntil,
  }));
  bench.catalog.recordBatch({ runId: runRow.id, experimentId: exp.id, policyId: bench.policyId, frames: [], containers, decisions: [] });
  // The writes of setting up are on disk before anything is timed, not flushed during it.
  run('sync', []);
  return { files, sums, bytes: count * FILE_BYTES };
}

/** Seconds `cp` takes to copy `files` into a fresh folder on the same file system, then (`sync`) to fsync the copies. */
function cpSeconds(files: string[], into: string, sync: boolean): number {
  mkdirSync(into);
  warm(files);
  const start = performance.now();
  run('cp', [...files, into]);
  if (sync) run('sync', files.map((f) => join(into, basename(f))));
  const took = seconds(start);
  rmSync(into, { recursive: true });
  // Write-back still pending from a plain cp is not left for the next timing to pay.
  run('sync', []);
  return took;
}

/** Single-core SHA-256 speed: every migrated byte is hashed at least once (the read-back), twice into a tape aggregate. */
function sha256MbPerS(): number {
  const data = randomBytes(256 << 20);
  const start = performance.now();
  createHash('sha256').update(data).digest();
  return mbPerS(data.length, seconds(start));
}

/** One migration pass over the experiment, timed; every container must have moved. */
async function timeMigration(bench: Bench, experiment: string, files: string[]): Promise<{ seconds: number; aggregates: number }> {
  warm(files);
  const start = performance.now();
  const summary = await migrate(bench.ctx, { asOf: new Date(Date.now() + 2 * HOUR_MS), experiment });
  const took = seconds(start);
  if (summary.moved.containers !== files.length || summary.failed.length > 0 || summary.paused.length > 0) {
    throw new Error(`migration of ${experiment} moved ${summary.moved.containers} of ${files.length} containers: ${JSON.stringify({ failed: summary.failed, paused: summary.paused })}`);
  }
  return { seconds: took, aggregates: summary.aggregates.length };
}

async function benchLocalTier(emit: Emit, target: Target, bench: Bench, dir: string, to: 'ssd' | 'tape'): Promise<void> {
  const stage = to === 'tape' ? 'migrate-tape' : 'migrate-filesystem';
  const experiment = `to-${to}`;
  const { files, bytes } = addContainers(bench, experiment, [{ tier: 'hdd', days: 1 / 24 }, { tier: to, days: null }], FILES);
  const cp = cpSeconds(files, join(dir, `cp-${to}`), false);
  const cpSync = cpSeconds(files, join(dir, `cp-sync-${to}`), true);
  const { seconds: took, aggregates } = await timeMigration(bench, experiment, files);
  const ratio = round(cp / took, 3);
  const hashing = sha256MbPerS();
  emit({
    stage, from: 'hdd', to, containers: files.length, bytes, seconds: round(took, 2), mb_per_s: mbPerS(bytes, took),
    cp_mb_per_s: mbPerS(bytes, cp), cp_sync_mb_per_s: mbPerS(bytes, cpSync), ratio_to_cp: ratio, ratio_to_cp_sync: round(cpSync / took, 3),
    ...(to === 'tape' ? { aggregates } : {}), sha256_mb_per_s_per_core: hashing, cores: availableParallelism(),
    hash_passes: to === 'tape' ? 3 : 1, cache: CACHE_NOTE,
    ...target(stage, undefined, ratio, '>=', 0.8, 'x cp'),
  });
}

/** The endpoint to use: S3_ENDPOINT and its keys, else a throwaway RGW; `skipped` says why there is none. */
async function s3Endpoint(): Promise<{ env: RgwEnv; throwaway: boolean } | { skipped: string }> {
  const { S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = process.env;
  if (S3_ENDPOINT) {
    if (!AWS_ACCESS_KEY_ID || !AWS_SECRET_ACCESS_KEY) return { skipped: 'S3_ENDPOINT is set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' };
    return { env: { S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY }, throwaway: false };
  }
  stopRgwOnExit();
  const rgw = await startRgw({ memstoreBytes: RGW_MEMSTORE_BYTES });
  if (rgw.state === 'not-installed') return { skipped: 'radosgw is not installed (apt-get install radosgw ceph-mon ceph-osd)' };
  if (rgw.state === 'failed') return { skipped: `Ceph RGW did not start (test/services/ceph-rgw/start.sh exited with ${rgw.code}): ${rgw.log.at(-1) ?? ''}` };
  return { env: rgw.env, throwaway: true };
}

/** s3-multipart-upload (puts through the S3 tier's driver), then migrate-s3 of the same files, in a bucket of their own. */
async function benchS3At(emit: Emit, dir: string, env: RgwEnv, throwaway: boolean): Promise<void> {
  const bucket = `sx-bench-${randomBytes(6).toString('hex')}`;
  const data = join(dir, 'data-s3');
  mkdirSync(data);
  // The throwaway gateway's keys go in a credentials file, not into this process's environment.
  let credentials = '';
  if (throwaway) {
    writeFileSync(join(data, 'credentials'), `[default]\naws_access_key_id = ${env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${env.AWS_SECRET_ACCESS_KEY}\n`, { mode: 0o600 });
    credentials = ', credentials_file: credentials';
  }
  const bench = await openBench(data, `  s3:   { kind: s3, endpoint: "${env.S3_ENDPOINT}", bucket: ${bucket}${credentials}, price_per_tb_year: 20 }\n`);
  const s3 = bench.ctx.tiers.get('s3');
  // Made after the tiers are open: src/tiers/s3.ts turns off the SDK's Node 20 notice before any client exists.
  const client = plainClient({ endpoint: env.S3_ENDPOINT, accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  try {
    if (s3.config.kind !== 's3') throw new Error(`expected tier s3 to be an S3 tier, not ${s3.config.kind}`);
    const where = throwaway ? 'throwaway Ceph RGW on loopback (memstore: objects in RAM)' : 'S3_ENDPOINT';
    const { files, sums, bytes } = addContainers(bench, 'to-s3', [{ tier: 'hdd', days: 1 / 24 }, { tier: 's3', days: null }], S3_FILES);
    warm(files);
    const start = performance.now();
    for (const [i, file] of files.entries()) await s3.driver.put(`upload/${basename(file)}`, file, { sha256: sums[i] });
    const upload = seconds(start);
    for (const file of files) await s3.driver.delete(`upload/${basename(file)}`);
    emit({
      stage: 's3-multipart-upload', endpoint: where, objects: files.length, bytes, seconds: round(upload, 2), mb_per_s: mbPerS(bytes, upload),
      part_size: s3.config.part_size, parallel_parts: s3.config.parallel_parts, note: 'one put after another, each sending its parts parallel_parts at a time',
    });
    const { seconds: took } = await timeMigration(bench, 'to-s3', files);
    emit({
      stage: 'migrate-s3', from: 'hdd', to: 's3', endpoint: where, containers: files.length, bytes, seconds: round(took, 2), mb_per_s: mbPerS(bytes, took),
      upload_mb_per_s: mbPerS(bytes, upload), ratio_to_upload: round(upload / took, 3), note: 'each copy is read back whole from the endpoint and checked by SHA-256',
    });
  } finally {
    for await (const o of s3.driver.list()) await s3.driver.delete(o.key);
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
    bench.catalog.close();
  }
}

async function benchS3(emit: Emit, dir: string): Promise<void> {
  const endpoint = await s3Endpoint();
  if ('skipped' in endpoint) {
    emit({ stage: 's3-multipart-upload', skipped: endpoint.skipped });
    return;
  }
  try {
    await benchS3At(emit, dir, endpoint.env, endpoint.throwaway);
  } finally {
    // Its memstore holds what was uploaded in RAM until it stops.
    if (endpoint.throwaway) stopRgw();
  }
}

/** Emits migrate-filesystem, migrate-tape, s3-multipart-upload and migrate-s3. */
export async function benchMigration(emit: Emit, target: Target): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sxarchive-bench-lifecycle-'));
  try {
    const bench = await openBench(join(dir, 'data'));
    try {
      await benchLocalTier(emit, target, bench, dir, 'ssd');
      await benchLocalTier(emit, target, bench, dir, 'tape');
    } finally {
      bench.catalog.close();
    }
    await benchS3(emit, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
