// The S3 driver against a real endpoint (Ceph RGW under `npm test`): multipart, storage
// classes, our checksum, capacity, a network that breaks, credentials that stay secret.
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { isSxError } from '../../src/errors.ts';
import { partialPath } from '../../src/tiers/filesystem.ts';
import { restoreStateOf, S3Tier } from '../../src/tiers/s3.ts';
import { ChecksumError, TierFullError } from '../../src/tiers/types.ts';
import { freshBucket, targetConfig, TcpProxy } from '../helpers/s3.ts';
import { readAll, writeRandom } from '../helpers/bytes.ts';
import { tempDir } from '../helpers/tmp.ts';

const MiB = 2 ** 20;


/** UploadPart requests to `bucket` seen by Node's HTTP client, and how many were in flight at once. */
function watchParts(bucket: string): { parts: number; mostAtOnce: number; stop: () => void } {
  const seen = { parts: 0, mostAtOnce: 0, stop: () => {} };
  const inFlight = new Set<ClientRequest>();
  const isPart = (r: ClientRequest) => r.method === 'PUT' && r.path.startsWith(`/${bucket}/`) && r.path.includes('partNumber=');
  const started = ({ request }: { request: ClientRequest }) => {
    if (!isPart(request)) return;
    seen.parts += 1;
    inFlight.add(request);
    seen.mostAtOnce = Math.max(seen.mostAtOnce, inFlight.size);
  };
  const answered = ({ request }: { request: ClientRequest }) => inFlight.delete(request);
  dc.subscribe('http.client.request.start', started as (message: unknown) => void);
  dc.subscribe('http.client.response.finish', answered as (message: unknown) => void);
  seen.stop = () => {
    dc.unsubscribe('http.client.request.start', started as (message: unknown) => void);
    dc.unsubscribe('http.client.response.finish', answered as (message: unknown) => void);
  };
  return seen;
}

test('a file larger than the part size goes up in parallel parts, with its storage class and sha256, and comes back byte-identical', async (t) => {
  const { env, bucket, client } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'run-0001.h5');
  const { bytes, sha256 } = writeRandom(file, 23 * MiB);
  // Answers held back a little, as from a distant endpoint: parts overlap however fast RGW is here.
  const proxy = await TcpProxy.start(env.endpoint, { responseDelayMs: 150 });
  t.teardown(() => proxy.close());
  const tier = new S3Tier('warm', targetConfig(env, bucket, { endpoint: proxy.endpoint, prefix: 'containers/', storage_class: 'STANDARD_IA', part_size: 5 * MiB, parallel_parts: 4 }));

  const parts = watchParts(bucket);
  const progress: number[] = [];
  await tier.put('exp/run-0001.h5', file, { sha256, onProgress: (n) => progress.push(n) });
  parts.stop();
  t.is(parts.parts, 5, '23 MiB in 5 MiB parts');
  // Up to parallel_parts (4) at once; a loaded machine may not start all four before the first answer.
  t.true(parts.mostAtOnce >= 2 && parts.mostAtOnce <= 4, `${parts.mostAtOnce} parts in flight at once`);
  t.is(progress.at(-1), bytes.length);

  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'containers/exp/run-0001.h5' }));
  t.is(head.StorageClass, 'STANDARD_IA');
  t.is(head.Metadata?.sha256, sha256);
  t.is(head.Metadata?.bytes, String(bytes.length));
  t.regex(head.ETag ?? '', /-5"$/, 'the ETag of a 5-part upload');
  t.deepEqual(await tier.stat('exp/run-0001.h5'), { key: 'exp/run-0001.h5', bytes: bytes.length, sha256, storageClass: 'STANDARD_IA' });
  t.is(tier.locate('exp/run-0001.h5'), `s3://${bucket}/containers/exp/run-0001.h5`);

  const back = join(dir, 'back.h5');
  await tier.get('exp/run-0001.h5', back);
  t.true(readFileSync(back).equals(bytes));
  t.false(existsSync(partialPath(back)));
  t.deepEqual(await tier.abandonedUploads(), []);
});

test('an object changed behind sxarchive\'s back is a ChecksumError on get, and no file appears', async (t) => {
  const { env, bucket, client } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'a.h5');
  const { sha256 } = writeRandom(file, 100_000);
  const tier = new S3Tier('cold', targetConfig(env, bucket));
  await tier.put('a.h5', file, { sha256 });

  const other = randomBytes(100_000);
  const otherSha = createHash('sha256').update(other).digest('hex');
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a.h5', Body: other, Metadata: { sha256, bytes: '100000' } }));

  const back = join(dir, 'back.h5');
  const err = await t.throwsAsync(tier.get('a.h5', back));
  t.true(err instanceof ChecksumError);
  t.is(err!.message, `tier cold (s3://${bucket}/): a.h5 reads back with SHA-256 ${otherSha}; expected ${sha256} (its sha256 metadata)`);
  t.false(existsSync(back));
  t.false(existsSync(partialPath(back)));

  // Not put by sxarchive: nothing to check against, so nothing is handed out unchecked.
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'foreign.h5', Body: other }));
  const foreign = await t.throwsAsync(tier.get('foreign.h5', back));
  t.is(foreign!.message, `tier cold (s3://${bucket}/): foreign.h5 has no sha256 metadata to check it against; expected an object stored by sxarchive`);
  t.false(existsSync(back));
});

test('a put that would go over the capacity is refused before anything is uploaded', async (t) => {
  const { env, bucket } = await freshBucket(t);
  const dir = tempDir(t);
  const tier = new S3Tier('small', { ...targetConfig(env, bucket, { prefix: 'p/' }), capacity: 10 * MiB });
  const six = join(dir, 'six');
  const { sha256 } = writeRandom(six, 6 * MiB);
  await tier.put('one', six, { sha256 });

  const err = await t.throwsAsync(tier.put('two', six, { sha256 }));
  t.true(err instanceof TierFullError);
  const full = err as TierFullError;
  t.is(full.tier, 'small');
  t.is(full.neededBytes, 6 * MiB);
  t.is(full.freeBytes, 4 * MiB);
  t.is(full.message, `tier small (s3://${bucket}/p/) is full: two needs 6.29 MB, capacity 10.5 MB, 4.19 MB free`);
  t.is(await tier.stat('two'), undefined);
  t.deepEqual(await tier.abandonedUploads(), []);

  // Replacing an object needs room only for the difference.
  await tier.put('one', six, { sha256 });
  t.deepEqual(await tier.space(), { usedBytes: 6 * MiB, capacityBytes: 10 * MiB, freeBytes: 4 * MiB });
});

test('list, stat, delete and ranged reads work on keys under the prefix', async (t) => {
  const { env, bucket, client } = await freshBucket(t);
  const dir = tempDir(t);
  const tier = new S3Tier('hdd', targetConfig(env, bucket, { prefix: 'sx/' }));
  const file = join(dir, 'f');
  const { bytes, sha256 } = writeRandom(file, 300_000);
  for (const key of ['e1/a.h5', 'e1/b.h5', 'e2/c.h5']) await tier.put(key, file, { sha256 });
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/x', Body: 'not ours' }));

  const keys = async (prefix?: string) => {
    const found: string[] = [];
    for await (const o of tier.list(prefix)) {
      t.is(o.bytes, bytes.length);
      found.push(o.key);
    }
    return found.sort();
  };
  t.deepEqual(await keys(), ['e1/a.h5', 'e1/b.h5', 'e2/c.h5']);
  t.deepEqual(await keys('e1/'), ['e1/a.h5', 'e1/b.h5']);
  t.deepEqual(await tier.space(), { usedBytes: 3 * bytes.length });

  t.true((await readAll(await tier.read('e1/a.h5'))).equals(bytes));
  t.true((await readAll(await tier.read('e1/a.h5', { offset: 1000, length: 5000 }))).equals(bytes.subarray(1000, 6000)));
  t.is((await readAll(await tier.read('e1/a.h5', { offset: 10, length: 0 }))).length, 0);
  const missing = await t.throwsAsync(tier.read('e1/none.h5'));
  t.true(isSxError(missing, 'store'));
  t.regex(missing!.message, new RegExp(`^tier hdd \\(s3://${bucket}/sx/\\): read e1/none\\.h5 failed: NoSuchKey \\(HTTP 404\\)`));

  t.is(await tier.stat('e1/none.h5'), undefined);
  await tier.delete('e1/a.h5');
  await tier.delete('e1/a.h5'); // gone already: not an error
  t.is(await tier.stat('e1/a.h5'), undefined);
  t.deepEqual(await keys(), ['e1/b.h5', 'e2/c.h5']);

  const empty = join(dir, 'empty');
  const none = writeRandom(empty, 0);
  await tier.put('e3/empty.h5', empty, none);
  await tier.get('e3/empty.h5', join(dir, 'empty-back'));
  t.is(readFileSync(join(dir, 'empty-back')).length, 0);

  const odd = new S3Tier('odd', targetConfig(env, bucket, { storage_class: 'NO_SUCH_CLASS' }));
  const refused = await t.throwsAsync(odd.put('x', file, { sha256 }));
  t.regex(refused!.message, new RegExp(`^tier odd \\(s3://${bucket}/\\): put x failed: Invalid(Argument|StorageClass) \\(HTTP 400\\).*; check that the endpoint offers storage_class NO_SUCH_CLASS$`));

  const bad = t.throws(() => tier.locate('../x'));
  t.is(bad!.message, `expected a relative object key without '..' but received "../x"`);
});

test('a put stopped by its AbortSignal leaves neither the object nor its parts', async (t) => {
  const { env, bucket } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'big');
  const { sha256 } = writeRandom(file, 40 * MiB);
  const tier = new S3Tier('ssd', targetConfig(env, bucket, { parallel_parts: 2 }));
  const stop = new AbortController();
  const err = await t.throwsAsync(tier.put('big', file, { sha256, signal: stop.signal, onProgress: () => stop.abort() }));
  t.true(isSxError(err, 'interrupted'));
  t.is(err!.message, `tier ssd (s3://${bucket}/): put big stopped before it completed`);
  t.is(await tier.stat('big'), undefined);
  t.deepEqual(await tier.abandonedUploads(), []);
});

test('a link that breaks off every large transfer: the parts are retried, then a clear error, and no parts are left', async (t) => {
  const { env, bucket } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'f');
  const { sha256 } = writeRandom(file, 12 * MiB);
  // Small requests (create, abort) get through; any connection carrying a part dies at 1 MiB.
  const proxy = await TcpProxy.start(env.endpoint, { watch: (p, c) => c.up > MiB && p.reset(c) });
  t.teardown(() => proxy.close());
  const tier = new S3Tier('flaky', targetConfig(env, bucket, { endpoint: proxy.endpoint, max_attempts: 3 }));

  const err = await t.throwsAsync(tier.put('f', file, { sha256 }));
  t.true(isSxError(err, 'store'));
  t.regex(err!.message, new RegExp(`^tier flaky \\(s3://${bucket}/\\): cannot reach ${proxy.endpoint} after 3 attempts: (read ECONNRESET|write EPIPE|socket hang up)$`));
  t.true(proxy.resets >= 3, `connections broken off: ${proxy.resets}`);
  const direct = new S3Tier('direct', targetConfig(env, bucket));
  t.deepEqual(await direct.abandonedUploads(), [], 'the failed upload was aborted');
  t.is(await direct.stat('f'), undefined);
  t.false(inspect(err, { depth: null }).includes(env.secretAccessKey));
});

test('an endpoint that goes away mid-upload: the put says so, and the upload it left is aborted later', async (t) => {
  const { env, bucket } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'f');
  const { sha256 } = writeRandom(file, 23 * MiB);
  const proxy = await TcpProxy.start(env.endpoint, { watch: (p) => p.up > 3 * MiB && p.vanish() });
  t.teardown(() => proxy.close());
  const tier = new S3Tier('remote', targetConfig(env, bucket, { endpoint: proxy.endpoint, max_attempts: 3 }));

  const err = await t.throwsAsync(tier.put('exp/f', file, { sha256 }));
  t.true(isSxError(err, 'store'));
  t.regex(err!.message, new RegExp(`^tier remote \\(s3://${bucket}/\\): cannot reach ${proxy.endpoint} after 3 attempts: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+; its incomplete multipart upload could not be aborted and stays until abandoned uploads are aborted$`));

  t.false(inspect(err, { depth: null }).includes(env.secretAccessKey));

  // Nothing could abort it while the endpoint was gone; it is found and aborted once it is back.
  const direct = new S3Tier('remote', targetConfig(env, bucket));
  const left = await direct.abandonedUploads();
  t.deepEqual(left.map((u) => u.key), ['exp/f']);
  t.deepEqual(await direct.abortAbandonedUploads(60_000), [], 'younger than a minute: may still be running');
  t.deepEqual((await direct.abortAbandonedUploads(0)).map((u) => u.key), ['exp/f']);
  t.deepEqual(await direct.abandonedUploads(), []);
});

test('a download that breaks off is tried again', async (t) => {
  const { env, bucket } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'f');
  const { bytes, sha256 } = writeRandom(file, 3 * MiB);
  let broken = false;
  const proxy = await TcpProxy.start(env.endpoint, {
    watch: (p, c) => {
      if (!broken && c.down > MiB) {
        broken = true;
        p.reset(c);
      }
    },
  });
  t.teardown(() => proxy.close());
  await new S3Tier('direct', targetConfig(env, bucket)).put('f', file, { sha256 });
  const tier = new S3Tier('via', targetConfig(env, bucket, { endpoint: proxy.endpoint }));
  const back = join(dir, 'back');
  await tier.get('f', back);
  t.true(broken);
  t.true(readFileSync(back).equals(bytes));
});

test('credentials come from credentials_file, and no secret appears in messages, locations or printed tiers', async (t) => {
  const { env, bucket } = await freshBucket(t);
  const dir = tempDir(t);
  const file = join(dir, 'f');
  const { sha256 } = writeRandom(file, 1000);
  const wrongSecret = 'wrong-secret-0123456789abcdef';
  writeFileSync(join(dir, 'credentials'), [
    '# sxarchive test keys',
    '[default]',
    `aws_access_key_id = ${env.accessKeyId}`,
    `aws_secret_access_key = ${wrongSecret}`,
    '',
    '[archive]',
    `aws_access_key_id=${env.accessKeyId}`,
    `aws_secret_access_key=${env.secretAccessKey}`,
  ].join('\n'));
  const resolvePath = (p: string) => join(dir, p);
  const secrets = [env.secretAccessKey, wrongSecret];
  const clean = (what: string, text: string) => t.false(secrets.some((s) => text.includes(s)), `a secret in ${what}: ${text}`);

  const good = new S3Tier('tape', targetConfig(env, bucket, { credentials_file: 'credentials', profile: 'archive' }), { resolvePath });
  await good.put('a', file, { sha256 });
  t.is((await good.stat('a'))?.sha256, sha256);
  clean('JSON', JSON.stringify(good));
  clean('inspect', inspect(good, { depth: null, showHidden: true }));
  clean('locate', good.locate('a'));

  // The file wins over the environment: its wrong secret is used, and not shown.
  const wrong = new S3Tier('tape', targetConfig(env, bucket, { credentials_file: 'credentials' }), { resolvePath });
  const denied = await t.throwsAsync(wrong.put('b', file, { sha256 }));
  t.regex(denied!.message, new RegExp(`^tier tape \\(s3://${bucket}/\\): put b failed: SignatureDoesNotMatch \\(HTTP 403\\).*; check the credentials \\(credentials_file ${join(dir, 'credentials')} \\[default\\]\\)$`));
  clean('a 403 message', denied!.message);
  clean('a 403 error', inspect(denied, { depth: null }));

  const noProfile = new S3Tier('tape', targetConfig(env, bucket, { credentials_file: 'credentials', profile: 'nope' }), { resolvePath });
  const missing = await t.throwsAsync(noProfile.stat('a'));
  t.true(isSxError(missing, 'config'));
  t.is(missing!.message, `${join(dir, 'credentials')}: expected aws_access_key_id and aws_secret_access_key in section [nope]`);

  const noFile = new S3Tier('tape', targetConfig(env, bucket, { credentials_file: 'absent' }), { resolvePath });
  t.is((await t.throwsAsync(noFile.stat('a')))!.message, `cannot read the S3 credentials_file ${join(dir, 'absent')}: ENOENT`);

  writeFileSync(join(dir, 'garbled'), `[default]\naws_access_key_id = ${env.accessKeyId}\n${env.secretAccessKey}\n`);
  const garbled = new S3Tier('tape', targetConfig(env, bucket, { credentials_file: 'garbled' }), { resolvePath });
  const parse = await t.throwsAsync(garbled.stat('a'));
  t.is(parse!.message, `${join(dir, 'garbled')} line 3: expected "[profile]" or "key = value"`);
  clean('a parse error', parse!.message);

  // An endpoint that is not there: the message names it, and nothing more.
  const gone = new S3Tier('tape', targetConfig(env, bucket, { endpoint: 'http://127.0.0.1:9', max_attempts: 2 }));
  const unreachable = await t.throwsAsync(gone.put('c', file, { sha256 }));
  t.is(unreachable!.message, `tier tape (s3://${bucket}/): cannot reach http://127.0.0.1:9 after 2 attempts: connect ECONNREFUSED 127.0.0.1:9`);
  clean('an unreachable error', inspect(unreachable, { depth: null }));
});

test('restore state from HeadObject\'s storage class and Restore header', (t) => {
  t.is(restoreStateOf({}), 'not-archived');
  t.is(restoreStateOf({ StorageClass: 'STANDARD_IA' }), 'not-archived');
  t.is(restoreStateOf({ StorageClass: 'GLACIER_IR' }), 'not-archived');
  t.is(restoreStateOf({ StorageClass: 'GLACIER' }), 'archived');
  t.is(restoreStateOf({ StorageClass: 'DEEP_ARCHIVE', Restore: 'ongoing-request="true"' }), 'in-progress');
  t.is(restoreStateOf({ StorageClass: 'GLACIER', Restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' }), 'available');
  const odd = t.throws(() => restoreStateOf({ StorageClass: 'GLACIER', Restore: 'soon' }));
  t.is(odd!.message, 'expected a Restore header with ongoing-request="true" or "false" but received "soon"');
});
