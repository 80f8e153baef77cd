// `sxarchive detector-sim` as a detector on the network: a real process binding a PUSH socket,
// received here over real ZeroMQ; every image is a frame of the file, bit for bit.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pull } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { allocPixels } from '../../src/pixels.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { decodeStream2, type Stream2Image, type Stream2Message, type Stream2Start } from '../../src/streams/dectris-stream2.ts';
import { CLI_BIN, sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const bslz4 = containerChunkCodec('bitshuffle-lz4');

/** Runs detector-sim and receives its series; resolves with the messages, the exit code and stdout. */
async function receiveSeries(args: string[], endpoint: string): Promise<{ messages: Stream2Message[]; code: number | null; stdout: string; seconds: number }> {
  const child = spawn(process.execPath, [CLI_BIN, 'detector-sim', ...args, '--bind', endpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const pull = new Pull();
  pull.connect(endpoint);
  const messages: Stream2Message[] = [];
  let first = 0;
  try {
    for (;;) {
      const [bytes] = await pull.receive();
      const m = decodeStream2(bytes);
      if (messages.length === 0) first = performance.now();
      messages.push(m);
      if (m.type === 'end') break;
    }
  } finally {
    pull.close();
  }
  const seconds = (performance.now() - first) / 1000;
  return { messages, code: await exited, stdout, seconds };
}

test('detector-sim sends one stream V2 series: a start, every frame of the file as its stored bslz4 chunk, an end', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 6, hitRate: 0.5, seed: 9, out: join(dir, 'run.h5') });
  const source = await openFrameSource(sim.out);
  const frames = Array.from({ length: source.count }, (_, i) => source.read(i));
  source.close();
  // More images than the file has: its frames again from the first, at 100 images/s.
  const { messages, code, stdout, seconds } = await receiveSeries([sim.out, '--frames', '15', '--rate', '100', '--series-id', '4'], `ipc://${join(dir, 'det')}`);
  t.is(code, 0);
  t.regex(stdout, /series 4 \(.+\): 15 images/);
  t.deepEqual(messages.map((m) => m.type), ['start', ...Array<string>(15).fill('image'), 'end']);
  const start = messages[0] as Stream2Start;
  t.like(start, { seriesId: 4, width: sim.width, height: sim.height, pixelType: 'uint16', numberOfImages: 15, channels: ['threshold_1'] });
  const images = messages.slice(1, -1) as Stream2Image[];
  for (const [i, image] of images.entries()) {
    t.is(image.imageId, i);
    t.is(image.seriesUniqueId, start.seriesUniqueId);
    const pixels = allocPixels('uint16', sim.width * sim.height);
    bslz4.decode(image.data[0].bytes, pixels);
    t.deepEqual(pixels, frames[i % frames.length], `image ${i}`);
  }
  // 15 images at 100 per second take at least the 14 intervals between them.
  t.true(seconds >= 0.13, `${seconds} s`);
});

test('detector-sim refuses what it cannot do, with what is wrong: a missing file, a bad rate, an endpoint that does not bind', async (t) => {
  const dir = tempDir(t);
  const missing = sxarchive(['detector-sim', join(dir, 'none.h5'), '--bind', `ipc://${join(dir, 'a')}`]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /none\.h5: no such file/);
  const rate = sxarchive(['detector-sim', join(dir, 'none.h5'), '--rate', 'fast']);
  t.is(rate.code, 2);
  t.regex(rate.stderr, /--rate/);
  const sim = await simulate({ detector: 'tiny', frames: 1, hitRate: 0, seed: 1, out: join(dir, 'run.h5') });
  const bind = sxarchive(['detector-sim', sim.out, '--bind', 'tcp://127.0.0.1:notaport']);
  t.not(bind.code, 0);
  t.regex(bind.stderr, /cannot bind tcp:\/\/127\.0\.0\.1:notaport/);
  t.notRegex(bind.stderr, /    at /, 'no stack trace');
});

test('SIGINT stops detector-sim at once: the series has no end, and it exits 130 saying how far it got', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 2, hitRate: 0.5, seed: 3, out: join(dir, 'run.h5') });
  const endpoint = `ipc://${join(dir, 'det')}`;
  const child = spawn(process.execPath, [CLI_BIN, 'detector-sim', sim.out, '--bind', endpoint, '--frames', '100000', '--rate', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const pull = new Pull({ receiveTimeout: 20_000 });
  pull.connect(endpoint);
  const types: string[] = [];
  try {
    while (types.length < 6) types.push(decodeStream2((await pull.receive())[0]).type);
    child.kill('SIGINT');
    t.is(await exited, 130);
  } finally {
    pull.close();
  }
  t.deepEqual(types, ['start', 'image', 'image', 'image', 'image', 'image']);
  t.regex(stderr, /interrupted: series 1 stopped after \d+ image\(s\), without its end message/);
});
