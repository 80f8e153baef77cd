import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { decodePeaks } from '../../src/core/peak-blob.ts';
import { ingest } from '../../src/ingest/ingest.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { loadH5, type Dataset } from '../../src/store/hdf5.ts';
import { DEBIAN_PYTHON, readWithH5py } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ZERO_CHUNK_SCRIPT } from './helpers.ts';

async function truthHits(file: string): Promise<number[]> {
  const h5 = await loadH5();
  const f = new h5.File(file, 'r');
  try {
    return Array.from((f.get('/entry/truth/is_hit') as Dataset).value as Uint8Array);
  } finally {
    f.close();
  }
}

test('ingest with a geometry labels every frame and stores the labels with the frames', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'tiny', frames: 20, hitRate: 0.5, seed: 21, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const result = await ingest({ files: [run.out], experiment: { name: 'e1' }, geometryFile: run.geometryOut, peakFinder: { minPeaks: 10 }, facility, catalog });
  t.like(result, { frames: 20, labelled: 20, hits: run.hits });
  t.deepEqual(result.skipped, []);

  const rows = catalog.db.prepare('SELECT event, hit, n_peaks, resolution, peaks FROM frames ORDER BY id').all() as { event: string; hit: number; n_peaks: number; resolution: number | null; peaks: Buffer }[];
  t.deepEqual(rows.map((r) => r.hit), await truthHits(run.out));
  for (const r of rows) {
    const peaks = decodePeaks(r.peaks);
    t.is(peaks.count, r.n_peaks);
    if (r.hit) t.true(r.resolution! > 1 && r.resolution! < 20, `resolution ${r.resolution} Å`);
  }
  const labelling = JSON.parse((catalog.db.prepare('SELECT labelling FROM runs').get() as { labelling: string }).labelling);
  t.is(labelling.geometry_file, run.geometryOut);
  t.is(labelling.peakfinder8.minPeaks, 10);
});

test('ingest skips and reports unreadable frames, and keeps the rest', async (t) => {
  const dir = tempDir(t);
  const good = await simulate({ detector: 'tiny', frames: 5, hitRate: 0.5, seed: 5, out: join(dir, 'good.h5') });
  const truncated = join(dir, 'truncated.h5');
  copyFileSync(good.out, truncated);
  truncateSync(truncated, Math.floor(statSync(truncated).size * 0.5));
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  // A file that cannot be opened at all is reported and skipped; the others are ingested (a partial run).
  const partial = await ingest({ files: [good.out, truncated], experiment: { name: 'e0' }, facility, catalog });
  t.like(partial, { frames: 5, state: 'partial' });
  t.deepEqual(partial.badFiles.map((b) => b.file), [truncated]);
  t.regex(partial.badFiles[0].error, /^truncated HDF5 file: /);

  // A file that opens but has one damaged frame: that frame is skipped and reported, the rest archived.
  const holed = join(dir, 'holed.h5');
  execFileSync(DEBIAN_PYTHON, [ZERO_CHUNK_SCRIPT, good.out, holed, '/entry/data/data', '2']);
  const result = await ingest({ files: [holed], experiment: { name: 'e1' }, facility, catalog });
  t.is(result.frames, 4);
  t.is(result.skipped.length, 1);
  t.like(result.skipped[0], { file: holed, event: '//2' });
  t.regex(result.skipped[0].error, new RegExp(`^${holed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} event //2: `));
  const events = (catalog.db.prepare("SELECT f.event FROM frames f JOIN runs r ON r.id = f.run_id JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'e1' ORDER BY f.id").all() as { event: string }[]).map((r) => r.event);
  t.deepEqual(events, ['//0', '//1', '//3', '//4']);
});

test('ingest --policy hits-only keeps the hits raw and records every frame with its decision', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'tiny', frames: 20, hitRate: 0.4, seed: 8, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const result = await ingest({ files: [run.out], experiment: { name: 'e1' }, geometryFile: run.geometryOut, policy: 'hits-only', facility, catalog });
  const truth = await truthHits(run.out);
  const hits = truth.filter((h) => h === 1).length;
  t.like(result, { frames: 20, hits, policy: { name: 'hits-only', version: 1 } });
  t.deepEqual(result.rules, { hits, blanks: 20 - hits });
  t.is(result.containers.length, 1);
  t.like(result.containers[0], { product: 'raw', tier: 'hdd', frames: hits });

  const decisions = catalog.db.prepare(`SELECT f.event, f.hit, d.rule, d.product, d.container_index, p.name AS policy
    FROM decisions d JOIN frames f ON f.id = d.frame_id JOIN policies p ON p.id = d.policy_id ORDER BY f.id`).all() as { event: string; hit: number; rule: string; product: string; container_index: number | null; policy: string }[];
  t.is(decisions.length, 20);
  t.true(decisions.every((d) => d.policy === 'hits-only' && (d.hit === 1 ? d.rule === 'hits' && d.product === 'raw' : d.rule === 'blanks' && d.product === 'labels')));
  t.deepEqual(decisions.filter((d) => d.hit === 1).map((d) => d.container_index), Array.from({ length: hits }, (_, i) => i));
  // The placement ends when the lifecycle's first step does: 5 years on hdd.
  const { valid_until } = catalog.db.prepare('SELECT valid_until FROM placements').get() as { valid_until: string };
  const years = (Date.parse(valid_until) - Date.now()) / (365 * 86_400_000);
  t.true(Math.abs(years - 5) < 0.01, `placement until ${valid_until}`);
});

test('ingest under binned-hits and peaks-only writes the reduced products of the hits, readable by h5py', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'eiger1m', frames: 10, hitRate: 0.5, seed: 13, out: join(dir, 'run.h5'), geometryOut: join(dir, 'e.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());

  const binned = await ingest({ files: [run.out], experiment: { name: 'b' }, geometryFile: run.geometryOut, policy: 'binned-hits', facility, catalog });
  t.is(binned.containers.length, 1);
  t.like(binned.containers[0], { product: 'binned', frames: binned.hits });
  const b = readWithH5py(binned.containers[0].path, '/entry_1/data_1/data', ['/entry_1/instrument_1/detector_1/crystfel_geometry']);
  t.deepEqual(b.shape, [binned.hits, 1062 / 2, 1028 / 2]);
  t.is(b.dtype, 'uint32');
  const geometry = b.extra['/entry_1/instrument_1/detector_1/crystfel_geometry'] as string;
  t.regex(geometry, /^res\s*=\s*6666\.66/m);
  t.regex(geometry, /^data\s*=\s*\/entry_1\/data_1\/data/m);
  // The beamstop is a bad region of the geometry: the bin on the beam is masked in every frame.
  const text = readFileSync(run.geometryOut!, 'utf8');
  const cx = -Number(/^m00\/corner_x\s*=\s*(\S+)/m.exec(text)![1]);
  const cy = -Number(/^m00\/corner_y\s*=\s*(\S+)/m.exec(text)![1]);
  const h5 = await loadH5();
  const container = new h5.File(binned.containers[0].path, 'r');
  try {
    const mask = (container.get('/entry_1/data_1/mask') as Dataset).slice([[0, 1]]) as Uint8Array;
    t.is(mask[Math.floor(cy / 2) * (1028 / 2) + Math.floor(cx / 2)], 1);
  } finally {
    container.close();
  }

  const peaks = await ingest({ files: [run.out], experiment: { name: 'p' }, geometryFile: run.geometryOut, policy: 'peaks-only', facility, catalog });
  t.like(peaks.containers[0], { product: 'peaks', frames: peaks.hits });
  const nPeaks = readWithH5py(peaks.containers[0].path, '/entry_1/data_1/peak_boxes_offset', ['/entry_1/result_1/nPeaks']).extra['/entry_1/result_1/nPeaks'] as string[];
  const labelled = (catalog.db.prepare("SELECT f.n_peaks FROM frames f JOIN runs r ON r.id = f.run_id JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'p' AND f.hit = 1 ORDER BY f.id").all() as { n_peaks: number }[]).map((r) => String(r.n_peaks));
  t.deepEqual(nPeaks, labelled);
  t.true(peaks.rawBytes / peaks.storedBytes > 50, `peaks-only ${peaks.rawBytes} -> ${peaks.storedBytes} bytes`);
});

test('a results-gated policy holds hits until their indexing result arrives, or until the timeout', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'tiny', frames: 6, hitRate: 1, seed: 30, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const policyFile = join(dir, 'gated.yaml');
  writeFileSync(policyFile, [
    'policy: gated', 'version: 1', 'rules:',
    '  - name: indexed', '    when: { hit: true, indexed: true }', '    keep: [{ product: raw, lifecycle: [hdd: 1y] }]',
    '  - name: unindexed', '    when: { hit: true, indexed: false }', '    keep: []',
    '  - name: rest', '    keep: []',
    'gate: { results: indexing, timeout: 8s, on_timeout: unindexed }', '',
  ].join('\n'));
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const experiment = catalog.ensureExperiment({ name: 'gated' });
  // indexamajig, in another process, reports frames 1 and 4 as indexed and 2 as not, while ingest
  // waits. The gate's timeout leaves room for a loaded machine, where ingest's own work delays this timer.
  const writer = openCatalog(facility.catalogLocation);
  t.teardown(() => writer.close());
  const insert = writer.db.prepare(`INSERT INTO results (experiment_id, source, event, stream_path, stream_line, indexed, n_crystals, n_reflections, intensities_bytes, imported_at)
    VALUES (?, ?, ?, '/s/run.stream', 1, ?, ?, 0, 0, 'now')`);
  const started = Date.now();
  setTimeout(() => {
    for (const [event, indexed] of [['//1', 1], ['//4', 1], ['//2', 0]] as const) insert.run(experiment.id, 'run.h5', event, indexed, indexed);
  }, 500);
  const result = await ingest({ files: [run.out], experiment: { name: 'gated' }, geometryFile: run.geometryOut, policy: policyFile, facility, catalog });
  const waited = (Date.now() - started) / 1000;
  t.true(waited >= 7.5, `ingest waited ${waited} s for the frames without results`);
  t.deepEqual(result.rules, { indexed: 2, unindexed: 4 });
  t.is(result.indexed, 2, 'frames 1 and 4 were indexed when decided');
  const kept = catalog.db.prepare("SELECT f.event, f.indexed FROM decisions d JOIN frames f ON f.id = d.frame_id WHERE d.product = 'raw' ORDER BY f.event").all();
  t.deepEqual(kept, [{ event: '//1', indexed: 1 }, { event: '//4', indexed: 1 }]);
});

test('containers hold at most max_frames frames, the last frames of the input too', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await simulate({ detector: 'tiny', frames: 7, hitRate: 0.5, seed: 12, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  mkdirSync(data);
  writeFileSync(join(data, 'facility.yaml'), `facility: local
currency: EUR
tiers:
  hdd: { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
containers: { max_frames: 2 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
`);
  const facility = loadFacility(data);
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const result = await ingest({ files: [run.out], experiment: { name: 'sizes' }, geometryFile: run.geometryOut, facility, catalog });
  t.deepEqual(result.containers.map((c) => c.frames), [2, 2, 2, 1]);
});
