// `sxarchive stream` as a user runs it: a real process receiving from a detector-sim process,
// with its Prometheus endpoint scraped while it runs, and Ctrl-C stopping it cleanly.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  const stream = start(['--data-dir', data, 'stream', '--connect', endpoint, '--experiment', 'cli-online', '--geometry', sim.geometryOut!, '--policy', 'hits-only', '--metrics', `127.0.0.1:${port}`, '--json']);
  t.teardown(() => stream.child.kill('SIGKILL'));
  // detector-sim exits as soon as ZeroMQ has written its series into the connection, whether or
  // not the stream process has read it yet: the series must arrive whole all the same, its end too.
  const detector = start(['detector-sim', sim.out, '--bind', endpoint, '--frames', '50', '--series-id', '3']);
  t.is(await detector.exited, 0, detector.err());
  // The series' summary line comes when its end is recorded.
  while (!stream.out().includes('\n')) await sleep(100);
  const summary = JSON.parse(stream.out().split('\n')[0]);
  t.like(summary, { seriesId: 3, experiment: 'cli-online', images: 50, frames: 50, labelled: 50, hits: 5 * sim.hits, ending: 'end', dropped: {}, undecodable: 0 });
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.is(metric(text, 'sxarchive_stream_images_total'), 50);
  t.is(metric(text, 'sxarchive_stream_frames_recorded_total'), 50);
  t.is(metric(text, 'sxarchive_stream_hits_total'), 5 * sim.hits);
  t.is(metric(text, 'sxarchive_stream_indexed_total'), 0, 'no indexing results here');
  t.is(metric(text, 'sxarchive_stream_series_total'), 1);
  t.is(metric(text, 'sxarchive_stream_queue_images'), 0);
  t.true(metric(text, 'sxarchive_stream_received_bytes_total')! > 0);
  stream.child.kill('SIGINT');
  t.is(await stream.exited, 0, stream.err());
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
