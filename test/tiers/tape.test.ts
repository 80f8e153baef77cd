// The tape tier on a mount point and on an S3-like target (here a folder behind the driver
// interface; the real S3 driver has its own tests): aggregates appear whole or not at all,
// members read back by range, nothing is left behind by abort or discard.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { S3TargetConfig, TapeTierConfig } from '../../src/config/facility.ts';
import { isSxError } from '../../src/errors.ts';
import { FilesystemTier, partialPath } from '../../src/tiers/filesystem.ts';
import type { RestoreState } from '../../src/tiers/s3.ts';
import { MANIFEST_NAME, readAggregate, TapeTier, type AggregateInput } from '../../src/tiers/tape.ts';
import { ChecksumError, TierFullError, type ByteRange, type PutOptions, type TierDriver, type TierObject, type TierSpace } from '../../src/tiers/types.ts';
import { tempDir } from '../helpers/tmp.ts';

const AGG = 'aggregates/agg-000042.tar';

const S3_TARGET: S3TargetConfig = { region: 'us-east-1', bucket: 'tape-bucket', prefix: '', storage_class: 'DEEP_ARCHIVE', profile: 'default', part_size: 16 * 2 ** 20, parallel_parts: 4, max_attempts: 5 };

function tapeConfig(target: { path: string } | { s3: S3TargetConfig; staging?: string }): TapeTierConfig {
  return { kind: 'tape', aggregate_size: 50e9, restore_days: 3, restore_tier: 'Bulk', price_per_tb_year: 10, price_per_object: 0, retrieval_per_tb: 0, egress_per_tb: 0, min_duration_days: 365, ...target };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Every file under `dir`, relative, sorted: what a step left on disk. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort();
}

/** Containers of odd sizes, as the catalog records them. */
function containers(dir: string): (AggregateInput & { data: Buffer })[] {
  const sizes = [0, 1, 511, 512, 513, 2 * 2 ** 20 + 3];
  const made = sizes.map((bytes, i) => ({ key: `lyso/run-0001/raw-${String(i).padStart(5, '0')}.h5`, bytes, experiment: 'lyso' }));
  made.push({ key: `thermolysin/run-0007/${'x'.repeat(110)}.h5`, bytes: 4321, experiment: 'thermolysin' });
  mkdirSync(join(dir, 'hdd'), { recursive: true });
  return made.map((c, i) => {
    const data = randomBytes(c.bytes);
    const file = join(dir, 'hdd', `c${i}.h5`);
    writeFileSync(file, data);
    return { ...c, file, data, sha256: sha256(data) };
  });
}

/** An S3-like target over a folder, recording what was put; optionally on an archive class. */
class FolderTarget implements TierDriver {
  readonly kind = 's3' as const;
  readonly name = 'tape';
  readonly puts: { key: string; sha256: string; bytes: Buffer }[] = [];
  full = false;
  readonly #folder: FilesystemTier;
  constructor(root: string) {
    this.#folder = new FilesystemTier('tape', root);
  }
  locate(key: string): string {
    return `s3://tape-bucket/${key}`;
  }
  async put(key: string, file: string, options: PutOptions): Promise<void> {
    if (this.full) throw new TierFullError('tape', 1, 0, 'tier tape is full');
    this.puts.push({ key, sha256: options.sha256, bytes: readFileSync(file) });
    await this.#folder.put(key, file, options);
  }
  get(key: string, file: string): Promise<void> {
    return this.#folder.get(key, file);
  }
  read(key: string, range?: ByteRange): Promise<Readable> {
    return this.#folder.read(key, range);
  }
  stat(key: string): Promise<TierObject | undefined> {
    return this.#folder.stat(key);
  }
  delete(key: string): Promise<void> {
    return this.#folder.delete(key);
  }
  list(prefix?: string): AsyncIterable<TierObject> {
    return this.#folder.list(prefix);
  }
  space(): Promise<TierSpace> {
    return this.#folder.space();
  }
}

class ArchiveTarget extends FolderTarget {
  state: RestoreState = 'archived';
  readonly requests: unknown[][] = [];
  async requestRestore(key: string, days: number, tier: string): Promise<void> {
    this.requests.push([key, days, tier]);
    this.state = 'in-progress';
  }
  async restoreState(): Promise<RestoreState> {
    return this.state;
  }
}

test('a mount-point aggregate is written in place, appears under its name only at close, and reads back by member', async (t) => {
  const dir = tempDir(t);
  const mount = join(dir, 'ltfs');
  const tape = new TapeTier('tape', tapeConfig({ path: 'ltfs' }), { resolvePath: (p) => join(dir, p) });
  t.is(tape.target.kind, 'filesystem');
  t.is(tape.aggregateSize, 50e9);
  t.is(tape.restore, undefined);
  const inputs = containers(dir);

  const agg = await tape.open(AGG);
  t.is(agg.name, AGG);
  const added = [];
  for (const c of inputs) added.push(await agg.add(c));
  t.true(agg.bytes > inputs.reduce((n, c) => n + c.bytes, 0));
  // Before close: only the partial name exists, and the target does not know the aggregate.
  t.deepEqual(filesUnder(mount), ['aggregates/.agg-000042.tar.partial']);
  t.is(await tape.target.stat(AGG), undefined);

  const closed = await agg.close();
  t.deepEqual(filesUnder(mount), [AGG]);
  const whole = readFileSync(join(mount, AGG));
  t.is(closed.bytes, whole.length);
  t.is(closed.sha256, sha256(whole));
  t.deepEqual(closed.members, added);
  t.deepEqual(closed.members.map((m) => [m.key, m.bytes, m.sha256, m.experiment]), inputs.map((c) => [c.key, c.bytes, c.sha256, c.experiment]));

  for (const [i, m] of closed.members.entries()) {
    t.true((await readAll(await tape.readMember(AGG, m.offset, m.bytes))).equals(inputs[i].data), m.key);
  }

  // Stock tar sees the containers under their keys, then the manifest last.
  const listing = spawnSync('tar', ['-tvf', join(mount, AGG)], { encoding: 'utf8' });
  t.is(listing.stderr, '');
  const rows = listing.stdout.trim().split('\n').map((line) => line.split(/\s+/));
  t.deepEqual(rows.map((r) => r[5]), [...inputs.map((c) => c.key), MANIFEST_NAME]);
  t.deepEqual(rows.slice(0, -1).map((r) => Number(r[2])), inputs.map((c) => c.bytes));

  const manifest = await readAggregate(createReadStream(join(mount, AGG)), tape.target.locate(AGG));
  t.is(manifest.format, 'sxarchive-aggregate/1');
  t.is(manifest.aggregate, AGG);
  t.deepEqual(manifest.members, closed.members);
  t.true(Math.abs(Date.parse(manifest.created) - Date.now()) < 60_000);
});

test('an S3 aggregate is built in the staging folder and uploaded whole with its SHA-256 at close', async (t) => {
  const dir = tempDir(t);
  const target = new FolderTarget(join(dir, 'bucket'));
  const seen: S3TargetConfig[] = [];
  const tape = new TapeTier('tape', tapeConfig({ s3: S3_TARGET }), { resolvePath: (p) => join(dir, p), s3: (config) => (seen.push(config), target) });
  t.deepEqual(seen, [S3_TARGET]);
  t.is(tape.target, target);
  const inputs = containers(dir);

  const agg = await tape.open(AGG);
  for (const c of inputs) await agg.add(c);
  const staging = join(dir, 'tiers/tape-staging');
  t.deepEqual(filesUnder(staging), [AGG]);
  t.deepEqual(filesUnder(join(dir, 'bucket')), []);

  const closed = await agg.close();
  t.deepEqual(filesUnder(staging), []);
  t.is(target.puts.length, 1);
  t.is(target.puts[0].key, AGG);
  t.is(target.puts[0].sha256, closed.sha256);
  t.is(sha256(target.puts[0].bytes), closed.sha256);
  for (const [i, m] of closed.members.entries()) {
    t.true((await readAll(await tape.readMember(AGG, m.offset, m.bytes))).equals(inputs[i].data), m.key);
  }
  t.deepEqual((await readAggregate(await tape.target.read(AGG), tape.target.locate(AGG))).members, closed.members);
});

test('a configured staging folder is used for S3 aggregates', async (t) => {
  const dir = tempDir(t);
  const tape = new TapeTier('tape', tapeConfig({ s3: S3_TARGET, staging: '/elsewhere' }), { resolvePath: (p) => (p === '/elsewhere' ? join(dir, 'stage') : p), s3: () => new FolderTarget(join(dir, 'bucket')) });
  const agg = await tape.open(AGG);
  t.deepEqual(filesUnder(join(dir, 'stage')), [AGG]);
  await agg.abort();
  t.deepEqual(filesUnder(dir), []);
});

test('a container whose bytes are not the catalog\'s is a ChecksumError; abort then leaves no file', async (t) => {
  for (const s3 of [false, true]) {
    const dir = tempDir(t);
    const tape = s3
      ? new TapeTier('tape', tapeConfig({ s3: S3_TARGET }), { resolvePath: (p) => join(dir, p), s3: () => new FolderTarget(join(dir, 'bucket')) })
      : new TapeTier('tape', tapeConfig({ path: 'ltfs' }), { resolvePath: (p) => join(dir, p) });
    const [first, second] = containers(dir).slice(4);
    const agg = await tape.open(AGG);
    await agg.add(first);
    const err = await t.throwsAsync(agg.add({ ...second, sha256: sha256(Buffer.from('other bytes')) }));
    t.true(err instanceof ChecksumError);
    t.regex(err!.message, /read with SHA-256 [0-9a-f]{64} while writing it into .*agg-000042\.tar.*expected [0-9a-f]{64} \(the catalog's\)/);
    await agg.abort();
    await agg.abort(); // twice is harmless
    t.deepEqual(filesUnder(dir).filter((f) => !f.startsWith('hdd/')), [], s3 ? 's3' : 'mount point');
  }
});

test('discard removes what a killed writer left and a finished aggregate the catalog never recorded', async (t) => {
  const dir = tempDir(t);
  const mountTape = new TapeTier('tape', tapeConfig({ path: 'ltfs' }), { resolvePath: (p) => join(dir, p) });
  const mount = join(dir, 'ltfs');
  mkdirSync(join(mount, 'aggregates'), { recursive: true });
  writeFileSync(partialPath(join(mount, AGG)), 'half a tar file');
  writeFileSync(join(mount, 'aggregates/agg-000043.tar'), 'a whole one');
  await mountTape.discard(AGG);
  await mountTape.discard('aggregates/agg-000043.tar');
  await mountTape.discard('aggregates/agg-000044.tar'); // never written: not an error
  t.deepEqual(filesUnder(mount), []);

  const target = new FolderTarget(join(dir, 'bucket'));
  const s3Tape = new TapeTier('tape', tapeConfig({ s3: S3_TARGET }), { resolvePath: (p) => join(dir, p), s3: () => target });
  const [c] = containers(dir).slice(5);
  const agg = await s3Tape.open(AGG);
  await agg.add(c);
  await agg.close();
  const staged = join(dir, 'tiers/tape-staging', 'aggregates/agg-000043.tar');
  writeFileSync(staged, 'staged, not uploaded');
  await s3Tape.discard(AGG);
  await s3Tape.discard('aggregates/agg-000043.tar');
  t.deepEqual(filesUnder(join(dir, 'bucket')), []);
  t.deepEqual(filesUnder(join(dir, 'tiers/tape-staging')), []);
});

test('a close that fails on the target leaves nothing once aborted', async (t) => {
  const dir = tempDir(t);
  const target = new FolderTarget(join(dir, 'bucket'));
  const tape = new TapeTier('tape', tapeConfig({ s3: S3_TARGET }), { resolvePath: (p) => join(dir, p), s3: () => target });
  const [c] = containers(dir).slice(5);
  const agg = await tape.open(AGG);
  await agg.add(c);
  target.full = true;
  await t.throwsAsync(agg.close(), { instanceOf: TierFullError });
  await agg.abort();
  t.deepEqual(filesUnder(dir).filter((f) => !f.startsWith('hdd/')), []);
});

test('a member is added once, the manifest name is reserved, and a closed aggregate takes nothing more', async (t) => {
  const dir = tempDir(t);
  const tape = new TapeTier('tape', tapeConfig({ path: 'ltfs' }), { resolvePath: (p) => join(dir, p) });
  const [c] = containers(dir).slice(5);
  const agg = await tape.open(AGG);
  await agg.add(c);
  const twice = await t.throwsAsync(agg.add(c));
  t.is(twice!.message, `aggregate ${AGG} already holds ${c.key}; expected each container once`);
  await t.throwsAsync(agg.add({ ...c, key: MANIFEST_NAME }), { message: `aggregate ${AGG}: ${MANIFEST_NAME} is the name of its manifest; expected a container key` });
  await agg.close();
  await t.throwsAsync(agg.add({ ...c, key: 'lyso/late.h5' }), { message: /cannot write lyso\/late\.h5 into .*: it is finished/ });
  await agg.abort(); // after a successful close: keeps the aggregate
  t.deepEqual(filesUnder(join(dir, 'ltfs')), [AGG]);
});

test('reading an aggregate back finds a changed byte and a manifest that disagrees with the members', async (t) => {
  const dir = tempDir(t);
  const tape = new TapeTier('tape', tapeConfig({ path: 'ltfs' }), { resolvePath: (p) => join(dir, p) });
  const agg = await tape.open(AGG);
  const inputs = containers(dir);
  for (const c of inputs) await agg.add(c);
  const closed = await agg.close();
  const file = join(dir, 'ltfs', AGG);
  const whole = readFileSync(file);
  const changed = Buffer.from(whole);
  changed[closed.members[5].offset + 1000] ^= 0xff;
  writeFileSync(file, changed);
  const err = await t.throwsAsync(readAggregate(createReadStream(file), file));
  t.true(err instanceof ChecksumError);
  t.regex(err!.message, /: member 6 is lyso\/run-0001\/raw-00005\.h5 at byte \d+ \(2097155 bytes, SHA-256 [0-9a-f]{64}\); its manifest lists lyso\/run-0001\/raw-00005\.h5 at byte \d+ \(2097155 bytes, SHA-256 [0-9a-f]{64}\)$/);

  const plain = join(dir, 'plain.tar');
  spawnSync('tar', ['-cf', plain, '-C', join(dir, 'hdd'), 'c1.h5']);
  await t.throwsAsync(readAggregate(createReadStream(plain), plain), { message: `${plain} has no ${MANIFEST_NAME}; expected it as the last member of an sxarchive aggregate` });
});

test('an archive-class target restores an aggregate on request, for the configured days and tier', async (t) => {
  const dir = tempDir(t);
  const target = new ArchiveTarget(join(dir, 'bucket'));
  const tape = new TapeTier('tape', tapeConfig({ s3: S3_TARGET }), { resolvePath: (p) => join(dir, p), s3: () => target });
  t.is(await tape.restore!(AGG), 'in-progress');
  t.deepEqual(target.requests, [[AGG, 3, 'Bulk']]);
  t.is(await tape.restore!(AGG), 'in-progress');
  t.is(target.requests.length, 1); // not requested again while under way
  target.state = 'available';
  t.is(await tape.restore!(AGG), 'available');
  target.state = 'not-archived';
  t.is(await tape.restore!(AGG), 'available');
});

test('a tape tier on S3 needs an S3 driver', (t) => {
  const err = t.throws(() => new TapeTier('tape', tapeConfig({ s3: S3_TARGET }), { resolvePath: (p) => p }));
  t.true(isSxError(err, 'config'));
  t.is(err!.message, 'tape tier tape: expected a mount point (path) or an S3 target (s3) with an S3 driver to open it');
});
