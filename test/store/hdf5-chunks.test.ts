// Direct chunk I/O through the system libhdf5, checked against Debian's h5py + hdf5plugin on
// real files: h5py writes the sources and reads back what sxarchive writes into containers
// that h5wasm created.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BitshuffleLz4Codec, bitshuffleLz4Container } from '../../codecs/bitshuffle-lz4.ts';
import { isSxError, type SxErrorTag } from '../../src/errors.ts';
import { ChunkFile, type ChunkFilter } from '../../src/store/hdf5-chunks.ts';
import { FrameStackWriter, closeWritten, loadH5, readFrame, type Dataset } from '../../src/store/hdf5.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';

// Writes the source datasets and prints, per chunked dataset, what h5py sees: the filters as
// get_filter reports them, each chunk as read_direct_chunk returns it, and all values (as <);
// with a sixth argument "quiet", nothing.
const WRITE_SOURCES = `
import base64, json, sys
import h5py, hdf5plugin, numpy as np
path, n, h, w = sys.argv[1], *map(int, sys.argv[2:5])
rng = np.random.default_rng(20240601)
frames = rng.poisson(0.7, (n, h, w)).astype('<u2')
frames[:, ::7, ::11] = rng.integers(0, 65536, frames[:, ::7, ::11].shape)
signed = (frames.astype('<i4') - 70000 * (rng.random((n, h, w)) < 0.05)).astype('<i4')
b64 = lambda b: base64.b64encode(b).decode()
out = {}
with h5py.File(path, 'w') as f:
    f.create_dataset('entry/data/bslz4', data=frames, chunks=(1, h, w), **hdf5plugin.Bitshuffle(cname='lz4'))
    f.create_dataset('entry/data/gzip', data=signed, chunks=(1, h, w), compression='gzip', compression_opts=6, shuffle=True)
    f.create_dataset('entry/data/plain', data=frames, chunks=(1, h, w))
    f.create_dataset('entry/data/contiguous', data=frames)
    sparse = f.create_dataset('entry/data/sparse', shape=(3, h, w), maxshape=(None, h, w), chunks=(1, h, w), dtype='<u2')
    sparse[1] = frames[1]
    for name in ['bslz4', 'gzip', 'plain']:
        d = f['entry/data/' + name]
        dcpl = d.id.get_create_plist()
        direct = [d.id.read_direct_chunk((i, 0, 0)) for i in range(n)]
        out[name] = {
            'filters': [{'id': i, 'flags': fl, 'cdValues': list(cd), 'name': nm.decode()} for i, fl, cd, nm in
                        (dcpl.get_filter(k) for k in range(dcpl.get_nfilters()))],
            'masks': [m for m, _ in direct],
            'chunks': [b64(c) for _, c in direct],
            'values': b64(np.ascontiguousarray(d[()], dtype=d.dtype.newbyteorder('<')).tobytes()),
        }
print(json.dumps({} if sys.argv[5:] == ['quiet'] else out))
`;

// What h5py sees in a container dataset: shape, filters and each frame's values (as <).
const READ_CONTAINER = `
import base64, json, sys
import h5py, hdf5plugin, numpy as np
with h5py.File(sys.argv[1], 'r') as f:
    d = f[sys.argv[2]]
    dcpl = d.id.get_create_plist()
    print(json.dumps({
        'shape': list(d.shape), 'maxshape': list(d.maxshape),
        'filters': [{'id': i, 'flags': fl, 'cdValues': list(cd), 'name': nm.decode()} for i, fl, cd, nm in
                    (dcpl.get_filter(k) for k in range(dcpl.get_nfilters()))],
        'frames': [base64.b64encode(np.ascontiguousarray(d[i], dtype='<u2').tobytes()).decode() for i in range(d.shape[0])],
    }))
`;

interface H5pySource {
  filters: ChunkFilter[];
  masks: number[];
  chunks: string[];
  values: string;
}

const N = 5;
const H = 37;
const W = 53;
const DATA = '/entry/data';

function python<T>(script: string, ...args: (string | number)[]): T {
  return JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', script, ...args.map(String)], { encoding: 'utf8' })) as T;
}

// One source file for the whole file, written once by h5py.
const fixtureDir = mkdtempSync(join(tmpdir(), 'sxarchive-h5chunks-'));
test.after.always(() => rmSync(fixtureDir, { recursive: true, force: true }));
let fixture: { path: string; h5py: Record<string, H5pySource> } | undefined;
function source() {
  if (fixture === undefined) {
    const path = join(fixtureDir, 'source.h5');
    fixture = { path, h5py: python<Record<string, H5pySource>>(WRITE_SOURCES, path, N, H, W) };
  }
  return fixture;
}

function open(t: ExecutionContext, path: string, mode: 'r' | 'r+' = 'r'): ChunkFile {
  const file = ChunkFile.open(path, mode);
  t.teardown(() => file.close());
  return file;
}

const base64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

function throwsSx(t: ExecutionContext, run: () => unknown, tag: SxErrorTag, ...named: (string | RegExp)[]): void {
  const err = t.throws(run);
  t.true(isSxError(err, tag), `${err?.message} should be an SxError tagged ${tag}`);
  for (const part of named) {
    t.true(typeof part === 'string' ? err!.message.includes(part) : part.test(err!.message), `"${err?.message}" should name ${part}`);
  }
}

test('bitshuffle-lz4 chunks read natively are the bytes h5py read_direct_chunk returns, with its filters', (t) => {
  const { path, h5py } = source();
  const data = open(t, path).dataset(`${DATA}/bslz4`);
  t.deepEqual(data.info.shape, [N, H, W]);
  t.deepEqual(data.info.maxShape, [N, H, W]);
  t.deepEqual(data.info.chunks, [1, H, W]);
  t.deepEqual(data.info.element, { kind: 'uint', bytes: 2, littleEndian: true });
  t.deepEqual(data.info.filters, h5py.bslz4.filters);
  t.is(data.info.filters[0].id, 32008);
  const into = new Uint8Array(2 * H * W + 1024);
  for (let i = 0; i < N; i++) {
    const fresh = data.readChunk([i, 0, 0]);
    t.is(base64(fresh.bytes), h5py.bslz4.chunks[i], `chunk ${i}`);
    t.is(fresh.filterMask, h5py.bslz4.masks[i]);
    t.is(data.chunkBytes([i, 0, 0]), fresh.bytes.length);
    const inPlace = data.readChunk([i, 0, 0], into);
    t.is(inPlace.bytes.buffer, into.buffer, 'read straight into the caller buffer');
    t.is(base64(inPlace.bytes), h5py.bslz4.chunks[i]);
  }
  // The project's own decoder agrees with h5py's values.
  const codec = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
  const frames = Buffer.from(h5py.bslz4.values, 'base64');
  const first = codec.decode(data.readChunk([0, 0, 0]).bytes, { width: W, height: H, pixelType: 'uint16' });
  t.is(base64(first.data), frames.subarray(0, 2 * H * W).toString('base64'));
});

test('gzip + shuffle frames read through HDF5 equal numpy values, in any pixel type', (t) => {
  const { path, h5py } = source();
  const data = open(t, path).dataset(`${DATA}/gzip`);
  t.deepEqual(data.info.element, { kind: 'int', bytes: 4, littleEndian: true });
  t.deepEqual(data.info.filters, h5py.gzip.filters);
  t.deepEqual(data.info.filters.map((f) => f.id), [2, 1]);
  const expected = new Int32Array(new Uint8Array(Buffer.from(h5py.gzip.values, 'base64')).buffer);
  const all = new Int32Array(N * H * W);
  data.readFrames(0, N, all);
  t.is(base64(all), h5py.gzip.values);
  const two = new Float32Array(2 * H * W);
  data.readFrames(2, 2, two);
  t.deepEqual(Array.from(two), Array.from(expected.subarray(2 * H * W, 4 * H * W)));
  t.true(expected.some((v) => v < 0), 'the fixture has negative values');
  t.is(base64(data.readChunk([3, 0, 0]).bytes), h5py.gzip.chunks[3], 'raw gzip chunks are read as stored too');
});

test('uncompressed chunks and frames are the stored values', (t) => {
  const { path, h5py } = source();
  const file = open(t, path);
  const plain = file.dataset(`${DATA}/plain`);
  t.deepEqual(plain.info.filters, []);
  const values = Buffer.from(h5py.plain.values, 'base64');
  for (let i = 0; i < N; i++) {
    const { bytes, filterMask } = plain.readChunk([i, 0, 0]);
    t.is(base64(bytes), h5py.plain.chunks[i]);
    t.is(base64(bytes), values.subarray(i * 2 * H * W, (i + 1) * 2 * H * W).toString('base64'));
    t.is(filterMask, 0);
  }
  const contiguous = file.dataset(`${DATA}/contiguous`);
  t.is(contiguous.info.chunks, null);
  const frames = new Uint16Array(N * H * W);
  contiguous.readFrames(0, N, frames);
  t.is(base64(frames), h5py.plain.values);
});

test('a container h5wasm created takes chunks written natively; h5py and h5wasm read them back', async (t) => {
  const path = join(tempDir(t), 'container.h5');
  const h5 = await loadH5();
  const created = new h5.File(path, 'w');
  const filter = bitshuffleLz4Container.hdf5Filter({ id: 'bitshuffle-lz4' });
  t.deepEqual(filter, { id: 32008, cd_values: [0, 2] });
  new FrameStackWriter(created, '/entry_1/data_1/data', H, W, 'uint16', filter);
  closeWritten(created);

  const codec = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
  const frames = [0, 1, 2].map((k) => Uint16Array.from({ length: H * W }, (_, i) => (i % 13 === k ? 65535 - i : (i * (k + 1)) % 3)));
  const chunks = frames.map((data) => codec.encode({ data, width: W, height: H }));
  const file = ChunkFile.open(path, 'r+');
  const data = file.dataset('/entry_1/data_1/data');
  t.deepEqual(data.info.shape, [0, H, W]);
  t.deepEqual(data.info.maxShape, [null, H, W]);
  t.deepEqual(data.info.chunks, [1, H, W]);
  // set_local of the bitshuffle plugin puts its version and the element size in front.
  t.is(data.info.filters.length, 1);
  t.is(data.info.filters[0].id, 32008);
  t.deepEqual(data.info.filters[0].cdValues.slice(2), [2, 0, 2]);
  const filtersBefore = structuredClone(data.info.filters);
  data.extend(3);
  t.deepEqual(data.info.shape, [3, H, W]);
  chunks.forEach((chunk, i) => data.writeChunk([i, 0, 0], chunk));
  file.close();

  const seen = python<{ shape: number[]; maxshape: (number | null)[]; filters: ChunkFilter[]; frames: string[] }>(READ_CONTAINER, path, '/entry_1/data_1/data');
  t.deepEqual(seen.shape, [3, H, W]);
  t.deepEqual(seen.maxshape, [null, H, W]);
  t.deepEqual(seen.filters, filtersBefore);
  t.deepEqual(seen.frames, frames.map(base64));

  const back = new h5.File(path, 'r');
  t.teardown(() => back.close());
  frames.forEach((f, i) => t.deepEqual(readFrame(back.get('/entry_1/data_1/data') as Dataset, i), f));
  const reread = open(t, path).dataset('/entry_1/data_1/data');
  chunks.forEach((chunk, i) => t.deepEqual(reread.readChunk([i, 0, 0]), { bytes: chunk, filterMask: 0 }));
});

test('failures of the file name the file and the dataset and say what HDF5 found', (t) => {
  const { path } = source();
  const file = open(t, path);
  throwsSx(t, () => file.dataset('/entry/nope'), 'input', path, '/entry/nope', "cannot open dataset /entry/nope: object 'nope' doesn't exist");
  const contiguous = file.dataset(`${DATA}/contiguous`);
  throwsSx(t, () => contiguous.readChunk([0, 0, 0]), 'input', path, `${DATA}/contiguous`, 'is not chunked');
  const sparse = file.dataset(`${DATA}/sparse`);
  t.is(sparse.chunkBytes([0, 0, 0]), 0);
  t.is(sparse.chunkBytes([1, 0, 0]), 2 * H * W);
  throwsSx(t, () => sparse.readChunk([2, 0, 0]), 'input', path, `cannot read chunk [2, 0, 0] of ${DATA}/sparse: the chunk was never written`);
  const notHdf5 = join(fixtureDir, 'notes.txt');
  writeFileSync(notHdf5, 'run 17: beam dump at 03:12\n');
  throwsSx(t, () => ChunkFile.open(notHdf5), 'input', `cannot open ${notHdf5}: file signature not found (not an HDF5 file)`);
  throwsSx(t, () => ChunkFile.open(join(fixtureDir, 'missing.h5')), 'input', 'missing.h5: unable to open file: No such file or directory');
  throwsSx(t, () => ChunkFile.open(path, 'r+'), 'store', `cannot open ${path} for writing: file is already open for read-only`);
  const copy = join(tempDir(t), 'container.h5');
  execFileSync('cp', [path, copy]);
  const container = open(t, copy, 'r+');
  throwsSx(t, () => container.dataset('/entry/nope'), 'store', copy, '/entry/nope');
  const readOnly = ChunkFile.open(copy, 'r', { role: 'container' });
  t.teardown(() => readOnly.close());
  throwsSx(t, () => readOnly.dataset('/nope'), 'store', copy, '/nope');
});

test('each way to misuse the API is refused before HDF5 sees it', (t) => {
  const { path } = source();
  const file = open(t, path);
  const data = file.dataset(`${DATA}/bslz4`);
  const where = `${DATA}/bslz4 in ${path}`;
  throwsSx(t, () => ChunkFile.open(path, 'w' as 'r'), 'usage', "Expected mode 'r' or 'r+'");
  throwsSx(t, () => data.readChunk([0, 1, 0]), 'usage', 'multiples of [1, 37, 53]', where, '[0,1,0]');
  throwsSx(t, () => data.readChunk([N, 0, 0]), 'usage', `within [${N}, 37, 53]`);
  throwsSx(t, () => data.readChunk([0, 0]), 'usage', '3 coordinates');
  throwsSx(t, () => data.readChunk([0, 0, 0], new Uint8Array(8)), 'input', 'has room for 8');
  throwsSx(t, () => data.readChunk([0, 0, 0], new Uint16Array(8) as unknown as Uint8Array), 'usage', 'Uint16Array(8)');
  throwsSx(t, () => data.readFrames(4, 2, new Uint16Array(2 * H * W)), 'usage', `within 0..${N}`, where);
  throwsSx(t, () => data.readFrames(0, 1, new Uint16Array(H * W - 1)), 'usage', `of ${H * W} elements`);
  throwsSx(t, () => data.readFrames(0, 1, new Float64Array(H * W) as unknown as Float32Array), 'usage', 'Float64Array');
  throwsSx(t, () => data.extend(9), 'usage', 'open read-only', "'r+'");
  throwsSx(t, () => data.writeChunk([0, 0, 0], new Uint8Array(4)), 'usage', 'open read-only');
  data.close();
  throwsSx(t, () => data.readChunk([0, 0, 0]), 'usage', `${where} is closed`);

  const dir = tempDir(t);
  const copy = join(dir, 'copy.h5');
  execFileSync('cp', [path, copy]);
  const writable = open(t, copy, 'r+');
  const plain = writable.dataset(`${DATA}/plain`);
  throwsSx(t, () => plain.writeChunk([0, 0, 0], new Uint8Array(10)), 'usage', `unfiltered chunk of ${2 * H * W} bytes`);
  throwsSx(t, () => plain.writeChunk([0, 0, 0], new Uint8Array(2 * H * W), -1), 'usage', 'filterMask');
  throwsSx(t, () => plain.extend(N + 1), 'usage', `${N}..${N} frames`);
  throwsSx(t, () => writable.dataset(`${DATA}/sparse`).extend(2), 'usage', 'at least 3 frames');
  const bslz4 = writable.dataset(`${DATA}/bslz4`);
  // With the mask saying bitshuffle was skipped, the chunk is raw and must be whole.
  throwsSx(t, () => bslz4.writeChunk([0, 0, 0], new Uint8Array(10), 1), 'usage', `unfiltered chunk of ${2 * H * W} bytes`);
  writable.close();
  throwsSx(t, () => plain.chunkBytes([0, 0, 0]), 'usage', 'is closed');
  throwsSx(t, () => writable.dataset(`${DATA}/plain`), 'usage', 'is closed');
});

// Each worker (and the main thread meanwhile) reads every chunk of both datasets several times.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
(async () => {
  (await import(workerData.tsx)).register();
  const { ChunkFile } = await import(workerData.module);
  const file = ChunkFile.open(workerData.path);
  const bslz4 = file.dataset('/entry/data/bslz4');
  const gzip = file.dataset('/entry/data/gzip');
  const [n, h, w] = bslz4.info.shape;
  const frame = new Int32Array(h * w);
  const digests = [];
  for (let round = 0; round < workerData.rounds; round++) {
    for (let i = 0; i < n; i++) {
      const chunk = bslz4.readChunk([i, 0, 0]).bytes;
      gzip.readFrames(i, 1, frame);
      digests.push(createHash('sha256').update(chunk).update(new Uint8Array(frame.buffer)).digest('hex'));
    }
  }
  file.close();
  parentPort.postMessage(digests);
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack) }));
`;

test('two worker threads reading at once get the same bytes as one thread', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'shared.h5');
  python(WRITE_SOURCES, path, 24, 256, 256, 'quiet');
  const rounds = 4;
  const single = await runWorker(path, rounds);
  t.is(single.length, 24 * rounds);
  const workers = [runWorker(path, rounds), runWorker(path, rounds)];
  // The main thread reads too: all three share the addon and the library.
  const main = ChunkFile.open(path);
  const data = main.dataset('/entry/data/bslz4');
  for (let round = 0; round < rounds; round++) for (let i = 0; i < 24; i++) data.readChunk([i, 0, 0]);
  main.close();
  for (const digests of await Promise.all(workers)) t.deepEqual(digests, single);
});

function runWorker(path: string, rounds: number): Promise<string[]> {
  const workerData = { path, rounds, tsx: import.meta.resolve('tsx/esm/api'), module: import.meta.resolve('../../src/store/hdf5-chunks.ts') };
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData });
    worker.once('message', (m: string[] | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
  });
}

test('a full disk fails the chunk write with a clear error, and what was written before stays readable', (t) => {
  if (process.getuid?.() !== 0) return t.fail('mounting a small tmpfs needs root (CI runs as root)');
  const disk = join(tempDir(t), 'small');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
  t.teardown(() => execFileSync('umount', ['-l', disk]));
  const path = join(disk, 'container.h5');
  execFileSync(DEBIAN_PYTHON, ['-c', `
import h5py, sys
with h5py.File(sys.argv[1], 'w') as f:
    f.create_dataset('data', shape=(0, 64, 64), maxshape=(None, 64, 64), chunks=(1, 64, 64), dtype='<u2')
`, path]);
  const { bsize, bavail } = statfsSync(disk);
  writeFileSync(join(disk, 'filler'), Buffer.alloc(bsize * bavail - 40_000));
  const file = ChunkFile.open(path, 'r+');
  const data = file.dataset('/data');
  const frame = new Uint16Array(64 * 64).fill(7);
  const chunk = new Uint8Array(frame.buffer);
  let written = 0;
  const err = t.throws(() => {
    for (; written < 100; written++) {
      data.extend(written + 1);
      data.writeChunk([written, 0, 0], chunk);
    }
  });
  t.true(isSxError(err, 'store'), String(err));
  t.is(err!.message, `${path}: cannot write chunk [${written}, 0, 0] of /data: file write failed: No space left on device`);
  t.true(written > 0);
  // Raw chunks take new space at once; the little metadata HDF5 flushes now still fits.
  file.close();
  const seen = python<{ frames: string[] }>(READ_CONTAINER, path, '/data');
  t.deepEqual(seen.frames.slice(0, written), Array(written).fill(base64(frame)));
});
