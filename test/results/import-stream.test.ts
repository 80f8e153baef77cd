import type { ExecutionContext } from 'ava';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog, type Catalog } from '../../src/catalog/catalog.ts';
import { readCrystfelStreamFile } from '../../src/formats/crystfel-stream.ts';
import { importStream } from '../../src/results/import-stream.ts';
import { readCrystals } from '../../src/results/results-store.ts';
import { eachBackend, testCatalogLocation, type Backend } from '../helpers/catalog.ts';
import { tempDir } from '../helpers/tmp.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const DATA = SHARED_DATA;
const REAL = join(DATA, 'real/crystfel_test_stream/test.stream');
const MULTI = join(DATA, 'sim-lysozyme/lyso_multi10.stream');
const MULTI_TRUTH = [1, 0, 1, 1, 0, 1, 1, 0, 1, 0]; // /entry/truth/is_hit of lyso_multi10.h5

function newCatalog(t: ExecutionContext, backend: Backend): Catalog {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  return catalog;
}

/** Frames as ingest records them: absolute source paths, CrystFEL events. */
function addFrames(catalog: Catalog, experiment: string, frames: { source: string; event: string }[]): number[] {
  const exp = catalog.ensureExperiment({ name: experiment });
  const run = catalog.createRun(exp.id);
  return catalog.insertFrames(run.id, frames.map((f) => ({ ...f, width: 4, height: 4, pixelType: 'uint16', rawBytes: 32 })));
}

const count = (catalog: Catalog, sql: string, ...params: unknown[]) => (catalog.db.prepare(sql).get(...params) as { n: number }).n;
const multiEvents = (source: string, events = 10) => Array.from({ length: events }, (_, i) => ({ source, event: `//${i}` }));

eachBackend('the real stream lands in the catalog: results, crystals in Å, reflections in blobs, frames labelled', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  const { chunks } = await readCrystfelStreamFile(REAL);
  // Ingest saw the files under the beamtime folder; the stream names them relative to indexamajig's folder.
  addFrames(catalog, 'cspad', chunks.map((c) => ({ source: `/beamtime/lcls/${c.filename}`, event: '//' })));
  const summary = await importStream({ catalog, experiment: 'cspad', file: REAL });
  t.like(summary, {
    experiment: 'cspad', stream: REAL, formatVersion: '2.3', generatedBy: 'CrystFEL 0.9.1+2c51b20e', chunks: 70, hits: 70, indexed: 32,
    crystals: 32, matched: 70, unmatched: 0, badChunks: 0, relinked: 0, followed: false, openChunkLine: null,
  });
  t.deepEqual(summary.matchedBy, { exact: 0, resolved: 0, suffix: 70, basename: 0 });
  const reflections = chunks.flatMap((c) => c.crystals).reduce((n, x) => n + x.reflections.length, 0);
  t.is(summary.reflections, reflections);

  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM results'), 70);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM crystals'), 32);
  t.is(count(catalog, 'SELECT SUM(n_reflections) AS n FROM crystals'), reflections);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM results WHERE frame_id IS NOT NULL'), 70);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM frames WHERE indexed = 1 AND n_crystals = 1 AND hit = 1'), 32);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM frames WHERE indexed = 0 AND n_crystals = 0 AND hit = 1'), 38);

  const first = catalog.db
    .prepare("SELECT r.*, f.source AS frame_source FROM results r JOIN frames f ON f.id = r.frame_id WHERE r.source LIKE '%035103_1824f.h5'")
    .get() as Record<string, unknown>;
  t.like(first, {
    event: '//', matched_by: 'suffix', frame_source: '/beamtime/lcls/r0092-ab/data1/LCLS_2013_Mar22_r0092_035103_1824f.h5', stream_line: 669,
    serial: 1, hit: 1, indexed: 1, indexed_by: 'xgandalf-nolatt-cell', n_crystals: 1, n_peaks: 20, n_reflections: 257, photon_energy_ev: 9511.868397,
    camera_length_m: 0.152001, intensities_bytes: 12 + 257 * 32,
  });
  t.true(Math.abs((first.resolution_a as number) - 10 / 1.8) < 1e-9);
  t.deepEqual(JSON.parse(first.details as string).headers, { '/LCLS/detector0-EncoderValue': -429.99881, '/LCLS/photon_energy_eV': 9511.868397 });

  const [crystal] = readCrystals(catalog, first.id as number);
  // Cell parameters 6.13532 12.19726 16.88163 nm -> Å
  t.true(Math.abs(crystal.aA - 61.3532) < 1e-9 && Math.abs(crystal.bA - 121.9726) < 1e-9 && Math.abs(crystal.cA - 168.8163) < 1e-9);
  t.like(crystal, { alphaDeg: 90.54524, betaDeg: 91.23016, gammaDeg: 90.53769, latticeType: 'orthorhombic', centering: 'C', nReflections: 257 });
  t.deepEqual(crystal.reciprocalPerNm?.[0], [0.0706577, -0.1444151, 0.0270631]);
  // " -28   10    5     185.09     155.78     217.00      64.71  634.8 1057.6 q1a11", at float32 precision
  const f = Math.fround;
  t.deepEqual(crystal.reflections[0], { h: -28, k: 10, l: 5, intensity: f(185.09), sigma: f(155.78), peak: 217, background: f(64.71), fs: f(634.8), ss: f(1057.6), panel: 'q1a11' });
});

eachBackend('re-importing the same stream replaces rows instead of duplicating them', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  const first = await importStream({ catalog, experiment: 'cspad', file: REAL });
  const ids = (catalog.db.prepare('SELECT id FROM results ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  const second = await importStream({ catalog, experiment: 'cspad', file: REAL });
  t.deepEqual(second, first);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM results'), 70);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM crystals'), 32);
  t.deepEqual((catalog.db.prepare('SELECT id FROM results ORDER BY id').all() as { id: number }[]).map((r) => r.id), ids);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM experiments'), 1);
});

eachBackend('matching by basename and event, refusing to guess between two files of the same name', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  addFrames(catalog, 'lyso', multiEvents('/data/p11/raw/lyso_multi10.h5'));
  // A second copy of the first five frames elsewhere: those events become ambiguous.
  addFrames(catalog, 'lyso', multiEvents('/data/p11/copy/lyso_multi10.h5', 5));
  // The same file name in another experiment never counts.
  addFrames(catalog, 'other', multiEvents('/elsewhere/lyso_multi10.h5'));
  const summary = await importStream({ catalog, experiment: 'lyso', file: MULTI });
  t.like(summary, { chunks: 10, hits: 6, indexed: 6, crystals: 6, matched: 5, unmatched: 5, ambiguous: 5 });
  t.deepEqual(summary.matchedBy, { exact: 0, resolved: 0, suffix: 0, basename: 5 });
  const rows = catalog.db
    .prepare(`SELECT r.event, r.indexed, r.matched_by, f.source, f.indexed AS frame_indexed FROM results r LEFT JOIN frames f ON f.id = r.frame_id ORDER BY r.event`)
    .all() as { event: string; indexed: number; matched_by: string | null; source: string | null; frame_indexed: number | null }[];
  for (const r of rows) {
    const index = Number(r.event.slice(2));
    t.is(r.indexed, MULTI_TRUTH[index], r.event);
    if (index < 5) t.like(r, { matched_by: null, source: null }, r.event);
    else t.like(r, { matched_by: 'basename', source: '/data/p11/raw/lyso_multi10.h5', frame_indexed: MULTI_TRUTH[index] }, r.event);
  }
  t.is(count(catalog, "SELECT COUNT(*) AS n FROM frames WHERE source = '/elsewhere/lyso_multi10.h5' AND indexed IS NOT NULL"), 0);
});

eachBackend('a relative file name is resolved against the stream folder first', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  const dir = tempDir(t);
  const stream = join(dir, 'lyso_multi10.stream');
  copyFileSync(MULTI, stream);
  addFrames(catalog, 'lyso', multiEvents(join(dir, 'lyso_multi10.h5')));
  addFrames(catalog, 'lyso', multiEvents('/another/lyso_multi10.h5'));
  const summary = await importStream({ catalog, experiment: 'lyso', file: stream });
  t.deepEqual(summary.matchedBy, { exact: 0, resolved: 10, suffix: 0, basename: 0 });
});

eachBackend('results imported before their frames link when the frames arrive; the peak finder keeps its hit label', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  const early = await importStream({ catalog, experiment: 'lyso', file: MULTI });
  t.like(early, { chunks: 10, matched: 0, unmatched: 10 });
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM results WHERE frame_id IS NULL'), 10);

  const ids = addFrames(catalog, 'lyso', multiEvents('/data/p11/raw/lyso_multi10.h5'));
  // The peak finder already labelled frame //0 a blank and //1 a hit; indexamajig says the opposite.
  catalog.db.prepare('UPDATE frames SET hit = ? WHERE id = ?').run(0, ids[0]);
  catalog.db.prepare('UPDATE frames SET hit = ? WHERE id = ?').run(1, ids[1]);
  // Any later import (here of another stream) links what was waiting.
  const later = await importStream({ catalog, experiment: 'lyso', file: join(DATA, 'sim-lysozyme/eiger4m_like/eiger_asdf.stream') });
  t.like(later, { chunks: 3, relinked: 10, matched: 0, unmatched: 3 });
  const frames = catalog.db.prepare('SELECT id, hit, indexed, n_crystals FROM frames ORDER BY id').all() as { hit: number; indexed: number; n_crystals: number }[];
  t.deepEqual(frames.map((f) => f.indexed), MULTI_TRUTH);
  t.deepEqual(frames.map((f) => f.n_crystals), MULTI_TRUTH);
  t.deepEqual(frames.map((f) => f.hit), [0, 1, ...MULTI_TRUTH.slice(2)]);
});

eachBackend('bad chunks in a broken copy are counted, reported as file:line and skipped; the rest is imported', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  const dir = tempDir(t);
  const broken = join(dir, 'broken.stream');
  const lines = readFileSync(REAL, 'utf8').split('\n');
  const cellLine = lines.indexOf('Cell parameters 6.13532 12.19726 16.88163 nm, 90.54524 91.23016 90.53769 deg');
  lines[cellLine] = 'Cell parameters 6.13532 oops 16.88163 nm, 90.54524 91.23016 90.53769 deg';
  const rowLine = lines.indexOf(' -13  -41  -18      30.92      83.29      83.00      47.55  807.9  612.0 q2a6');
  lines[rowLine] = ' -13  -41  -18      30.92      83.29      83.00      47.55  807.9 q2a6';
  const lastBegin = lines.lastIndexOf('----- Begin chunk -----');
  writeFileSync(broken, lines.slice(0, lastBegin + 10).join('\n')); // cut inside the last chunk

  const summary = await importStream({ catalog, experiment: 'cspad', file: broken });
  t.like(summary, { chunks: 67, badChunks: 3, crystals: 30 });
  t.deepEqual(summary.bad.map((b) => b.problems), [
    [`${broken}:${cellLine + 1}: cell: expected "Cell parameters a b c nm, al be ga deg" with six numbers but found "${lines[cellLine]}"`],
    [`${broken}:${rowLine + 1}: reflection row: expected 10 columns "h k l I sigma(I) peak background fs/px ss/px panel" with integer h k l but found "${lines[rowLine].trim()}"`],
    [`${broken}:${lastBegin + 1}: chunk never ended; expected "----- End chunk -----" before the end of the input`],
  ]);
  t.is(summary.bad[0].filename, 'r0092-ab/data1/LCLS_2013_Mar22_r0092_035103_1824f.h5');
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM results'), 67);
  t.is(count(catalog, "SELECT COUNT(*) AS n FROM results WHERE source LIKE '%035103_1824f.h5'"), 0);
});

eachBackend('a bad experiment name or a missing stream is a clear error', async (t, backend) => {
  const catalog = newCatalog(t, backend);
  const badName = await t.throwsAsync(importStream({ catalog, experiment: '../up', file: REAL }));
  t.regex(badName!.message, /Expected an experiment name of letters, digits/);
  const missing = await t.throwsAsync(importStream({ catalog, experiment: 'e', file: '/nonexistent/x.stream' }));
  t.is(missing!.message, '/nonexistent/x.stream: no such file');
});
