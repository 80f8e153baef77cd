// `sxarchive stream` end to end over real ZeroMQ: detector-sim sends, the online pipeline labels,
// decides and writes, and each series' summary equals what the catalog holds for its run.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog, type Catalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { runStream } from '../../src/online/online.ts';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { tempDir } from '../helpers/tmp.ts';

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
  const catalog = openCatalog(facility.catalogPath);
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
  const catalog = openCatalog(facility.catalogPath);
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
