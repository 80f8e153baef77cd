// `sxarchive daemon --connect`: the facility's schedules and a detector stream in one process,
// each series one JSON line, SIGTERM recording what was received before the daemon stops.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { CLI_BIN, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

function daemon(args: string[]) {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const lines = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, lines, err: () => stderr, exited: new Promise<number | null>((done) => child.on('exit', done)) };
}

test('the daemon receives a detector stream beside its schedules: each series a run and a JSON line, and SIGTERM stops both', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const sim = await simulate({ detector: 'tiny', frames: 10, hitRate: 0.5, seed: 31, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const endpoint = `ipc://${join(dir, 'det')}`;
  const d = daemon(['--data-dir', data, 'daemon', '--connect', endpoint, '--experiment', 'daemon-online', '--geometry', sim.geometryOut!, '--policy', 'hits-only']);
  t.teardown(() => d.child.kill('SIGKILL'));
  while (!d.lines().some((l) => l.daemon === 'started')) await sleep(100);
  t.like(d.lines().find((l) => l.stream === 'receiving'), { connect: endpoint, format: 'stream2' });

  for (const seriesId of [1, 2]) await runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 20, seriesId });
  while (d.lines().filter((l) => l.stream === 'series').length < 2) await sleep(100);
  d.child.kill('SIGTERM');
  t.is(await d.exited, 0, d.err());

  const series = d.lines().filter((l) => l.stream === 'series');
  t.like(series[0], { clean: true, seriesId: 1, experiment: 'daemon-online', run: 1, images: 20, frames: 20, hits: 2 * sim.hits, ending: 'end' });
  t.like(series[1], { clean: true, seriesId: 2, run: 2, images: 20, frames: 20, ending: 'end' });
  t.like(d.lines().at(-1), { daemon: 'stopped', signal: 'SIGTERM' });
  const experiments = sxarchiveJson<{ name: string; frames: number }[]>(['--data-dir', data, 'experiments', '--json']);
  t.like(experiments.find((e) => e.name === 'daemon-online'), { frames: 40 });
});

test('a daemon whose stream cannot run says so in its log and stops (exit 1); --connect needs --experiment', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const d = daemon(['--data-dir', data, 'daemon', '--connect', `ipc://${join(dir, 'det')}`, '--experiment', 'x', '--policy', 'no-such-policy']);
  t.is(await d.exited, 1, d.err());
  const failed = d.lines().find((l) => l.stream === 'failed');
  t.regex(String(failed?.error), /no-such-policy/);
  t.like(d.lines().at(-1), { daemon: 'stopped' });

  const missing = daemon(['--data-dir', data, 'daemon', '--connect', `ipc://${join(dir, 'det')}`]);
  t.is(await missing.exited, 2);
  t.regex(missing.err(), /--connect needs --experiment/);
});
