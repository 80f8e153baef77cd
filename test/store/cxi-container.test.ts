import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically, sha256File } from '../../src/store/atomic.ts';
import { CONTAINER_CODEC_IDS, containerFilter } from '../../codecs/registry.ts';
import { CXI_DATA_PATH, CxiContainerWriter, readContainerMeta, type ContainerCodecRecord } from '../../src/store/cxi-container.ts';
import { loadH5, readFrame, type Dataset } from '../../src/store/hdf5.ts';
import { readWithH5py } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { allocPixels, type PixelType } from '../../src/pixels.ts';

const H = 37;
const W = 53;

/** Sparse, photon-like frames: mostly 0-2 counts with a few bright pixels, seeded. */
function makeFrames(type: PixelType, n: number) {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  return Array.from({ length: n }, (_, k) => {
    const f = allocPixels(type, H * W);
    for (let i = 0; i < f.length; i++) {
      const r = next();
      const v = (r >>> 29) === 0 ? (r >>> 8) % 5000 : (r >>> 4) % 3;
      f[i] = type === 'int32' && i % 97 === 0 ? -v : type === 'float32' ? v + 0.25 * k : v;
    }
    return f;
  });
}

/** A raw container's record for a container codec at its defaults. */
function rawRecord(id: string): ContainerCodecRecord {
  return { product: 'raw', compression: { id }, hdf5_filter: containerFilter(id) };
}

const sha = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

for (const compression of CONTAINER_CODEC_IDS) {
  for (const type of ['uint16', 'uint32', 'int32', 'float32'] as PixelType[]) {
    test(`${compression} ${type} container: h5wasm and h5py read back exactly the frames written`, async (t) => {
      const path = join(tempDir(t), 'c.h5');
      const frames = makeFrames(type, 3);
      const writer = await CxiContainerWriter.create(path, { height: H, width: W, pixelType: type, filter: containerFilter(compression), codec: rawRecord(compression), geometry: 'res = 13333.3\n' });
      frames.forEach((f, i) => writer.append(f, { source: '/in/run.h5', event: `//${i}` }));
      writer.close();

      const h5 = await loadH5();
      const file = new h5.File(path, 'r');
      t.teardown(() => file.close());
      const data = file.get(CXI_DATA_PATH) as Dataset;
      t.deepEqual(data.shape, [3, H, W]);
      frames.forEach((f, i) => t.deepEqual(readFrame(data, i), f));
      t.deepEqual((file.get('/entry_1/experiment_identifier') as Dataset).value, ['//0', '//1', '//2']);
      t.deepEqual(readContainerMeta(file), { product: 'raw', codec: rawRecord(compression), geometry: 'res = 13333.3\n', frames: [0, 1, 2].map((i) => ({ source: '/in/run.h5', event: `//${i}` })) });

      const view = readWithH5py(path, CXI_DATA_PATH, ['/entry_1/experiment_identifier', '/entry_1/data_1/source_file', '/entry_1/instrument_1/detector_1/crystfel_geometry']);
      t.deepEqual(view.shape, [3, H, W]);
      t.deepEqual(view.chunks, [1, H, W]);
      t.deepEqual(view.filters, { 'bitshuffle-lz4': [32008], zstd: [32015], blosc: [32001], none: [] }[compression]);
      t.deepEqual(view.frames, frames.map(sha));
      t.deepEqual(view.extra['/entry_1/experiment_identifier'], ['//0', '//1', '//2']);
      t.deepEqual(view.extra['/entry_1/data_1/source_file'], ['/in/run.h5', '/in/run.h5', '/in/run.h5']);
      t.is(view.extra['/entry_1/instrument_1/detector_1/crystfel_geometry'], 'res = 13333.3\n');
    });
  }
}

test('bitshuffle-lz4 really compresses sparse photon-counting frames', async (t) => {
  const dir = tempDir(t);
  const sizes: Record<string, number> = {};
  for (const compression of ['bitshuffle-lz4', 'none'] as const) {
    const written = await writeAtomically(join(dir, `${compression}.h5`), async (tmp) => {
      const w = await CxiContainerWriter.create(tmp, { height: H, width: W, pixelType: 'uint32', filter: containerFilter(compression), codec: rawRecord(compression) });
      for (const f of makeFrames('uint32', 20)) w.append(f, { source: 's', event: '//' });
      w.close();
    });
    sizes[compression] = written.bytes;
  }
  t.true(sizes['bitshuffle-lz4'] * 2.5 < sizes.none, JSON.stringify(sizes));
});

test('an atomic write is fsynced, checksummed and leaves no temporary file behind', async (t) => {
  const dir = tempDir(t);
  const target = join(dir, 'sub', 'file.bin');
  const written = await writeAtomically(target, async (tmp) => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(tmp, 'hello sxarchive');
  });
  t.is(written.bytes, 15);
  t.is(written.sha256, createHash('sha256').update('hello sxarchive').digest('hex'));
  t.is(await sha256File(target), written.sha256);
  t.deepEqual(readdirSync(join(dir, 'sub')), ['file.bin']);

  const failed = join(dir, 'sub', 'broken.bin');
  await t.throwsAsync(writeAtomically(failed, async (tmp) => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(tmp, 'partial');
    throw new Error('disk on fire');
  }), { message: 'disk on fire' });
  t.false(existsSync(failed));
  t.deepEqual(readdirSync(join(dir, 'sub')), ['file.bin']);
});
