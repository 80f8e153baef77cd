import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSxError } from '../../src/errors.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { loadH5 } from '../../src/store/hdf5.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { sha256Of, ZERO_CHUNK_SCRIPT } from './helpers.ts';

async function openError(t: import('ava').ExecutionContext, ...args: Parameters<typeof openFrameSource>): Promise<string> {
  const err = await t.throwsAsync(openFrameSource(...args));
  t.true(isSxError(err, 'input'), String(err));
  return err!.message;
}

async function writeH5(path: string, build: (f: InstanceType<Awaited<ReturnType<typeof loadH5>>['File']>) => void): Promise<string> {
  const h5 = await loadH5();
  const f = new h5.File(path, 'w');
  try {
    build(f);
  } finally {
    f.close();
  }
  return path;
}

async function simulated(dir: string, frames = 6): Promise<string> {
  return (await simulate({ detector: 'tiny', frames, hitRate: 0.5, seed: 5, out: join(dir, 'run.h5') })).out;
}

test('missing file, a folder and a file that is not HDF5 each say so', async (t) => {
  const dir = tempDir(t);
  t.is(await openError(t, join(dir, 'nope.h5')), `${join(dir, 'nope.h5')}: no such file`);
  t.is(await openError(t, dir), `${dir}: is a folder, not an HDF5 file`);
  writeFileSync(join(dir, 'notes.h5'), 'not an hdf5 file');
  t.is(await openError(t, join(dir, 'notes.h5')), `${join(dir, 'notes.h5')}: not an HDF5 file (no HDF5 signature at byte 0)`);
  writeFileSync(join(dir, 'empty.h5'), '');
  t.is(await openError(t, join(dir, 'empty.h5')), `${join(dir, 'empty.h5')}: not an HDF5 file (no HDF5 signature at byte 0)`);
});

test('a truncated simulated file is named truncated, with both sizes', async (t) => {
  const dir = tempDir(t);
  const file = await simulated(dir);
  const size = statSync(file).size;
  const cut = join(dir, 'cut.h5');
  copyFileSync(file, cut);
  truncateSync(cut, Math.floor(size * 0.6));
  t.is(await openError(t, cut), `${cut}: truncated HDF5 file: ${Math.floor(size * 0.6)} bytes on disk but the file says it ends at byte ${size} (an interrupted write or copy?)`);
});

test('a truncated file padded back with zeros (a preallocated copy) opens but its lost metadata is reported', async (t) => {
  const dir = tempDir(t);
  const file = await simulated(dir);
  const size = statSync(file).size;
  const padded = join(dir, 'padded.h5');
  copyFileSync(file, padded);
  truncateSync(padded, Math.floor(size * 0.6));
  truncateSync(padded, size);
  t.regex(await openError(t, padded), new RegExp(`^${padded}: cannot read /entry/data/data \\(damaged file\\?\\): incorrect metadata checksum`));
});

test('a frame whose bytes are gone fails alone, naming file and event; the frames after it still read', async (t) => {
  const dir = tempDir(t);
  const file = await simulated(dir);
  const holed = join(dir, 'holed.h5');
  execFileSync(DEBIAN_PYTHON, [ZERO_CHUNK_SCRIPT, file, holed, '/entry/data/data', '3']);
  const good = await openFrameSource(file);
  const bad = await openFrameSource(holed);
  t.teardown(() => { good.close(); bad.close(); });
  t.is(bad.count, 6);
  const outcomes = Array.from({ length: bad.count }, (_, i) => {
    try {
      return sha256Of(bad.read(i)) === sha256Of(good.read(i)) ? 'same' : 'different';
    } catch (err) {
      t.true(isSxError(err, 'input'));
      return (err as Error).message;
    }
  });
  t.deepEqual(outcomes, ['same', 'same', 'same', `${holed} event //3: cannot read frame from /entry/data/data: filter returned failure during read`, 'same', 'same']);
});

test('no frame dataset: the error lists what was looked for', async (t) => {
  const dir = tempDir(t);
  const file = await writeH5(join(dir, 'other.h5'), (f) => f.create_dataset({ name: 'foo', data: Uint16Array.of(1, 2) }));
  t.is(await openError(t, file), `${file}: no frame dataset; looked for /entry/data/data, /entry_1/data_1/data, /data/data and NXmx data links /entry/data/data_000001, ...`);
  const master = await writeH5(join(dir, 'master.h5'), (f) => f.create_group('entry').create_dataset({ name: 'definition', data: 'NXmx' }));
  t.regex(await openError(t, master), /master\.h5: no frame dataset \(it says NXmx, but has no data links\); looked for/);
  // /data is a dataset here, so /data/data is a path through a dataset: "not there", not "damaged".
  const flat = await writeH5(join(dir, 'flat.h5'), (f) => f.create_dataset({ name: 'data', data: Uint16Array.of(1, 2, 3, 4), shape: [2, 2] }));
  t.regex(await openError(t, flat), /flat\.h5: no frame dataset; looked for/);
});

test('datasets of the wrong rank, with and without a layout', async (t) => {
  const dir = tempDir(t);
  const file = await writeH5(join(dir, 'ranks.h5'), (f) => {
    f.create_group('entry').create_group('data').create_dataset({ name: 'data', data: new Uint16Array(24), shape: [2, 3, 2, 2] });
    f.create_dataset({ name: 'line', data: new Uint16Array(5) });
  });
  t.is(await openError(t, file), `${file}:/entry/data/data: expected a 2-D frame or a 3-D [n, ss, fs] stack but found shape [2, 3, 2, 2]`);
  t.is(await openError(t, file, { data: '/line', dims: ['ss', 'fs'] }), `${file}:/line: the layout's dims (ss, fs) need a 2-D dataset but it has shape [5]`);
  t.is(await openError(t, file, { data: '/entry/data/data', dims: ['%', 'ss', 'fs', 2] }), `${file}:/entry/data/data: dim3 = 2 is out of range for shape [2, 3, 2, 2]`);
  t.regex(await openError(t, file, { data: '/entry/data/data', dims: ['%', 'fs', 'ss', 0] }), /bad frame dimensions \(%, fs, ss, 0\): "fs" comes before "ss"/);
});

test('a layout whose data path is missing, a group, or matches nothing', async (t) => {
  const dir = tempDir(t);
  const file = await simulated(dir, 2);
  t.is(await openError(t, file, { data: '/data/data', dims: ['%', 'ss', 'fs'] }), `${file}: the layout's data path /data/data is no such dataset`);
  t.is(await openError(t, file, { data: '/entry/data', dims: ['%', 'ss', 'fs'] }), `${file}: the layout's data path /entry/data is a group, not a dataset`);
  t.is(await openError(t, file, { data: '/entry/%/frames', dims: ['%', 'ss', 'fs'] }), `${file}: no dataset matches the data path /entry/%/frames`);
});

test('datasets matched by one data path must hold frames of one shape and type', async (t) => {
  const dir = tempDir(t);
  const file = await writeH5(join(dir, 'mixed.h5'), (f) => {
    f.create_group('a').create_dataset({ name: 'd', data: new Uint16Array(4), shape: [2, 2] });
    f.create_group('b').create_dataset({ name: 'd', data: new Uint16Array(6), shape: [2, 3] });
  });
  t.is(await openError(t, file, { data: '/%/d', dims: ['ss', 'fs'] }), `${file}: frames differ: ${file}:/a/d has 2x2 uint16 but ${file}:/b/d has 2x3 uint16`);
});

test('misuse: a frame index out of range, reading after close', async (t) => {
  const dir = tempDir(t);
  const source = await openFrameSource(await simulated(dir, 2));
  for (const index of [-1, 2, 0.5, Number.NaN]) {
    const err = t.throws(() => source.read(index));
    t.true(isSxError(err, 'usage'));
    t.regex(err!.message, new RegExp(`expected a frame index from 0 to 1 but received ${index}$`));
  }
  t.throws(() => source.event(2), { message: /expected a frame index from 0 to 1 but received 2$/ });
  source.close();
  source.close();
  t.throws(() => source.read(0), { message: /frame source is closed$/ });
});
