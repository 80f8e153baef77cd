import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentReport } from '../../src/report/experiment-report.ts';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { readWithH5py } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';

test('simulate, ingest, experiments and report work end to end on a fresh data dir', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const init = sxarchiveJson<{ createdConfig: boolean; catalog: string }>(['--data-dir', data, 'init']);
  t.true(init.createdConfig);
  t.true(existsSync(init.catalog));

  const sim = sxarchiveJson<{ frames: number; hits: number; width: number; height: number }>([
    'simulate', '--detector', 'tiny', '--frames', '12', '--hit-rate', '0.5', '--seed', '4',
    '--out', join(dir, 'run1.h5'), '--geometry-out', join(dir, 'tiny.geom'),
  ]);
  t.like(sim, { frames: 12, width: 256, height: 256 });
  t.regex(readFileSync(join(dir, 'tiny.geom'), 'utf8'), /^res\s*=\s*13333/m);

  const ingested = sxarchiveJson<{ frames: number; run: number; rawBytes: number; storedBytes: number; containers: { path: string; sha256: string }[] }>([
    '--data-dir', data, 'ingest', join(dir, 'run1.h5'), '--experiment', 'lyso-1', '--geometry', join(dir, 'tiny.geom'),
    '--proposal', '11012345', '--facility', 'P11', '--sample-tag', 'lysozyme', '--sample-tag', 'batch-3',
  ]);
  t.like(ingested, { frames: 12, run: 1, rawBytes: 12 * 256 * 256 * 2 });
  t.is(ingested.containers.length, 1);
  const container = ingested.containers[0].path;
  t.true(container.startsWith(join(data, 'tiers/hdd/lyso-1/run-0001/')));
  // The archived container holds exactly the simulated frames, as h5py sees them.
  const original = readWithH5py(join(dir, 'run1.h5'), '/entry/data/data');
  const archived = readWithH5py(container, '/entry_1/data_1/data', ['/entry_1/experiment_identifier']);
  t.deepEqual(archived.frames, original.frames);
  t.deepEqual(archived.extra['/entry_1/experiment_identifier'], Array.from({ length: 12 }, (_, i) => `//${i}`));

  const list = sxarchiveJson<{ name: string; frames: number; sampleTags: string[] }[]>(['--data-dir', data, 'experiments']);
  t.deepEqual(list.map((e) => [e.name, e.frames, e.sampleTags]), [['lyso-1', 12, ['lysozyme', 'batch-3']]]);

  const report = sxarchiveJson<ExperimentReport>(['--data-dir', data, 'report', 'lyso-1']);
  t.like(report, { experiment: 'lyso-1', proposal: '11012345', facility: 'P11', runs: 1, frames: 12, containers: 1, currency: 'EUR', storedBytes: ingested.storedBytes });
  t.is(report.tiers.length, 1);
  t.like(report.tiers[0], { tier: 'hdd', containers: 1, bytes: ingested.storedBytes, pricePerTbYear: 10 });
  t.true(Math.abs(report.costPerYear - (ingested.storedBytes / 1e12) * 10) < 1e-12);
  t.true(Math.abs(report.rawOnHddCostPerYear - (12 * 256 * 256 * 2 / 1e12) * 10) < 1e-12);

  const text = sxarchive(['--data-dir', data, 'report', 'lyso-1']);
  t.is(text.code, 0);
  t.regex(text.stdout, /12 frames/);
  t.regex(text.stdout, /hdd/);
});

test('errors are one clear line without a stack trace, unless --debug', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const missing = sxarchive(['--data-dir', data, 'report', 'nope']);
  t.is(missing.code, 2);
  t.is(missing.stderr.trim(), 'error: no experiment named "nope" (the catalog has none yet)');

  const notHdf5 = join(dir, 'notes.h5');
  writeFileSync(notHdf5, 'not an hdf5 file');
  const bad = sxarchive(['--data-dir', data, 'ingest', notHdf5, '--experiment', 'e1']);
  t.is(bad.code, 1);
  t.is(bad.stderr.trim(), `error: ${notHdf5}: not an HDF5 file (no HDF5 signature at byte 0)`);
  t.notRegex(bad.stderr, /\n\s+at /);

  const debug = sxarchive(['--data-dir', data, '--debug', 'ingest', notHdf5, '--experiment', 'e1']);
  t.regex(debug.stderr, /\n\s+at /);

  const badName = sxarchive(['--data-dir', data, 'ingest', notHdf5, '--experiment', '../escape']);
  t.is(badName.code, 2);
  t.regex(badName.stderr, /Expected an experiment name of letters, digits/);

  const badOption = sxarchive(['simulate', '--frames', 'many', '--out', join(dir, 'x.h5')]);
  t.not(badOption.code, 0);
  t.regex(badOption.stderr, /Expected --frames to be an integer >= 1 but received "many"/);
});

test('a broken facility.yaml stops every command with file:line:col', (t) => {
  const data = tempDir(t);
  writeFileSync(join(data, 'facility.yaml'), 'facility: P11\ncurrency: EUR\ntiers: {}\ncontainers: { max_frames: 0 }\ningest: { tier: hdd, policy: keep-all }\nbeamtime_price_per_hour: 1\n');
  const r = sxarchive(['--data-dir', data, 'experiments']);
  t.is(r.code, 1);
  t.regex(r.stderr, /facility\.yaml:4:\d+: containers\.max_frames: /);
  t.regex(r.stderr, /facility\.yaml:5:\d+: ingest\.tier: unknown tier "hdd"/);
});

test('every command has --help', (t) => {
  for (const cmd of ['init', 'simulate', 'ingest', 'experiments', 'report', 'demo']) {
    const r = sxarchive([cmd, '--help']);
    t.is(r.code, 0, cmd);
    t.regex(r.stdout, new RegExp(`Usage: sxarchive ${cmd}`), cmd);
  }
});

test('the demo simulates, ingests and reports on the embedded default', (t) => {
  const dir = tempDir(t);
  const report = sxarchiveJson<ExperimentReport>(['demo', '--frames', '6', '--detector', 'tiny', '--seed', '2'], { cwd: dir });
  t.like(report, { frames: 6, runs: 1, containers: 1, proposal: 'demo' });
  // A dry-run of every shipped policy on the demo's labels: keep-all keeps every frame, hits-only the hits.
  const policies = (report as unknown as { policies: { policy: string; framesKept: number; hitsDropped: number }[] }).policies;
  t.deepEqual(policies.map((p) => p.policy), ['binned-hits', 'facility-default', 'hits-only', 'indexed-only', 'keep-all', 'peaks-only', 'results-gated', 'sample-blanks']);
  t.like(policies.find((p) => p.policy === 'keep-all'), { framesKept: 6, hitsDropped: 0 });
  t.is(policies.find((p) => p.policy === 'hits-only')!.framesKept, report.hits);
  t.regex(report.experiment, /^demo-\d{8}-\d{6}$/);
  t.true(existsSync(join(dir, 'sxarchive-data', 'catalog.sqlite')));
  t.true(existsSync(join(dir, 'sxarchive-data', 'facility.yaml')));
});
