// `sxarchive stream` as a user runs it: a real process receiving from a detector (detector-sim),
// with its Prometheus endpoint scraped while it runs, and Ctrl-C stopping it cleanly.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runDetectorSim } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { CLI_BIN, sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

function start(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, out: () => stdout, err: () => stderr, exited: new Promise((done) => child.on('exit', (code) => done(code))) };
}

/** The value of a metric line (first one matching), or undefined. */
function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('sxarchive stream records a detector-sim series, prints its summary as JSON, serves metrics, and stops on SIGINT', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const sim = await simulate({ detector: 'tiny', frames: 10, hitRate: 0.5, seed: 15, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const port = 20000 + ((process.pid + 17) % 10000);
  const endpoint = `ipc://${join(dir, 'det')}`;
  const stream = start(['--data-dir', data, 'stream', '--connect', endpoint, '--experiment', 'cli-online', '--geometry', sim.geometryOut!, '--policy', 'hits-only', '--metrics', `127.0.0.1:${port}`, '--series-timeout', '5', '--json']);
  t.teardown(() => stream.child.kill('SIGKILL'));
  // The sender in this process: a detector-sim process that exits as soon as it has queued its
  // last messages can lose them (ZeroMQ's shared context is not flushed at exit; see issue 11's note).
  await runDetectorSim({ file: sim.out, bind: endpoint, format: 'stream2', frames: 50, seriesId: 3 });
  // The series' summary line comes when its end is recorded.
  while (!stream.out().includes('\n')) await sleep(100);
  const summary = JSON.parse(stream.out().split('\n')[0]);
  // Known issue (issue 11's note): here the last messages of the series sometimes never reach
  // the stream process, whose series then ends by its timeout; what it did receive adds up.
  t.like(summary, { seriesId: 3, experiment: 'cli-online', dropped: {}, undecodable: 0 });
  t.true(summary.images >= 40 && summary.images <= 50, `${summary.images} images`);
  t.is(summary.frames, summary.images);
  t.is(summary.labelled, summary.images);
  if (summary.images === 50) t.like(summary, { ending: 'end', hits: 5 * sim.hits });
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.is(metric(text, 'sxarchive_stream_images_total'), summary.images);
  t.is(metric(text, 'sxarchive_stream_frames_recorded_total'), summary.frames);
  t.is(metric(text, 'sxarchive_stream_hits_total'), summary.hits);
  t.is(metric(text, 'sxarchive_stream_series_total'), 1);
  t.is(metric(text, 'sxarchive_stream_queue_images'), 0);
  t.true(metric(text, 'sxarchive_stream_received_bytes_total')! > 0);
  stream.child.kill('SIGINT');
  // A series that did not end cleanly makes the exit status 3 (partial).
  t.is(await stream.exited, summary.ending === 'end' ? 0 : 3, stream.err());
  const report = sxarchive(['--data-dir', data, 'experiments', '--json']);
  t.regex(report.stdout, /cli-online/);
});

test('sxarchive stream refuses what it cannot do before it connects: a bad policy, a bad metrics address', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const policy = sxarchive(['--data-dir', data, 'stream', '--connect', 'ipc:///nowhere', '--experiment', 'x', '--policy', 'no-such-policy']);
  t.is(policy.code, 2, policy.stderr);
  t.regex(policy.stderr, /no-such-policy/);
  t.notRegex(policy.stderr, /    at /);
  const metrics = sxarchive(['--data-dir', data, 'stream', '--connect', 'ipc:///nowhere', '--experiment', 'x', '--metrics', 'nohost']);
  t.is(metrics.code, 2, metrics.stderr);
  t.regex(metrics.stderr, /--metrics: expected host:port/);
});
