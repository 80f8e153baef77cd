import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openFrameSource, type FrameSource } from '../../src/frames/hdf5-source.ts';
import { loadH5 } from '../../src/store/hdf5.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runPython, selectWithH5py, sha256Of, SHARED_DATA } from '../ingest/helpers.ts';

const CRYSTFEL_TESTS = join(SHARED_DATA, 'formats/crystfel_tests');

function events(source: FrameSource): string[] {
  return Array.from({ length: source.count }, (_, i) => source.event(i));
}

async function withSource<T>(file: string, layout: Parameters<typeof openFrameSource>[1], use: (s: FrameSource) => T): Promise<T> {
  const source = await openFrameSource(file, layout);
  try {
    return use(source);
  } finally {
    source.close();
  }
}

test('ev_enum1: two % in the path, the value without "array" skipped, as CrystFEL does', async (t) => {
  const geom = readFileSync(join(CRYSTFEL_TESTS, 'ev_enum1.geom'), 'utf8');
  t.regex(geom, /^panel\/data = \/data\/panelA\/%\/panel_data1t\/%\/array$/m);
  await withSource(join(CRYSTFEL_TESTS, 'ev_enum1.h5'), { data: '/data/panelA/%/panel_data1t/%/array', dims: ['ss', 'fs'] }, (s) => {
    t.like(s, { kind: 'path-pattern', count: 4, height: 1, width: 1, pixelType: 'float32', storedType: 'float64' });
    t.deepEqual(events(s), ['ev_1/dataABCset//', 'ev_2/dataDEFset//', 'ev_3/dataGHIset//', 'ev_5/dataNOPset//']);
    for (let i = 0; i < s.count; i++) t.deepEqual(Array.from(s.read(i)), [0]);
  });
  // What h5py sees at the first match, for the record: one 1x1 float64 zero.
  t.like(selectWithH5py(join(CRYSTFEL_TESTS, 'ev_enum1.h5'), '/data/panelA/ev_1/panel_data1t/dataABCset/array', [null, null], 'float32'), { shape: [1, 1], values: [0] });
});

test('ev_enum2: % in the path and dim0, a fixed index in dim3: 200 events a//0 .. b//99', async (t) => {
  await withSource(join(CRYSTFEL_TESTS, 'ev_enum2.h5'), { data: '/data/%/data_array', dims: ['%', 'ss', 'fs', 1] }, (s) => {
    t.like(s, { count: 200, height: 1, width: 1, pixelType: 'float32' });
    const expected = [...Array.from({ length: 100 }, (_, i) => `a//${i}`), ...Array.from({ length: 100 }, (_, i) => `b//${i}`)];
    t.deepEqual(events(s), expected);
    t.deepEqual(Array.from(s.read(150)), selectWithH5py(join(CRYSTFEL_TESTS, 'ev_enum2.h5'), '/data/b/data_array', [50, null, null, 1], 'float32').values);
  });
});

test('ev_enum3: a lone 2-D frame is the single event //', async (t) => {
  await withSource(join(CRYSTFEL_TESTS, 'ev_enum3.h5'), { data: '/data/data_array', dims: ['ss', 'fs'] }, (s) => {
    t.like(s, { kind: 'dataset', count: 1, height: 1, width: 1 });
    t.deepEqual(events(s), ['//']);
    t.deepEqual(Array.from(s.read(0)), [0]);
  });
});

test('cxidb_minimal.cxi: a 2-D /entry_1/data_1/data is one 50x100 frame, float64 read as float32', async (t) => {
  const file = join(SHARED_DATA, 'formats/cxidb_minimal.cxi');
  await withSource(file, undefined, (s) => {
    t.like(s, { datasetPath: '/entry_1/data_1/data', count: 1, height: 50, width: 100, pixelType: 'float32', storedType: 'float64' });
    t.deepEqual(events(s), ['//']);
    t.is(sha256Of(s.read(0)), selectWithH5py(file, '/entry_1/data_1/data', [null, null], 'float32').sha256);
  });
});

test('lyso_multi10.h5 with det1024_multi.geom\'s layout: 10 frames, frame 3 as h5py reads it', async (t) => {
  const geom = readFileSync(join(SHARED_DATA, 'sim-lysozyme/det1024_multi.geom'), 'utf8');
  t.regex(geom, /^data = \/entry\/data\/data\ndim0 = %\ndim1 = ss\ndim2 = fs$/m);
  const file = join(SHARED_DATA, 'sim-lysozyme/lyso_multi10.h5');
  const h5py = selectWithH5py(file, '/entry/data/data', [3, null, null], 'float32');
  await withSource(file, { data: '/entry/data/data', dims: ['%', 'ss', 'fs'] }, (s) => {
    t.like(s, { count: 10, height: 1024, width: 1024, pixelType: 'float32', storedType: 'float32' });
    t.deepEqual(events(s), Array.from({ length: 10 }, (_, i) => `//${i}`));
    t.is(sha256Of(s.read(3)), h5py.sha256);
    t.not(sha256Of(s.read(4)), h5py.sha256);
  });
});

test('lyso_multi10.h5 with det1024.geom\'s default dims (ss, fs) is a rank error that says dim0 = %', async (t) => {
  const err = await t.throwsAsync(openFrameSource(join(SHARED_DATA, 'sim-lysozyme/lyso_multi10.h5'), { data: '/entry/data/data', dims: ['ss', 'fs'] }));
  t.regex(err!.message, /lyso_multi10\.h5:\/entry\/data\/data: the layout's dims \(ss, fs\) need a 2-D dataset but it has shape \[10, 1024, 1024\]; for a stack of frames the geometry needs dim0 = %$/);
});

test('sim-lysozyme/frames/hit-1.h5: one frame, found without a layout', async (t) => {
  const file = join(SHARED_DATA, 'sim-lysozyme/frames/hit-1.h5');
  await withSource(file, undefined, (s) => {
    // The shared README says /data/data, but the file holds /entry/data/data.
    t.like(s, { datasetPath: '/entry/data/data', count: 1, height: 1024, width: 1024, pixelType: 'float32' });
    t.deepEqual(events(s), ['//']);
    t.is(sha256Of(s.read(0)), selectWithH5py(file, '/entry/data/data', [null, null], 'float32').sha256);
  });
});

/** A file with per-event groups, a 4-D array, several % dims and odd pixel types, written here. */
async function writeSyntheticFile(path: string): Promise<void> {
  const h5 = await loadH5();
  const f = new h5.File(path, 'w');
  try {
    const run = f.create_group('run');
    // ev_1: 3 frames, ev_2: 2 frames of 2x4 in [n, ss, fs, 2]; value = 1000*event + 100*frame + 10*ss + fs, plus 5000 in slot 1.
    for (const [ev, n] of [[1, 3], [2, 2]] as const) {
      const data = new Int16Array(n * 2 * 4 * 2);
      for (let i = 0; i < n; i++) for (let ss = 0; ss < 2; ss++) for (let fs = 0; fs < 4; fs++) {
        const v = 1000 * ev + 100 * i + 10 * ss + fs;
        data[((i * 2 + ss) * 4 + fs) * 2] = v;
        data[((i * 2 + ss) * 4 + fs) * 2 + 1] = v + 5000;
      }
      run.create_group(`ev_${ev}`).create_dataset({ name: 'frames', data, shape: [n, 2, 4, 2] });
    }
    run.create_group('ev_3').create_dataset({ name: 'nomatch', data: new Int16Array(16), shape: [1, 2, 4, 2] });
    run.create_dataset({ name: 'ev_9', data: new Int16Array(16), shape: [1, 2, 4, 2] });
    f.create_dataset({ name: 'multi', data: Uint8Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i), shape: [2, 3, 2, 2] });
    const types = f.create_group('types');
    types.create_dataset({ name: 'int8', data: Int8Array.of(-1, 2, -3, 4), shape: [2, 2] });
    types.create_dataset({ name: 'uint8', data: Uint8Array.of(255, 0, 1, 2), shape: [2, 2] });
    types.create_dataset({ name: 'uint32', data: Uint32Array.of(4294967295, 0, 1, 2), shape: [2, 2] });
    types.create_dataset({ name: 'int32', data: Int32Array.of(-2147483648, 0, 1, 2), shape: [2, 2] });
    types.create_dataset({ name: 'float64', data: Float64Array.of(0.1, -2.5, 1e6, 3), shape: [2, 2] });
    types.create_dataset({ name: 'int64', data: BigInt64Array.of(-5n, 2147483647n, 7n, 8n), shape: [2, 2], dtype: '<q' });
    types.create_dataset({ name: 'uint64_big', data: BigUint64Array.of(1n, 2n, 3n, 1n << 40n), shape: [2, 2], dtype: '<Q' });
    types.create_dataset({ name: 'text', data: ['a', 'b', 'c', 'd'], shape: [2, 2] });
    // CXI as Cheetah writes it: data_1/data is a soft link to the detector's stack.
    const detector = f.create_group('entry_1').create_group('instrument_1').create_group('detector_1');
    detector.create_dataset({ name: 'data', data: Float32Array.from({ length: 4 * 3 * 5 }, (_, i) => i / 2), shape: [4, 3, 5] });
    f.create_group('entry_1/data_1').create_soft_link('/entry_1/instrument_1/detector_1/data', 'data');
  } finally {
    f.close();
  }
}

test('a % in part of a path component, a fixed index in the last dim, int16 widened to int32', async (t) => {
  const file = join(tempDir(t), 'synthetic.h5');
  await writeSyntheticFile(file);
  await withSource(file, { data: '/run/ev_%/frames', dims: ['%', 'ss', 'fs', 1] }, (s) => {
    t.like(s, { count: 5, height: 2, width: 4, pixelType: 'int32', storedType: 'int16' });
    t.deepEqual(events(s), ['1//0', '1//1', '1//2', '2//0', '2//1']);
    t.true(s.read(0) instanceof Int32Array);
    t.deepEqual(Array.from(s.read(4)), [7100, 7101, 7102, 7103, 7110, 7111, 7112, 7113]);
    t.deepEqual(Array.from(s.read(2)), [6200, 6201, 6202, 6203, 6210, 6211, 6212, 6213]);
  });
  // dim3 = 0 picks the other slot; h5py agrees.
  await withSource(file, { data: '/run/ev_%/frames', dims: ['%', 'ss', 'fs', 0] }, (s) => {
    t.deepEqual(Array.from(s.read(1)), selectWithH5py(file, '/run/ev_1/frames', [1, null, null, 0], 'int32').values);
  });
});

test('two % dims number events i/j in row-major order', async (t) => {
  const file = join(tempDir(t), 'synthetic.h5');
  await writeSyntheticFile(file);
  await withSource(file, { data: '/multi', dims: ['%', '%', 'ss', 'fs'] }, (s) => {
    t.like(s, { count: 6, height: 2, width: 2, pixelType: 'int32', storedType: 'uint8' });
    t.deepEqual(events(s), ['//0/0', '//0/1', '//0/2', '//1/0', '//1/1', '//1/2']);
    t.deepEqual(Array.from(s.read(4)), [16, 17, 18, 19]);
  });
});

test('pixel types: pass-through, widened to int32, narrowed to int32 with a range check, float64 to float32', async (t) => {
  const file = join(tempDir(t), 'synthetic.h5');
  await writeSyntheticFile(file);
  const read = (name: string) => withSource(file, { data: `/types/${name}`, dims: ['ss', 'fs'] }, (s) => [s.pixelType, s.read(0)] as const);
  t.deepEqual(await read('int8'), ['int32', Int32Array.of(-1, 2, -3, 4)]);
  t.deepEqual(await read('uint8'), ['int32', Int32Array.of(255, 0, 1, 2)]);
  t.deepEqual(await read('uint32'), ['uint32', Uint32Array.of(4294967295, 0, 1, 2)]);
  t.deepEqual(await read('int32'), ['int32', Int32Array.of(-2147483648, 0, 1, 2)]);
  t.deepEqual(await read('float64'), ['float32', Float32Array.of(0.1, -2.5, 1e6, 3)]);
  t.deepEqual(await read('int64'), ['int32', Int32Array.of(-5, 2147483647, 7, 8)]);
  const tooBig = await t.throwsAsync(read('uint64_big'));
  t.regex(tooBig!.message, /synthetic\.h5 event \/\/: cannot read frame from \/types\/uint64_big: pixel 3 is 1099511627776, which does not fit the int32 that uint64 frames are read as$/);
  const text = await t.throwsAsync(read('text'));
  t.regex(text!.message, /synthetic\.h5:\/types\/text: unsupported pixel type/);
});

test('big-endian data are read as native numbers', async (t) => {
  const file = join(tempDir(t), 'big-endian.h5');
  runPython('with h5py.File(sys.argv[1], "w") as f:\n  f["/data/data"] = np.arange(12, dtype=">u2").reshape(3, 2, 2) * 1000\n  f["/f"] = np.array([[1.5, -2]], dtype=">f8")', file);
  await withSource(file, undefined, (s) => t.deepEqual(Array.from(s.read(2)), [8000, 9000, 10000, 11000]));
  await withSource(file, { data: '/f', dims: ['ss', 'fs'] }, (s) => t.deepEqual(s.read(0), Float32Array.of(1.5, -2)));
});

test('CXI: /entry_1/data_1/data as a soft link to the detector stack is followed', async (t) => {
  const file = join(tempDir(t), 'synthetic.h5');
  await writeSyntheticFile(file);
  await withSource(file, undefined, (s) => {
    t.like(s, { datasetPath: '/entry_1/data_1/data', count: 4, height: 3, width: 5, pixelType: 'float32' });
    t.deepEqual(events(s), ['//0', '//1', '//2', '//3']);
    t.deepEqual(Array.from(s.read(2)), Array.from({ length: 15 }, (_, i) => (30 + i) / 2));
  });
});
