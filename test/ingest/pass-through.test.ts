// A raw product in the codec its source chunks are already in is written by direct chunk write of
// the source's stored bytes, with no decode and re-encode; in another codec, it is re-encoded.
import test from 'ava';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { ingest } from '../../src/ingest/ingest.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { CXI_DATA_PATH } from '../../src/store/cxi-container.ts';
import { ChunkFile } from '../../src/store/hdf5-chunks.ts';
import { readWithH5py } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFileSync } from 'node:fs';

function storedChunks(file: string, path: string, frames: number): Buffer[] {
  const f = ChunkFile.open(file, 'r');
  try {
    const dataset = f.dataset(path);
    return Array.from({ length: frames }, (_, i) => Buffer.from(dataset.readChunk([i, 0, 0]).bytes));
  } finally {
    f.close();
  }
}

const sha256 = (pixels: ArrayBufferView) => createHash('sha256').update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength)).digest('hex');

test('raw in the source codec: the container stores the source chunks byte for byte; in zstd, the same pixels re-encoded', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'tiny', frames: 8, hitRate: 0.5, seed: 41, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());

  const kept = await ingest({ files: [run.out], experiment: { name: 'same-codec' }, geometryFile: run.geometryOut, policy: 'keep-all', facility, catalog });
  t.is(kept.labelled, 8);
  const [container] = kept.containers;
  t.is(container.frames, 8);
  const source = storedChunks(run.out, '/entry/data/data', 8);
  const written = storedChunks(container.path, CXI_DATA_PATH, 8);
  t.true(source.every((chunk, i) => chunk.equals(written[i])), 'every stored chunk of the container equals the source chunk');
  const h5py = readWithH5py(container.path, CXI_DATA_PATH);
  t.deepEqual(h5py.filters, [32008]);

  const policyFile = join(dir, 'zstd.yaml');
  writeFileSync(policyFile, ['policy: all-zstd', 'version: 1', 'rules:', '  - name: all', '    keep: [{ product: raw, codec: { id: zstd, level: 5 }, lifecycle: [hdd: 1y] }]', 'unlabelled: all', ''].join('\n'));
  const recoded = await ingest({ files: [run.out], experiment: { name: 'zstd' }, geometryFile: run.geometryOut, policy: policyFile, facility, catalog });
  const zstd = recoded.containers[0].path;
  t.false(storedChunks(zstd, CXI_DATA_PATH, 8)[0].equals(source[0]));
  // Both containers read back, with h5py, as the source's pixels.
  const frames = await openFrameSource(run.out);
  try {
    const expected = Array.from({ length: 8 }, (_, i) => sha256(frames.read(i)));
    t.deepEqual(h5py.frames, expected);
    const z = readWithH5py(zstd, CXI_DATA_PATH);
    t.deepEqual(z.filters, [32015]);
    t.deepEqual(z.frames, expected);
  } finally {
    frames.close();
  }
});
