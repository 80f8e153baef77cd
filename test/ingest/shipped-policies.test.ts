// Every shipped policy through the real command line: a simulated run is labelled, indexing
// results for it are imported where the policy is gated, the run is ingested under the policy,
// and what the catalog records and the containers hold are checked frame by frame against what
// the policy's rules say.
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { POLICIES_DIR } from '../../src/policy/load.ts';
import { sampleDraw } from '../../src/policy/sample.ts';
import { labelJson, sxarchiveJson } from '../helpers/cli.ts';
import { formatStream, REFLECTIONS_PER_CRYSTAL } from '../helpers/crystfel-stream.ts';
import { readWithH5py } from '../helpers/h5py.ts';

const FRAMES = 40;
const SIZE = 256; // the tiny detector

interface Frame {
  file: string;
  event: string;
  hit: boolean;
  nPeaks: number;
  /** Given to every other hit by the test's stream; blanks and the other hits are not indexed. */
  indexed: boolean;
}

/** What a rule keeps of one frame: `product@tier`, sorted; `labels` alone for labels only. */
type Expected = { rule: string; keep: string[] };

interface IngestOutput {
  frames: number;
  hits: number;
  rules: Record<string, number>;
  containers: { path: string; product: string; tier: string; frames: number }[];
}

const work = mkdtempSync(join(tmpdir(), 'sxarchive-shipped-'));
const h5 = join(work, 'run1.h5');
const geom = join(work, 'tiny.geom');
const stream = join(work, 'run1.stream');
let frames: Frame[] = [];
let sourceFrames: string[] = [];

test.before(() => {
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', String(FRAMES), '--hit-rate', '0.5', '--seed', '21', '--out', h5, '--geometry-out', geom]);
  const labels = labelJson([h5, '--geometry', geom]);
  let hits = 0;
  frames = labels.map((l) => ({ file: l.file, event: l.event, hit: l.hit, nPeaks: l.n_peaks, indexed: l.hit && hits++ % 2 === 0 }));
  writeFileSync(stream, formatStream(frames));
  sourceFrames = readWithH5py(h5, '/entry/data/data').frames;
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** An experiment name whose 1 % blank sample (seed 0) draws at least one of the run's blanks. */
function nameDrawingABlank(prefix: string): string {
  for (let k = 0; ; k++) {
    const name = `${prefix}-${k}`;
    if (frames.some((f) => !f.hit && sampleDraw(name, f.file, f.event, 0) < 0.01)) return name;
  }
}

const drawn = (experiment: string, f: Frame) => sampleDraw(experiment, f.file, f.event, 0) < 0.01;

/** Ingests the run under `policy` into a fresh data dir (importing the stream first if asked) and checks it. */
function ingestAndCheck(
  t: ExecutionContext,
  policy: string,
  options: { experiment?: string; importStream?: boolean; args?: string[] },
  expect: (f: Frame, experiment: string) => Expected,
): void {
  const data = mkdtempSync(join(work, `${policy}-`));
  const experiment = options.experiment ?? policy;
  if (options.importStream) {
    const imported = sxarchiveJson<{ chunks: number; indexed: number; crystals: number }>(['--data-dir', data, 'import-stream', stream, '--experiment', experiment]);
    t.like(imported, { chunks: FRAMES, indexed: frames.filter((f) => f.indexed).length });
  }
  const out = sxarchiveJson<IngestOutput>(['--data-dir', data, 'ingest', h5, '--experiment', experiment, '--geometry', geom, '--policy', policy, ...(options.args ?? [])]);
  t.is(out.frames, FRAMES);
  t.is(out.hits, frames.filter((f) => f.hit).length, 'ingest labels the frames as `label` does');

  const db = new Database(join(data, 'catalog.sqlite'), { readonly: true });
  t.teardown(() => db.close());
  const rows = db
    .prepare(`SELECT f.event, d.rule, d.product, d.tier, d.container_id AS container, d.container_index AS idx, c.path
              FROM decisions d JOIN frames f ON f.id = d.frame_id LEFT JOIN containers c ON c.id = d.container_id ORDER BY f.id, d.product`)
    .all() as { event: string; rule: string; product: string; tier: string; container: number | null; idx: number | null; path: string | null }[];
  const actual = new Map<string, Expected>();
  for (const r of rows) {
    const e = actual.get(r.event) ?? { rule: r.rule, keep: [] };
    e.keep.push(r.product === 'labels' ? 'labels' : `${r.product}@${r.tier}`);
    actual.set(r.event, e);
  }
  const expected = new Map(frames.map((f) => [f.event, expect(f, experiment)]));
  for (const e of actual.values()) e.keep.sort();
  for (const e of expected.values()) e.keep.sort();
  t.deepEqual(actual, expected, 'every frame decided and kept as its rule says');

  const perRule: Record<string, number> = {};
  for (const e of expected.values()) perRule[e.rule] = (perRule[e.rule] ?? 0) + 1;
  t.deepEqual(out.rules, perRule);

  // Intensities stay in the catalog: the indexed frames' reflections, packed.
  for (const r of rows.filter((x) => x.product === 'intensities')) {
    t.is(r.container, null);
    const bytes = db.prepare('SELECT r.intensities_bytes AS n FROM results r JOIN frames f ON f.id = r.frame_id WHERE f.event = ?').pluck().get(r.event);
    t.is(bytes, 12 + REFLECTIONS_PER_CRYSTAL * 32, `${r.event}: the intensities of its crystal`);
  }

  // Every container reads back in h5py with the frames the catalog says it holds.
  for (const c of out.containers) {
    // The catalog holds a container's path within its tier; ingest prints where it is.
    const inside = rows.filter((r) => r.path !== null && (c.path === r.path || c.path.endsWith(`/${r.path}`))).sort((a, b) => a.idx! - b.idx!);
    t.is(c.frames, inside.length, c.path);
    const events = inside.map((r) => r.event);
    const byEvent = new Map(frames.map((f, i) => [f.event, { frame: f, index: i }]));
    if (c.product === 'raw') {
      const view = readWithH5py(c.path, '/entry_1/data_1/data');
      t.deepEqual(view.frames, events.map((e) => sourceFrames[byEvent.get(e)!.index]), `${c.path}: the source frames, exact`);
    } else if (c.product === 'binned') {
      const factor = Number(/binned, factor: (\d)/.exec(policyText(policy))?.[1]);
      const view = readWithH5py(c.path, '/entry_1/data_1/data');
      t.deepEqual(view.shape, [events.length, SIZE / factor, SIZE / factor], c.path);
    } else if (c.product === 'peaks') {
      const view = readWithH5py(c.path, '/entry_1/result_1/nPeaks', ['/entry_1/result_1/nPeaks']);
      t.deepEqual(view.extra['/entry_1/result_1/nPeaks'], events.map((e) => String(byEvent.get(e)!.frame.nPeaks)), `${c.path}: each hit's peaks`);
    } else {
      t.fail(`${c.path}: a ${c.product} container was not expected under ${policy}`);
    }
  }
}

/** The shipped policy's text (binned containers are checked against its factor). */
const policyText = (name: string) => readFileSync(join(POLICIES_DIR, `${name}.yaml`), 'utf8');

const labelsOnly = (rule: string): Expected => ({ rule, keep: ['labels'] });

test('keep-all: every frame raw on hdd', (t) => {
  ingestAndCheck(t, 'keep-all', {}, () => ({ rule: 'keep-all', keep: ['raw@hdd'] }));
});

test('hits-only: hits raw, blanks labels only', (t) => {
  ingestAndCheck(t, 'hits-only', {}, (f) => (f.hit ? { rule: 'hits', keep: ['raw@hdd'] } : labelsOnly('blanks')));
});

test('binned-hits: hits binned 2x2, blanks labels only', (t) => {
  ingestAndCheck(t, 'binned-hits', {}, (f) => (f.hit ? { rule: 'hits-binned', keep: ['binned@hdd'] } : labelsOnly('blanks')));
});

test('peaks-only: the peak boxes and table of each hit', (t) => {
  ingestAndCheck(t, 'peaks-only', {}, (f) => (f.hit ? { rule: 'hit-peaks', keep: ['peaks@hdd'] } : labelsOnly('blanks')));
});

test('sample-blanks: hits raw and the drawn 1 % of the blanks raw', (t) => {
  ingestAndCheck(t, 'sample-blanks', { experiment: nameDrawingABlank('sample') }, (f, exp) => {
    if (f.hit) return { rule: 'hits', keep: ['raw@hdd'] };
    return drawn(exp, f) ? { rule: 'blanks-sample', keep: ['raw@hdd'] } : labelsOnly('blanks');
  });
});

test('indexed-only: indexed hits raw with their intensities, everything else labels only', (t) => {
  ingestAndCheck(t, 'indexed-only', { importStream: true }, (f) =>
    f.hit && f.indexed ? { rule: 'indexed', keep: ['raw@hdd', 'intensities@hdd'] } : labelsOnly('rest'));
});

test('results-gated: indexed hits raw + intensities, unindexed hits binned 4x4, blanks labels only', (t) => {
  ingestAndCheck(t, 'results-gated', { importStream: true }, (f) => {
    if (!f.hit) return labelsOnly('rest');
    return f.indexed ? { rule: 'indexed', keep: ['raw@hdd', 'intensities@hdd'] } : { rule: 'unindexed-hits', keep: ['binned@hdd'] };
  });
});

test('facility-default: indexed raw on ssd + intensities, unindexed hits binned on hdd, drawn blanks raw on tape', (t) => {
  ingestAndCheck(t, 'facility-default', { importStream: true, experiment: nameDrawingABlank('facility') }, (f, exp) => {
    if (f.hit) return f.indexed ? { rule: 'indexed-raw', keep: ['raw@ssd', 'intensities@ssd'] } : { rule: 'unindexed-hits', keep: ['binned@hdd'] };
    return drawn(exp, f) ? { rule: 'blanks-sample', keep: ['raw@tape'] } : labelsOnly('rest');
  });
});

test('facility-default: an unobtainium sample keeps every frame raw (the override)', (t) => {
  // The override comes before the rules and the gate: no indexing result is needed (nor waited for).
  ingestAndCheck(t, 'facility-default', { experiment: 'unobtainium', args: ['--sample-tag', 'unobtainium'] }, () => ({ rule: 'keep-everything', keep: ['raw@hdd'] }));
});
