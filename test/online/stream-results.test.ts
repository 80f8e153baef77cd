// `sxarchive stream --results FILE`: the CrystFEL stream indexamajig writes while it reads the same
// frames over ZeroMQ is followed, and results-gated rules decide the frames by it. CrystFEL names
// such frames `ZMQdata //N` by its own count; the chunks link to the detector's frames by the
// series_unique_id and image_id it copies from each message (--copy-header), as CrystFEL 0.12
// writes them (header/str/series_unique_id, header/int/image_id: checked with indexamajig
// --zmq-input --data-format=msgpack on detector-sim frames).
import test from 'ava';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { newCounters, runStream } from '../../src/online/online.ts';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { formatChunks, formatStream } from '../helpers/crystfel-stream.ts';
import { tempDir } from '../helpers/tmp.ts';

test('results-gated rules decide streamed frames by the CrystFEL stream being written beside them, linked by series and image id', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 10, hitRate: 0.5, seed: 41, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const results = join(dir, 'online.stream');
  // indexamajig writes its header when it starts.
  writeFileSync(results, formatStream([]));
  const endpoint = `ipc://${join(dir, 'onda')}`;
  const sending = runDetectorSim({ file: sim.out, bind: endpoint, format: 'msgpack', pattern: 'pub', frames: 10, seriesId: 2 });
  const counters = newCounters();
  const statuses: string[] = [];
  const streaming = runStream({
    connect: endpoint, format: 'msgpack', pattern: 'sub', experiment: { name: 'gated-online' }, geometryFile: sim.geometryOut, policy: 'indexed-only',
    results, facility, catalog, series: 1, seriesTimeoutSeconds: 1, counters, onStatus: (s) => statuses.push(s),
  });
  const { seriesUniqueId } = await sending;
  while (counters.images < 10) await sleep(50);
  // CrystFEL's results come later: even image ids indexed; one chunk without the copied names.
  appendFileSync(results, `${formatChunks([
    ...Array.from({ length: 10 }, (_, i) => ({ file: 'ZMQdata', event: `//${i + 1}`, hit: true, indexed: i % 2 === 0, headers: { series_unique_id: seriesUniqueId!, image_id: i } })),
    { file: 'ZMQdata', event: '//11', hit: true, indexed: true },
  ]).join('\n')}\n`);
  const { series } = await streaming;
  t.is(series.length, 1);
  const [s] = series;
  t.like(s, { series: seriesUniqueId, seriesId: 2, images: 10, frames: 10, ending: 'end' });
  const rows = catalog.db.prepare('SELECT f.event, f.hit, f.indexed, MIN(d.rule) AS rule FROM frames f JOIN decisions d ON d.frame_id = f.id GROUP BY f.id ORDER BY CAST(f.event AS INTEGER)').all() as { event: string; hit: number; indexed: number | null; rule: string }[];
  t.is(rows.length, 10);
  const hits = rows.filter((r) => r.hit === 1);
  t.is(hits.length, sim.hits);
  // Every hit waited for its result and was decided by it, none by the gate's timeout.
  for (const r of hits) {
    const indexed = Number(r.event) % 2 === 0;
    t.is(r.indexed, indexed ? 1 : 0, `image ${r.event}`);
    t.is(r.rule, indexed ? 'indexed' : 'rest', `image ${r.event}`);
  }
  t.true(rows.filter((r) => r.hit === 0).every((r) => r.rule === 'rest'));
  t.is(s.kept.raw ?? 0, hits.filter((r) => Number(r.event) % 2 === 0).length);
  const imported = statuses.find((x) => x.startsWith('results: '));
  t.regex(imported ?? '', /11 chunk\(s\) of .*online\.stream imported into gated-online \(6 indexed; 1 warning\(s\), e\.g\. .*ZMQdata \/\/11.*--copy-header=series_unique_id --copy-header=image_id/, statuses.join('\n'));
  // Each result links to its frame; the one without names to none.
  const links = catalog.db.prepare('SELECT r.event AS result, f.event AS frame FROM results r LEFT JOIN frames f ON f.id = r.frame_id ORDER BY r.stream_line').all() as { result: string; frame: string | null }[];
  t.deepEqual(links, [...Array.from({ length: 10 }, (_, i) => ({ result: String(i), frame: String(i) })), { result: '//11', frame: null }]);
});

test('stream --results refuses a results file that is not there before it connects', async (t) => {
  const dir = tempDir(t);
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  await t.throwsAsync(runStream({ connect: `ipc://${join(dir, 'x')}`, format: 'msgpack', experiment: { name: 'x' }, policy: 'keep-all', results: join(dir, 'missing.stream'), facility, catalog }), { message: /missing\.stream: no such file/ });
  t.is(catalog.findExperiment('x'), undefined, 'nothing recorded');
});

test('a stream stopped while frames wait for results that do not come decides them by the gate\'s timeout rule at once', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 6, hitRate: 0.5, seed: 42, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const results = join(dir, 'silent.stream');
  writeFileSync(results, formatStream([]));
  const endpoint = `ipc://${join(dir, 'onda')}`;
  const sending = runDetectorSim({ file: sim.out, bind: endpoint, format: 'msgpack', pattern: 'pub', frames: 6 });
  const counters = newCounters();
  const stop = new AbortController();
  const statuses: string[] = [];
  // The indexed-only gate would wait 10 minutes; the series 60 s of silence.
  const streaming = runStream({ connect: endpoint, format: 'msgpack', experiment: { name: 'stopped' }, geometryFile: sim.geometryOut, policy: 'indexed-only', results, facility, catalog, counters, signal: stop.signal, onStatus: (s) => statuses.push(s) });
  await sending;
  while (counters.images < 6) await sleep(50);
  stop.abort();
  const { series } = await streaming;
  t.like(series[0], { ending: 'interrupted', images: 6, frames: 6, rules: { rest: 6 } });
  t.true(statuses.some((s) => /frame\(s\) waiting for their indexing results take the gate's timeout rule now/.test(s)), statuses.join('\n'));
});
