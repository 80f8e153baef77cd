import test from 'ava';
import { cpSync, mkdirSync, renameSync, statSync, truncateSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isSxError } from '../../src/errors.ts';
import { openFrameSource, type FrameSource } from '../../src/frames/hdf5-source.ts';
import { dataFilePath } from '../../src/simulate/nxmx-writer.ts';
import { simulate, validateSimulateOptions, type SimulateResult } from '../../src/simulate/simulate.ts';
import { sxarchiveJson } from '../helpers/cli.ts';
import { readWithH5py } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { runPython, sha256Of } from '../ingest/helpers.ts';

const FRAMES = 7;
const PER_FILE = 3;

interface Runs {
  dir: string;
  stack: SimulateResult;
  series: SimulateResult;
}

async function simulateBoth(t: import('ava').ExecutionContext): Promise<Runs> {
  const dir = tempDir(t);
  const common = { detector: 'tiny' as const, frames: FRAMES, hitRate: 0.5, seed: 21 };
  const stack = await simulate({ ...common, out: join(dir, 'stack.h5') });
  const series = await simulate({ ...common, out: join(dir, 'run_master.h5'), layout: 'nxmx', framesPerDataFile: PER_FILE });
  return { dir, stack, series };
}

function frameHashes(source: FrameSource): string[] {
  return Array.from({ length: source.count }, (_, i) => sha256Of(source.read(i)));
}

async function hashesOf(file: string, layout?: Parameters<typeof openFrameSource>[1]): Promise<{ events: string[]; hashes: string[]; kind: string }> {
  const source = await openFrameSource(file, layout);
  try {
    return { kind: source.kind, events: Array.from({ length: source.count }, (_, i) => source.event(i)), hashes: frameHashes(source) };
  } finally {
    source.close();
  }
}

test('the nxmx layout writes a master and data files of up to N frames, the same frames as the stack', async (t) => {
  const { dir, stack, series } = await simulateBoth(t);
  t.like(series, { out: join(dir, 'run_master.h5'), frames: FRAMES, hits: stack.hits, width: 256, height: 256 });
  t.deepEqual(series.dataFiles?.map((f) => basename(f.path)), ['run_data_000001.h5', 'run_data_000002.h5', 'run_data_000003.h5']);
  for (const f of series.dataFiles!) t.is(f.bytes, statSync(f.path).size);
  t.is(stack.dataFiles, undefined);

  const fromStack = await hashesOf(stack.out);
  const fromSeries = await hashesOf(series.out);
  t.is(fromSeries.kind, 'nxmx');
  t.deepEqual(fromSeries.events, Array.from({ length: FRAMES }, (_, i) => `//${i}`));
  t.deepEqual(fromSeries.hashes, fromStack.hashes);
  // A data file alone is a plain stack, numbered from 0.
  t.deepEqual(await hashesOf(series.dataFiles![1].path), { kind: 'dataset', events: ['//0', '//1', '//2'], hashes: fromStack.hashes.slice(3, 6) });
});

test('h5py (with hdf5plugin) reads the frames through the master\'s external links: same bytes as openFrameSource', async (t) => {
  const { series } = await simulateBoth(t);
  const viaH5py = [1, 2, 3].flatMap((k) => {
    const view = readWithH5py(series.out, `/entry/data/data_00000${k}`);
    t.deepEqual(view.filters, [32008]);
    t.deepEqual(view.chunks, [1, 256, 256]);
    return view.frames;
  });
  t.deepEqual(viaH5py, (await hashesOf(series.out)).hashes);

  const layout = JSON.parse(runPython(`
import json, hdf5plugin
with h5py.File(sys.argv[1], "r") as f:
    links = {}
    for k in f["/entry/data"]:
        l = f["/entry/data"].get(k, getlink=True)
        d = f["/entry/data"][k]
        links[k] = [l.filename, l.path, int(d.attrs["image_nr_low"]), int(d.attrs["image_nr_high"]), list(d.shape)]
    print(json.dumps({
        "definition": f["/entry/definition"][()].decode(),
        "links": links,
        "nimages": int(f["/entry/instrument/detector/detectorSpecific/nimages"][()]),
        "compression": f["/entry/instrument/detector/detectorSpecific/compression"][()].decode(),
        "is_hit": f["/entry/truth/is_hit"][()].tolist(),
        "pixel_size": float(f["/entry/instrument/detector/x_pixel_size"][()]),
    }))`, series.out)) as Record<string, unknown>;
  t.like(layout, {
    definition: 'NXmx',
    links: {
      data_000001: ['run_data_000001.h5', '/entry/data/data', 1, 3, [3, 256, 256]],
      data_000002: ['run_data_000002.h5', '/entry/data/data', 4, 6, [3, 256, 256]],
      data_000003: ['run_data_000003.h5', '/entry/data/data', 7, 7, [1, 256, 256]],
    },
    nimages: FRAMES,
    compression: 'bslz4',
    pixel_size: 75e-6,
  });
  t.is((layout.is_hit as number[]).length, FRAMES);
});

test('the geometry written for the data files (data = /entry/data/data, dim0 = %) also opens the master', async (t) => {
  const { series, stack } = await simulateBoth(t);
  const viaLayout = await hashesOf(series.out, { data: '/entry/data/data', dims: ['%', 'ss', 'fs'] });
  t.is(viaLayout.kind, 'nxmx');
  t.deepEqual(viaLayout.hashes, (await hashesOf(stack.out)).hashes);
});

test.serial('links are relative: a series moved as a folder still opens, whatever the working directory', async (t) => {
  const { dir, series, stack } = await simulateBoth(t);
  const moved = join(dir, 'moved');
  mkdirSync(moved);
  for (const f of [series.out, ...series.dataFiles!.map((d) => d.path)]) cpSync(f, join(moved, basename(f)));
  const cwd = process.cwd();
  process.chdir('/');
  try {
    t.deepEqual((await hashesOf(join(moved, 'run_master.h5'))).hashes, (await hashesOf(stack.out)).hashes);
  } finally {
    process.chdir(cwd);
  }
});

test('a missing or truncated data file fails the open, naming master, link and data file', async (t) => {
  const { series } = await simulateBoth(t);
  const [, second, third] = series.dataFiles!.map((f) => f.path);
  const size = statSync(third).size;
  truncateSync(third, size - 100);
  let err = await t.throwsAsync(openFrameSource(series.out));
  t.true(isSxError(err, 'input'));
  t.is(err!.message, `${series.out}: data file of /entry/data/data_000003: ${third}: truncated HDF5 file: ${size - 100} bytes on disk but the file says it ends at byte ${size} (an interrupted write or copy?)`);
  renameSync(second, `${second}.gone`);
  err = await t.throwsAsync(openFrameSource(series.out));
  t.is(err!.message, `${series.out}: /entry/data/data_000002 links to run_data_000002.h5:/entry/data/data, but ${second} does not exist`);
});

test('frames are numbered by image_nr_low: a gap in the series shows in the events; an overlap is refused', async (t) => {
  const dir = tempDir(t);
  const make = (name: string, lows: number[]) =>
    runPython(`
import os, hdf5plugin
folder, name, lows = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
with h5py.File(os.path.join(folder, name + "_master.h5"), "w") as m:
    m["/entry/definition"] = "NXmx"
    for k, low in enumerate(lows, 1):
        data = name + "_data_%06d.h5" % k
        with h5py.File(os.path.join(folder, data), "w") as f:
            d = f.create_dataset("/entry/data/data", data=np.full((2, 2, 3), k, dtype="<u4"), chunks=(1, 2, 3), **hdf5plugin.Bitshuffle(cname="lz4"))
            d.attrs["image_nr_low"] = np.uint64(low)
            d.attrs["image_nr_high"] = np.uint64(low + 1)
        m["/entry/data/data_%06d" % k] = h5py.ExternalLink(data, "/entry/data/data")`, dir, name, lows.join(','));
  make('gap', [1, 11]);
  const gap = await openFrameSource(join(dir, 'gap_master.h5'));
  t.teardown(() => gap.close());
  t.like(gap, { count: 4, height: 2, width: 3, pixelType: 'uint32' });
  t.deepEqual([0, 1, 2, 3].map((i) => gap.event(i)), ['//0', '//1', '//10', '//11']);
  t.deepEqual(Array.from(gap.read(2)), [2, 2, 2, 2, 2, 2]);
  make('overlap', [1, 2]);
  const err = await t.throwsAsync(openFrameSource(join(dir, 'overlap_master.h5')));
  t.regex(err!.message, /overlap_master\.h5: \/entry\/data\/data_000002 starts at image 2 \(image_nr_low\), inside the images before it \(1-2\); the series is inconsistent$/);
});

test('data file names follow Eiger: <stem>_data_000001.h5 beside the master', (t) => {
  t.is(dataFilePath('/d/run7_master.h5', 1), '/d/run7_data_000001.h5');
  t.is(dataFilePath('/d/run7.h5', 12), '/d/run7_data_000012.h5');
  t.is(dataFilePath('rel/x.nxs', 3), join('rel', 'x_data_000003.h5'));
});

test('layout options are validated with the rest', (t) => {
  const base = { detector: 'tiny' as const, frames: 2, hitRate: 0, seed: 1, out: 'x.h5' };
  t.notThrows(() => validateSimulateOptions({ ...base, layout: 'nxmx', framesPerDataFile: 1 }));
  const err = t.throws(() => validateSimulateOptions({ ...base, layout: 'vds' as 'nxmx', framesPerDataFile: 0 }));
  t.regex(err!.message, /Expected --layout to be one of stack, nxmx but received "vds"/);
  t.regex(err!.message, /Expected --frames-per-data-file to be a positive integer but received 0/);
  t.throws(() => validateSimulateOptions({ ...base, framesPerDataFile: 5 }), { message: 'Expected --frames-per-data-file only with --layout nxmx' });
});

test('CLI: simulate --layout nxmx, then ingest the master: every frame recorded as master + //i', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const sim = sxarchiveJson<{ frames: number; dataFiles: { path: string }[] }>([
    'simulate', '--detector', 'tiny', '--frames', '5', '--seed', '4', '--layout', 'nxmx', '--frames-per-data-file', '2', '--out', join(dir, 'r_master.h5'),
  ]);
  t.is(sim.dataFiles.length, 3);
  sxarchiveJson(['--data-dir', data, 'init']);
  const ingested = sxarchiveJson<{ frames: number; containers: { path: string }[] }>(['--data-dir', data, 'ingest', join(dir, 'r_master.h5'), '--experiment', 'nx']);
  t.is(ingested.frames, 5);
  const archived = readWithH5py(ingested.containers[0].path, '/entry_1/data_1/data', ['/entry_1/experiment_identifier', '/entry_1/data_1/source_file']);
  t.deepEqual(archived.extra['/entry_1/experiment_identifier'], ['//0', '//1', '//2', '//3', '//4']);
  t.deepEqual(archived.extra['/entry_1/data_1/source_file'], Array(5).fill(join(dir, 'r_master.h5')));
  const original = [1, 2, 3].flatMap((k) => readWithH5py(join(dir, 'r_master.h5'), `/entry/data/data_00000${k}`).frames);
  t.deepEqual(archived.frames, original);
});
