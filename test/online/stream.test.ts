// `sxarchive stream` end to end over real ZeroMQ: detector-sim sends, the online pipeline labels,
// decides and writes, and each series' summary equals what the catalog holds for its run.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { openCatalog, type Catalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { runStream } from '../../src/online/online.ts';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { encodeStream2 } from '../../src/streams/dectris-stream2.ts';
import { tempDir } from '../helpers/tmp.ts';

const bslz4 = containerChunkCodec('bitshuffle-lz4');

/** What the catalog holds for a run: frames, hits, and frames per kept product. */
function catalogCounts(catalog: Catalog, run: number): { frames: number; hits: number; kept: Record<string, number> } {
  const db = catalog.db;
  const id = (db.prepare('SELECT id FROM runs WHERE number = ?').get(run) as { id: number }).id;
  const frames = (db.prepare('SELECT COUNT(*) AS n, SUM(hit) AS hits FROM frames WHERE run_id = ?').get(id) as { n: number; hits: number });
  const kept = db.prepare("SELECT d.product, COUNT(*) AS n FROM decisions d JOIN frames f ON f.id = d.frame_id WHERE f.run_id = ? AND d.container_id IS NOT NULL GROUP BY d.product").all(id) as { product: string; n: number }[];
  return { frames: frames.n, hits: frames.hits ?? 0, kept: Object.fromEntries(kept.map((k) => [k.product, k.n])) };
}

test('a series of thousands of frames: every one recorded once, the summary equals the catalog', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 20, hitRate: 0.4, seed: 11, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const endpoint = `ipc://${join(dir, 'det')}`;
  const sending = runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 2000, userData: { experiment: 'lyso-online' } });
  const result = await runStream({ connect: endpoint, format: 'stream2', experiment: { name: 'fallback' }, geometryFile: sim.geometryOut, policy: 'hits-only', facility, catalog, series: 1 });
  const sent = await sending;
  t.is(result.series.length, 1);
  const [s] = result.series;
  t.like(s, { experiment: 'lyso-online', announced: 2000, images: 2000, frames: 2000, labelled: 2000, undecodable: 0, gaps: 0, ending: 'end', series: sent.seriesUniqueId });
  t.deepEqual(s.dropped, {});
  const counts = catalogCounts(catalog, s.run);
  t.is(counts.frames, s.frames);
  t.is(counts.hits, s.hits);
  t.deepEqual(counts.kept, s.kept);
  t.is(s.hits, 100 * sim.hits);
  t.deepEqual(s.kept, { raw: s.hits });
});

test('a burst faster than the pipeline: frames past the memory queue wait in the spool, past the spool they are dropped and counted, none lost silently', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 10, hitRate: 0.5, seed: 12, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const endpoint = `ipc://${join(dir, 'det')}`;
  const images = 600;
  const sending = runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: images });
  // Room for 8 images in memory and about 100 in the spool.
  const chunk = sim.width * sim.height; // a bslz4 chunk of a tiny frame is well under its raw size
  const result = await runStream({ connect: endpoint, format: 'stream2', experiment: { name: 'burst' }, geometryFile: sim.geometryOut, policy: 'keep-all', facility, catalog, series: 1, queue: { memoryImages: 8, spoolBytes: 100 * chunk } });
  await sending;
  const [s] = result.series;
  const dropped = Object.values(s.dropped).reduce((a, b) => a + (b ?? 0), 0);
  t.is(s.images, images);
  t.true(s.spooled > 0, 'some frames waited in the spool');
  t.true((s.dropped['spool-full'] ?? 0) > 0, 'some were dropped when the spool was full');
  t.deepEqual(Object.keys(s.dropped), ['spool-full']);
  t.is(s.frames + dropped, images, 'every frame is recorded or counted as dropped');
  t.is(catalogCounts(catalog, s.run).frames, s.frames);
  // The run says it is partial, with the summary it ended with.
  const row = catalog.db.prepare('SELECT state, summary FROM runs WHERE number = ?').get(s.run) as { state: string; summary: string };
  t.is(row.state, 'partial');
  t.deepEqual(JSON.parse(row.summary).dropped, s.dropped);
  t.deepEqual(readdirSync(join(facility.tierPath(facility.config.ingest.tier), '.spool')), [], 'the spool is empty afterwards');
});

test('malformed messages are counted and skipped: bad CBOR, an unknown compression, a truncated bslz4 chunk; the frames around them are recorded', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 4, hitRate: 0.5, seed: 13, out: join(dir, 'run.h5') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const source = await openFrameSource(sim.out);
  const { width, height } = source;
  const chunks = Array.from({ length: source.count }, (_, i) => bslz4.encode({ data: source.read(i), width, height }));
  source.close();
  const endpoint = `ipc://${join(dir, 'det')}`;
  const push = new Push({ linger: 5000 });
  await push.bind(endpoint);
  const series = { seriesId: 7, seriesUniqueId: 'malformed-7' };
  const image = (imageId: number, bytes: Uint8Array, compression = 'bslz4') =>
    encodeStream2({ type: 'image', ...series, imageId, data: [{ channel: 'threshold_1', width, height, pixelType: 'uint16', compression: compression as 'bslz4', elemSize: 2, bytes }] });
  const receiving = runStream({ connect: endpoint, format: 'stream2', experiment: { name: 'bad-input' }, policy: 'keep-all', facility, catalog, series: 1 });
  await push.send(encodeStream2({ type: 'start', ...series, channels: ['threshold_1'], pixelType: 'uint16', width, height, numberOfImages: 6 }));
  await push.send(image(0, chunks[0]));
  await push.send(Buffer.from([0xd9, 0xd9, 0xf7, 0xbf, 0x61])); // self-described, then a map cut short
  await push.send(image(1, chunks[1], 'zstd'));
  await push.send(image(2, chunks[2].subarray(0, chunks[2].byteLength - 40)));
  await push.send(image(3, chunks[3]));
  await push.send(encodeStream2({ type: 'end', ...series }));
  const result = await receiving;
  push.close();
  const [s] = result.series;
  t.like(s, { images: 3, frames: 2, undecodable: 2, ending: 'end', gaps: 1 });
  t.deepEqual(s.dropped, { 'undecodable-pixels': 1 });
  const events = catalog.db.prepare('SELECT event FROM frames ORDER BY event').all() as { event: string }[];
  t.deepEqual(events.map((e) => e.event), ['0', '3']);
  const row = catalog.db.prepare('SELECT state FROM runs WHERE number = ?').get(s.run) as { state: string };
  t.is(row.state, 'partial');
});

test('a detector that goes away and comes back: the stream keeps receiving; a series cut short ends when the next starts, every frame received recorded', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 5, hitRate: 0.5, seed: 14, out: join(dir, 'run.h5') });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const endpoint = `tcp://127.0.0.1:${20000 + (process.pid % 10000)}`;
  const summaries: string[] = [];
  const receiving = runStream({ connect: endpoint, format: 'stream2', experiment: { name: 'restarts' }, policy: 'keep-all', facility, catalog, series: 3, onSeries: (s) => summaries.push(s.ending) });
  // A whole series, then a detector stopped mid-series (no end), then one more after a restart.
  await runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 30, seriesId: 1 });
  const stop = new AbortController();
  const cut = await runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 100000, rate: 200, seriesId: 2, signal: stop.signal, onImage: (n) => n === 40 && stop.abort() });
  await new Promise((done) => setTimeout(done, 300));
  await runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 25, seriesId: 3 });
  const result = await receiving;
  t.deepEqual(summaries, ['end', 'next-start', 'end']);
  t.deepEqual(result.series.map((s) => s.seriesId), [1, 2, 3]);
  t.is(result.series[0].frames, 30);
  t.true(result.series[1].frames >= 1 && result.series[1].frames <= cut.images, `${result.series[1].frames} of ${cut.images} sent before the stop`);
  t.is(result.series[2].frames, 25);
  const runs = catalog.db.prepare('SELECT number, state FROM runs ORDER BY number').all() as { number: number; state: string }[];
  t.deepEqual(runs.map((r) => r.state), ['complete', 'partial', 'complete']);
});

for (const [format, pattern] of [['stream1', undefined], ['msgpack', 'sub'], ['msgpack', 'req']] as const) {
  test(`${format}${pattern ? ` (${pattern})` : ''}: every frame the simulator sends is recorded and kept bit for bit`, async (t) => {
    const dir = tempDir(t);
    const sim = await simulate({ detector: 'tiny', frames: 6, hitRate: 0.5, seed: 16, out: join(dir, 'run.h5') });
    const facility = loadFacility(join(dir, 'data'));
    const catalog = openCatalog(facility.catalogLocation);
    t.teardown(() => catalog.close());
    const source = await openFrameSource(sim.out);
    const frames = Array.from({ length: source.count }, (_, i) => source.read(i));
    source.close();
    const endpoint = `ipc://${join(dir, 'det')}`;
    const sending = runDetectorSim({ file: sim.out, bind: endpoint, format, pattern: pattern === 'req' ? 'rep' : pattern === 'sub' ? 'pub' : 'push', frames: 18 });
    // msgpack frames have no series: theirs ends when they stop coming.
    const result = await runStream({ connect: endpoint, format, pattern, experiment: { name: `fmt-${format}` }, policy: 'keep-all', facility, catalog, series: 1, seriesTimeoutSeconds: 2 });
    await sending;
    const [s] = result.series;
    t.like(s, { images: 18, frames: 18, ending: 'end', gaps: 0, undecodable: 0 });
    t.deepEqual(s.dropped, {});
    const containers = catalog.db.prepare("SELECT path FROM containers WHERE product = 'raw' ORDER BY id").all() as { path: string }[];
    const kept = [];
    for (const c of containers) {
      const file = await openFrameSource(join(facility.tierPath('hdd'), c.path));
      for (let i = 0; i < file.count; i++) kept.push(Array.from(file.read(i)));
      file.close();
    }
    t.is(kept.length, 18);
    // msgpack carries int32 pixels: the same values.
    for (const [i, k] of kept.entries()) t.deepEqual(k, Array.from(frames[i % frames.length]), `frame ${i}`);
  });
}
