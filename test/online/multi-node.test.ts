// Scale-out: two `sxarchive stream` processes pull from one detector (PUSH hands each message to
// one of them) into one facility catalog on PostgreSQL and one shared tier.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { testCatalogLocation } from '../helpers/catalog.ts';
import { CLI_BIN, sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

interface Node {
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function streamNode(args: string[]): Node & { kill: () => void } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return { out: () => stdout, err: () => stderr, exited: new Promise((done) => child.on('exit', done)), kill: () => child.kill('SIGKILL') };
}

test('two stream processes on one detector and one PostgreSQL catalog record each frame exactly once, and together every frame sent', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const catalog = testCatalogLocation(t, 'postgres');
  t.is(sxarchive(['--data-dir', data, 'init']).code, 0);
  const yaml = join(data, 'facility.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^catalog: .*$/m, `catalog: ${catalog}`));
  const sim = await simulate({ detector: 'tiny', frames: 10, hitRate: 0.5, seed: 21, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const endpoint = `ipc://${join(dir, 'det')}`;
  const sent = 200;

  // Each node ends its series by the end message or, the one that does not get it, by silence.
  const args = ['--data-dir', data, 'stream', '--connect', endpoint, '--experiment', 'fan-out', '--geometry', sim.geometryOut!, '--policy', 'hits-only', '--series', '1', '--series-timeout', '5', '--json'];
  const nodes = [streamNode(args), streamNode(args)];
  t.teardown(() => nodes.forEach((n) => n.kill()));
  while (!nodes.every((n) => n.err().includes('stream: receiving'))) await sleep(100);
  // Paced, so that both have connected before most of the series goes out.
  const result = await runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: sent, rate: 200, seriesId: 7 });
  t.is(result.images, sent);
  const codes = await Promise.all(nodes.map((n) => n.exited));
  const summaries = nodes.map((n) => JSON.parse(n.out().trim().split('\n')[0]) as { seriesId: number; images: number; frames: number; ending: string; dropped: Record<string, number> });
  // A node sees only its share of the image ids: gaps by design, so a series is 'partial' there (exit 3).
  for (const [i, code] of codes.entries()) t.true(code === 0 || code === 3, `node ${i} exited ${code}: ${nodes[i].err()}`);
  t.deepEqual(summaries.map((s) => s.dropped), [{}, {}]);
  t.true(summaries.every((s) => s.seriesId === 7 && s.frames > 0), `frames per node: ${summaries.map((s) => s.frames).join(', ')}`);
  t.is(summaries[0].frames + summaries[1].frames, sent);
  t.deepEqual(summaries.map((s) => s.ending).sort(), ['end', 'timeout'], 'one node got the end message, the other ended by silence');

  const db = openCatalog(catalog, { readonly: true });
  t.teardown(() => db.close());
  const counts = db.db.prepare(`SELECT COUNT(*) AS frames, COUNT(DISTINCT f.event) AS events, COUNT(DISTINCT f.run_id) AS runs
                                FROM frames f JOIN runs r ON r.id = f.run_id JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'fan-out'`).get();
  t.deepEqual(counts, { frames: sent, events: sent, runs: 2 }, 'each frame once, in one run per node');
  const decided = db.db.prepare('SELECT COUNT(DISTINCT frame_id) AS n FROM decisions').get() as { n: number };
  t.is(decided.n, sent, 'every frame decided');
  const hits = db.db.prepare('SELECT COUNT(*) AS n FROM frames WHERE hit = 1').get() as { n: number };
  t.is(hits.n, (sent / 10) * sim.hits);
});
