// SHA-256 on the hashing threads gives what node:crypto gives on this thread, for whole files,
// ranges and several files at once, and a missing file fails with its error code.
import test from 'ava';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HashThread, sha256File } from '../../src/tiers/sha256-threads.ts';
import { writeRandom } from '../helpers/bytes.ts';
import { tempDir } from '../helpers/tmp.ts';

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

test('whole files, byte ranges and many files at once hash as node:crypto hashes them', async (t) => {
  const dir = tempDir(t);
  const files = Array.from({ length: 6 }, (_, i) => {
    const file = join(dir, `f${i}`);
    return { file, data: writeRandom(file, i * 3_000_001 + 17).bytes };
  });
  const whole = await Promise.all(files.map((f) => sha256File(f.file)));
  t.deepEqual(whole, files.map((f) => ({ sha256: hex(f.data), bytes: f.data.length })));
  const big = files[5];
  t.deepEqual(await sha256File(big.file, { offset: 4_194_000, length: 5_000_000 }), { sha256: hex(big.data.subarray(4_194_000, 9_194_000)), bytes: 5_000_000 });
  t.deepEqual(await sha256File(big.file, { offset: big.data.length - 10, length: 100 }), { sha256: hex(big.data.subarray(-10)), bytes: 10 }, 'a range past the end gives what is there');
  t.deepEqual(await sha256File(big.file, { offset: 7, length: 0 }), { sha256: hex(new Uint8Array()), bytes: 0 });
});

test('a missing file rejects with ENOENT, and the thread goes on working', async (t) => {
  const dir = tempDir(t);
  const err = await t.throwsAsync(sha256File(join(dir, 'absent')));
  t.is((err as NodeJS.ErrnoException).code, 'ENOENT');
  writeFileSync(join(dir, 'present'), 'abc');
  t.is((await sha256File(join(dir, 'present'))).sha256, hex(Buffer.from('abc')));
});

test('progress is reported on long files, and a running hash fed in pieces digests what it was fed', async (t) => {
  const dir = tempDir(t);
  const data = writeRandom(join(dir, 'long'), 150 << 20).bytes;
  const seen: number[] = [];
  const got = await sha256File(join(dir, 'long'), undefined, (n) => seen.push(n));
  t.is(got.sha256, hex(data));
  t.deepEqual(seen, [64 << 20, 128 << 20]);

  const shared = new SharedArrayBuffer(16);
  const thread = new HashThread(shared);
  t.teardown(() => thread.close());
  new Uint8Array(shared).set(Buffer.from('0123456789abcdef'));
  thread.add(Buffer.from('head-'));
  await thread.addShared(4, 6);
  t.is(await thread.digest(), hex(Buffer.from('head-456789')));
  t.is(await thread.digest(), hex(new Uint8Array()), 'the running hash starts again after a digest');
});
