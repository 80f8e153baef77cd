// Migration to S3 tiers on a real Ceph RGW: a tape tier whose aggregates go to a bucket, and an
// endpoint that goes away in the middle of a pass.
import test from 'ava';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpProxy, freshBucket } from '../helpers/s3.ts';
import { HOUR_MS, facilityYaml, later, makeArchive, query, sha256 } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

const TO_TAPE = `policy: to-tape
version: 1
rules:
  - name: all
    keep: [{ product: raw, lifecycle: [hdd: 1h, tape: forever] }]
`;
const TO_S3 = TO_TAPE.replace('tape: forever', 's3: forever');

/** The command line, asynchronously: the test's own proxy must keep running meanwhile. */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

function h5Files(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.h5')).sort() : [];
}

test('a tape tier on S3: aggregates are uploaded with their storage class, verified, and one container is recalled by its range', async (t) => {
  const { bucket, client } = await freshBucket(t);
  const tiers = `  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
  tape: { kind: tape, s3: { endpoint: "${process.env.S3_ENDPOINT}", bucket: ${bucket}, prefix: tape/, storage_class: STANDARD_IA }, aggregate_size: 100MB, price_per_tb_year: 5 }`;
  const a = await makeArchive(t, { facility: facilityYaml(tiers), policy: TO_TAPE });
  const containers = query<{ id: number; path: string; sha256: string }>(a, 'SELECT id, path, sha256 FROM containers ORDER BY id');
  const done = await run(['--data-dir', a.data, 'migrate', '--as-of', later(2 * HOUR_MS), '--json']);
  t.is(done.code, 0, done.stderr);
  const summary = JSON.parse(done.stdout) as { moved: { containers: number }; aggregates: { name: string; bytes: number }[] };
  t.is(summary.moved.containers, containers.length);
  t.is(summary.aggregates.length, 1);
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `tape/${summary.aggregates[0].name}` }));
  t.is(head.StorageClass, 'STANDARD_IA');
  t.is(head.ContentLength, summary.aggregates[0].bytes);
  t.deepEqual(h5Files(join(a.data, 'tiers/hdd')), [], 'trimmed after the upload was verified');
  t.deepEqual(readdirSync(join(a.data, 'tiers/tape-staging'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tar')), [], 'nothing left in staging');

  const frame = query<{ id: number }>(a, 'SELECT frame_id AS id FROM decisions WHERE container_id = ? LIMIT 1', containers[0].id)[0].id;
  const back = await run(['--data-dir', a.data, 'recall', 'lyso', '--frames', String(frame), '--to', join(a.dir, 'back'), '--json']);
  t.is(back.code, 0, back.stderr);
  t.is(sha256(join(a.dir, 'back', containers[0].path)), containers[0].sha256);
  const verify = await run(['--data-dir', a.data, 'verify']);
  t.is(verify.code, 0, verify.stdout + verify.stderr);

});

test('the S3 endpoint going away mid-pass: retries, then failed moves with a clear message and every source copy kept; the next pass completes', async (t) => {
  const { bucket, client } = await freshBucket(t);
  // Slow answers, so the pass is still uploading when the endpoint goes.
  const proxy = await TcpProxy.start(process.env.S3_ENDPOINT!, { responseDelayMs: 40 });
  t.teardown(() => proxy.close());
  const tiers = (endpoint: string) => `  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
  s3:   { kind: s3, endpoint: "${endpoint}", bucket: ${bucket}, price_per_tb_year: 20, max_attempts: 3 }`;
  const a = await makeArchive(t, { facility: facilityYaml(tiers(proxy.endpoint)), policy: TO_S3, runs: 2 });
  const before = h5Files(join(a.data, 'tiers/hdd'));
  t.true(before.length >= 4);
  const pass = run(['--data-dir', a.data, 'migrate', '--as-of', later(2 * HOUR_MS)]);
  // Gone once the first object is on its way.
  const wait = setInterval(() => {
    if (proxy.up > 20_000) {
      clearInterval(wait);
      proxy.vanish();
    }
  }, 5);
  const r = await pass;
  clearInterval(wait);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stderr, /failed: lyso\/run-\d{4}\/raw-\d{5}\.h5 to s3: tier s3 \(s3:\/\/sx-test-[0-9a-f]+\/\): cannot reach http:\/\/127\.0\.0\.1:\d+ after 3 attempts/);
  t.notRegex(r.stderr, new RegExp(process.env.AWS_SECRET_ACCESS_KEY!), 'no secret in any message');
  t.deepEqual(h5Files(join(a.data, 'tiers/hdd')), before, 'every source copy is kept');
  const states = query<{ state: string }>(a, 'SELECT state FROM transfers');
  t.true(states.some((s) => s.state === 'failed'));
  t.true(states.every((s) => s.state === 'failed' || s.state === 'trimmed'));

  writeFileSync(join(a.data, 'facility.yaml'), facilityYaml(tiers(process.env.S3_ENDPOINT!)));
  const again = await run(['--data-dir', a.data, 'migrate', '--as-of', later(2 * HOUR_MS), '--json']);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(h5Files(join(a.data, 'tiers/hdd')), []);
  const verify = await run(['--data-dir', a.data, 'verify']);
  t.is(verify.code, 0, verify.stdout + verify.stderr);

  // Altered behind sxarchive's back (metadata kept): recall refuses it, verify reports it.
  const [victim] = query<{ path: string }>(a, "SELECT c.path FROM containers c JOIN placements p ON p.container_id = c.id WHERE p.tier = 's3' AND p.state = 'verified' LIMIT 1");
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: victim.path }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: victim.path, Body: Buffer.from('not the container'), Metadata: head.Metadata }));
  const bad = await run(['--data-dir', a.data, 'verify', '--json']);
  t.is(bad.code, 1);
  const found = JSON.parse(bad.stdout) as { findings: { kind: string; container: string; tier: string }[] };
  t.deepEqual(found.findings.map((f) => [f.kind, f.tier, f.container]), [['corrupt', 's3', victim.path]]);
  const frame = query<{ id: number }>(a, 'SELECT d.frame_id AS id FROM decisions d JOIN containers c ON c.id = d.container_id WHERE c.path = ? LIMIT 1', victim.path)[0].id;
  const refused = await run(['--data-dir', a.data, 'recall', 'lyso', '--frames', String(frame), '--to', join(a.dir, 'bad')]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /SHA-256/);
  t.false(existsSync(join(a.dir, 'bad', victim.path)), 'no bad file handed over');
});
