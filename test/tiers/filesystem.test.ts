import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilesystemTier, partialPath } from '../../src/tiers/filesystem.ts';
import { TierFullError } from '../../src/tiers/types.ts';
import { readAll, writeRandom } from '../helpers/bytes.ts';
import { tempDir } from '../helpers/tmp.ts';

async function keys(tier: FilesystemTier, prefix?: string): Promise<string[]> {
  const found: string[] = [];
  for await (const o of tier.list(prefix)) found.push(o.key);
  return found.sort();
}

test('put, get, ranged reads, list and delete', async (t) => {
  const dir = tempDir(t);
  const tier = new FilesystemTier('hdd', join(dir, 'tier'));
  const file = join(dir, 'f');
  const { bytes, sha256 } = writeRandom(file, 200_000);
  for (const key of ['e1/a.h5', 'e1/b.h5', 'e2/c.h5']) await tier.put(key, file, { sha256 });

  t.is(tier.locate('e1/a.h5'), join(dir, 'tier', 'e1', 'a.h5'));
  t.deepEqual(await tier.stat('e1/a.h5'), { key: 'e1/a.h5', bytes: bytes.length });
  t.deepEqual(await keys(tier), ['e1/a.h5', 'e1/b.h5', 'e2/c.h5']);
  t.deepEqual(await keys(tier, 'e1'), ['e1/a.h5', 'e1/b.h5']);

  const back = join(dir, 'back');
  await tier.get('e1/a.h5', back);
  t.true(readFileSync(back).equals(bytes));
  t.true((await readAll(await tier.read('e1/a.h5', { offset: 1000, length: 5000 }))).equals(bytes.subarray(1000, 6000)));
  t.is((await readAll(await tier.read('e1/a.h5', { offset: 10, length: 0 }))).length, 0);
  await t.throwsAsync(tier.read('e1/none.h5'), { code: 'ENOENT' });

  await tier.delete('e1/a.h5');
  await tier.delete('e1/a.h5'); // gone already: not an error
  t.is(await tier.stat('e1/a.h5'), undefined);
  t.deepEqual(await keys(tier), ['e1/b.h5', 'e2/c.h5']);
  t.throws(() => tier.locate('../x'), { message: `expected a relative object key without '..' but received "../x"` });
});

test('a put that would go over the capacity is a TierFullError, and nothing is written', async (t) => {
  const dir = tempDir(t);
  const tier = new FilesystemTier('ssd', join(dir, 'tier'), 250_000);
  const file = join(dir, 'f');
  const { sha256 } = writeRandom(file, 200_000);
  await tier.put('a', file, { sha256 });
  const err = await t.throwsAsync(tier.put('b', file, { sha256 }));
  t.true(err instanceof TierFullError);
  t.is((err as TierFullError).freeBytes, 50_000);
  t.is(err!.message, `tier ssd (${join(dir, 'tier')}) is full: b needs 200.0 kB, capacity 250.0 kB, 50.0 kB free`);
  t.false(existsSync(tier.locate('b')));
  t.false(existsSync(partialPath(tier.locate('b'))));
  await tier.put('a', file, { sha256 }); // replacing needs room only for the difference
});

test('the partial file a killed copy left is overwritten by the next put', async (t) => {
  const dir = tempDir(t);
  const tier = new FilesystemTier('hdd', join(dir, 'tier'));
  const file = join(dir, 'f');
  const { bytes, sha256 } = writeRandom(file, 100_000);
  const target = tier.locate('e1/a.h5');
  mkdirSync(join(dir, 'tier', 'e1'), { recursive: true });
  writeFileSync(partialPath(target), randomBytes(300_000)); // longer than the file: truncation shows
  t.deepEqual(await keys(tier), ['e1/.a.h5.partial'], 'what a killed copy leaves is seen (and counted)');
  t.false(existsSync(target));

  await tier.put('e1/a.h5', file, { sha256 });
  t.true(readFileSync(target).equals(bytes));
  t.false(existsSync(partialPath(target)));
  t.deepEqual(await keys(tier), ['e1/a.h5']);
});
