// A stream process killed while images wait in its spool: the next stream started on the host
// records them (as a run of their series), each once, and empties the spool.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { runStream } from '../../src/online/online.ts';
import { readSegment } from '../../src/online/spool.ts';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { CLI_BIN } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

// Every frame waits (10 minutes) for an indexing result that never comes: nothing is recorded
// while the first process runs, so what it spooled is all still in the spool when it is killed.
const WAITING_POLICY = `policy: wait-for-indexing
version: 1
rules:
  - name: indexed
    when: { indexed: true }
    keep: [{ product: raw, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }]
  - name: rest
    keep: [{ product: raw, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }]
gate: { results: indexing, timeout: 10m, on_timeout: rest }
`;

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('images spooled by a SIGKILLed stream are recorded by the next stream on the host, once each, and the spool is emptied', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const sim = await simulate({ detector: 'eiger1m', frames: 4, hitRate: 0.5, seed: 31, out: join(dir, 'run.h5'), geometryOut: join(dir, 'e1m.geom') });
  const policyFile = join(dir, 'wait.yaml');
  writeFileSync(policyFile, WAITING_POLICY);
  const endpoint = `ipc://${join(dir, 'det')}`;
  const images = 40;
  const port = 20000 + ((process.pid + 331) % 10000);
  // The detector binds first and holds the series until the stream connects: it arrives as one burst.
  const sending = runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: images, seriesId: 9 });
  const first = spawn(process.execPath, [CLI_BIN, '--data-dir', data, 'stream', '--connect', endpoint, '--experiment', 'replay', '--geometry', sim.geometryOut!, '--policy', policyFile, '--queue-mb', '1', '--metrics', `127.0.0.1:${port}`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  first.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((done) => first.on('exit', done));
  t.teardown(() => first.kill('SIGKILL'));
  let text = '';
  for (let i = 0; i < 300 && !(metric(text, 'sxarchive_stream_images_total') === images); i++) {
    await sleep(100);
    text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
  }
  t.is(metric(text, 'sxarchive_stream_images_total'), images, stderr);
  t.is(metric(text, 'sxarchive_stream_frames_recorded_total'), 0, 'the gate holds every frame');
  const spooled = metric(text, 'sxarchive_stream_spooled_total');
  t.true(spooled > 0, 'images wait in the spool');
  first.kill('SIGKILL');
  await exited;
  await sending;

  const spoolDir = join(data, 'tiers', 'hdd', '.spool');
  const left = readdirSync(spoolDir);
  t.is(left.length, 1);
  t.regex(left[0], new RegExp(`^spool-.+-${first.pid}-1\\.bin$`));
  const held = [...readSegment(join(spoolDir, left[0]))].map((r) => ('image' in r ? r.image.imageId : r.truncated));
  t.is(held.length, spooled, 'each spooled image is in the segment, whole');

  // The next stream (here with a policy that decides at once) replays them before its own series.
  const facility = loadFacility(data);
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const statuses: string[] = [];
  const next = runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 3, seriesId: 10 });
  const result = await runStream({ connect: endpoint, format: 'stream2', experiment: { name: 'other' }, geometryFile: sim.geometryOut, policy: 'keep-all', facility, catalog, series: 1, onStatus: (s) => statuses.push(s) });
  await next;
  t.deepEqual(result.series.map((s) => [s.ending, s.seriesId, s.experiment]), [['replayed', 9, 'replay'], ['end', 10, 'other']], statuses.join('\n'));
  const [replayed] = result.series;
  t.like(replayed, { images: spooled, frames: spooled, spooled: 0, alreadyRecorded: 0, gaps: 0, dropped: {} });
  const rows = catalog.db.prepare("SELECT f.event FROM frames f JOIN runs r ON r.id = f.run_id JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'replay'").all() as { event: string }[];
  t.deepEqual(rows.map((r) => Number(r.event)).sort((a, b) => a - b), [...held].sort((a, b) => (a as number) - (b as number)));
  const runs = catalog.db.prepare("SELECT r.state, r.labelling FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'replay' ORDER BY r.number").all() as { state: string; labelling: string }[];
  // The killed run had recorded nothing, so closing it removed it; the replay is a run of its own.
  t.deepEqual(runs.map((r) => r.state), ['complete']);
  t.is(JSON.parse(runs[0].labelling).stream.replayed_from_spool, true);
  t.deepEqual(readdirSync(spoolDir), [], 'the spool is empty');
  t.true(statuses.some((s) => s.includes('replaying')));
});
