// The tar writer and reader against GNU tar: odd sizes, long and non-ASCII names, sizes past
// the ustar limit, offsets that give back exactly each file's bytes.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Header } from 'tar';
import { isSxError } from '../../src/errors.ts';
import { BLOCK, encodeHeader, listTar, TarWriter, type TarEntry } from '../../src/tiers/tar.ts';
import { ChecksumError } from '../../src/tiers/types.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function gnuTar(...args: string[]): string {
  // In the C locale GNU tar prints non-ASCII names as octal escapes; CI machines may set no locale.
  const r = spawnSync('tar', args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  if (r.status !== 0 || r.stderr !== '') throw new Error(`tar ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function list(file: string): Promise<TarEntry[]> {
  const entries = [];
  for await (const e of listTar(createReadStream(file), file)) entries.push(e);
  return entries;
}

/** Files of the sizes where tar's 512-byte blocks go wrong, and names past ustar's fields. */
const CASES: { name: string; bytes: number }[] = [
  { name: 'lyso/run-0001/empty.h5', bytes: 0 },
  { name: 'lyso/run-0001/one.h5', bytes: 1 },
  { name: 'lyso/run-0001/block-less-one.h5', bytes: 511 },
  { name: 'lyso/run-0001/block.h5', bytes: 512 },
  { name: 'lyso/run-0001/block-plus-one.h5', bytes: 513 },
  { name: 'lyso/run-0002/raw-00001.h5', bytes: 3 * 2 ** 20 + 7 },
  // A 120-character file name fits no ustar field: pax carries it.
  { name: `lyso/run-0002/${'r'.repeat(117)}.h5`, bytes: 1000 },
  // 200 characters split over ustar's prefix and name fields: no pax needed.
  { name: `${'d'.repeat(120)}/${'f'.repeat(79)}`, bytes: 2 },
  { name: 'lysozym-ü/Błąd-01.h5', bytes: 700 },
];

async function writeCases(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const files = CASES.map((c, i) => {
    const path = join(dir, `source-${i}`);
    const data = randomBytes(c.bytes);
    writeFileSync(path, data);
    return { ...c, path, data, sha256: sha256(data) };
  });
  const tarFile = join(dir, 'aggregate.tar');
  const tar = await TarWriter.create(tarFile);
  const members = [];
  for (const f of files) members.push(await tar.addFile(f.name, f.path, { bytes: f.bytes, sha256: f.sha256 }));
  const manifest = Buffer.from('{"members":9}\n');
  members.push(await tar.addBuffer('MANIFEST.json', manifest));
  const closed = await tar.finish();
  return { dir, files, tarFile, members, manifest, closed };
}

test('GNU tar lists and extracts every member with its name, size and bytes; Python finds the same offsets', async (t) => {
  const { dir, files, tarFile, members, manifest, closed } = await writeCases(t);
  t.is(closed.bytes, statSync(tarFile).size);
  t.is(closed.sha256, sha256(readFileSync(tarFile)));
  t.is(closed.bytes % BLOCK, 0);

  const names = [...files.map((f) => f.name), 'MANIFEST.json'];
  t.deepEqual(gnuTar('-tf', tarFile).split('\n').slice(0, -1), names);
  const sizes = gnuTar('-tvf', tarFile).split('\n').slice(0, -1).map((line) => Number(line.split(/\s+/)[2]));
  t.deepEqual(sizes, [...files.map((f) => f.bytes), manifest.length]);
  t.deepEqual(members.map((m) => m.name), names);

  // Python's tarfile, a second stock reader, finds each member's data where the writer said.
  const script = 'import json, sys, tarfile\nprint(json.dumps([[m.name, m.offset_data, m.size] for m in tarfile.open(sys.argv[1])]))';
  const python = spawnSync(DEBIAN_PYTHON, ['-c', script, tarFile], { encoding: 'utf8' });
  t.deepEqual(JSON.parse(python.stdout), members.map((m) => [m.name, m.offset, m.bytes]));

  const out = join(dir, 'extracted');
  mkdirSync(out);
  gnuTar('-xf', tarFile, '-C', out);
  for (const f of files) t.is(sha256(readFileSync(join(out, f.name))), f.sha256, f.name);
  t.is(readFileSync(join(out, 'MANIFEST.json'), 'utf8'), '{"members":9}\n');
});

test('each member offset and size give back exactly its bytes, and the reader agrees with the writer', async (t) => {
  const { files, tarFile, members, manifest } = await writeCases(t);
  const whole = readFileSync(tarFile);
  files.forEach((f, i) => {
    t.is(members[i].sha256, f.sha256);
    t.true(whole.subarray(members[i].offset, members[i].offset + members[i].bytes).equals(f.data), f.name);
    t.is(members[i].offset % BLOCK, 0);
  });
  const listed = await list(tarFile);
  t.deepEqual(listed.map(({ name, offset, bytes, sha256 }) => ({ name, offset, bytes, sha256 })), members);
  // Modification times survive, to the second, as ustar keeps them.
  t.is(listed[0].mtime.getTime(), Math.floor(statSync(files[0].path).mtimeMs / 1000) * 1000);

  const kept = [];
  for await (const e of listTar(createReadStream(tarFile), tarFile, { keep: (name) => name === 'MANIFEST.json' })) if (e.data) kept.push(e.data);
  t.deepEqual(kept, [manifest]);
});

test('a size of 8 GiB or more goes in a pax header that GNU tar reads (sparse file, no 8 GiB written)', (t) => {
  const dir = tempDir(t);
  const limit = 8 * 2 ** 30 - 1; // the largest size ustar's 11 octal digits hold
  const when = new Date('2026-03-01T10:00:00Z');
  t.is(encodeHeader('fits.h5', limit, when).length, BLOCK);
  const bytes = limit + 2;
  const header = encodeHeader('lyso/run-0001/huge.h5', bytes, when);
  t.is(header.length, 3 * BLOCK); // pax header block + pax record block + ustar block
  t.regex(header.subarray(BLOCK, 2 * BLOCK).toString('latin1'), /\d+ size=8589934593\n/);
  // The ustar block alone holds the size too, in GNU base-256.
  t.is(new Header(header, 2 * BLOCK).size, bytes);

  const file = join(dir, 'huge.tar');
  const fd = openSync(file, 'w');
  writeSync(fd, header);
  closeSync(fd);
  truncateSync(file, header.length + bytes + (BLOCK - (bytes % BLOCK)) + 2 * BLOCK);
  t.regex(gnuTar('-tvf', file), /^-rw-r--r-- 0\/0\s+8589934593 2026-03-01 \d\d:00 lyso\/run-0001\/huge\.h5\n$/);
});

test('a SHA-256 other than the expected one is a ChecksumError, and the writer then takes nothing but abort', async (t) => {
  const dir = tempDir(t);
  const source = join(dir, 'raw.h5');
  writeFileSync(source, randomBytes(5000));
  const tarFile = join(dir, 'a.tar');
  const tar = await TarWriter.create(tarFile);
  const err = await t.throwsAsync(tar.addFile('lyso/raw.h5', source, { bytes: 5000, sha256: '0'.repeat(64) }));
  t.true(err instanceof ChecksumError);
  t.regex(err!.message, new RegExp(`${source} read with SHA-256 [0-9a-f]{64} while writing it into ${tarFile}, expected 0{64}`));
  const refused = await t.throwsAsync(tar.addFile('lyso/other.h5', source));
  t.true(isSxError(refused, 'store'));
  t.regex(refused!.message, /cannot write lyso\/other\.h5 into .*a\.tar: it failed earlier \(.*read with SHA-256/);
  await t.throwsAsync(tar.finish(), { message: /it failed earlier/ });
  await tar.abort();
  t.false(existsSync(tarFile));
});

test('a size other than the expected one is refused before anything is written', async (t) => {
  const dir = tempDir(t);
  const source = join(dir, 'raw.h5');
  const data = randomBytes(3000);
  writeFileSync(source, data);
  const tarFile = join(dir, 'a.tar');
  const tar = await TarWriter.create(tarFile);
  const err = await t.throwsAsync(tar.addFile('lyso/raw.h5', source, { bytes: 2999, sha256: sha256(data) }));
  t.true(err instanceof ChecksumError);
  t.is(err!.message, `${source} holds 3000 bytes, expected 2999 (the catalog's size); it was not added to ${tarFile}`);
  t.is(tar.bytes, 0);
  await tar.addFile('lyso/raw.h5', source, { bytes: 3000, sha256: sha256(data) });
  await tar.finish();
  t.deepEqual((await list(tarFile)).map((e) => e.name), ['lyso/raw.h5']);
});

test('names a stock tar would extract elsewhere are refused', async (t) => {
  const dir = tempDir(t);
  const tar = await TarWriter.create(join(dir, 'a.tar'));
  for (const name of ['', '/etc/passwd', '../up.h5', 'a/../../b.h5', 'a//b.h5', 'dir/']) {
    const err = await t.throwsAsync(tar.addBuffer(name, Buffer.from('x')));
    t.is(err!.message, `expected a relative tar member name without '..' or empty parts but received ${JSON.stringify(name)}`);
  }
  t.is(tar.bytes, 0);
  await tar.abort();
});

test('the reader names a truncated tar file and a block that is no header', async (t) => {
  const { dir, tarFile } = await writeCases(t);
  const whole = readFileSync(tarFile);
  const cut = join(dir, 'cut.tar');
  writeFileSync(cut, whole.subarray(0, 4200));
  await t.throwsAsync(list(cut), { message: new RegExp(`^${cut} ends at byte 4200 inside member "lyso/run-0001/block-plus-one.h5"; expected 513 bytes from byte 4096: the tar file is truncated$`) });
  writeFileSync(cut, whole.subarray(0, whole.length - BLOCK));
  await t.throwsAsync(list(cut), { message: /inside the end-of-archive blocks.*truncated/ });

  const bad = join(dir, 'bad.tar');
  const changed = Buffer.from(whole);
  changed[0] ^= 1; // the first header's name
  writeFileSync(bad, changed);
  await t.throwsAsync(list(bad), { message: `${bad}: the block at byte 0 is not a tar header (bad checksum)` });
});
