// `sxarchive detector-sim` as a detector on the network: a real process binding a PUSH socket (or,
// for msgpack, PUB or REP), received here over real ZeroMQ; in every format, every image is a
// frame of the file, bit for bit.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pull, Request, Subscriber } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { SxError } from '../../src/errors.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { allocPixels, type PixelArray } from '../../src/pixels.ts';
import { runDetectorSim, type DetectorSimOptions } from '../../src/simulate/detector-sim.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { decodeStream1, type Stream1Image, type Stream1Message, type Stream1Start } from '../../src/streams/dectris-stream1.ts';
import { decodeStream2, type Stream2Image, type Stream2Message, type Stream2Start } from '../../src/streams/dectris-stream2.ts';
import { decodeMsgpackFrame, type MsgpackFrame } from '../../src/streams/onda-msgpack.ts';
import { CLI_BIN, sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const bslz4 = containerChunkCodec('bitshuffle-lz4');

async function simulatedRun(t: ExecutionContext, pixelType: 'uint16' | 'uint32' = 'uint16') {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 5, hitRate: 0.5, seed: 13, pixelType, out: join(dir, 'run.h5') });
  const source = await openFrameSource(sim.out);
  const frames = Array.from({ length: source.count }, (_, i) => source.read(i));
  source.close();
  return { dir, file: sim.out, width: sim.width, height: sim.height, frames };
}

/** What a CrystFEL reader gets for `frame` sent as msgpack: int32 pixels (an unsigned frame's values converted). */
const asInt32 = (frame: PixelArray) => Int32Array.from(frame);
const int32Of = (m: MsgpackFrame) => new Int32Array(Uint8Array.from(m.bytes).buffer);

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

/** Runs detector-sim in this process, as `sxarchive detector-sim` does, at `endpoint`. */
const runAt = (file: string, endpoint: string, options: Partial<DetectorSimOptions>) => runDetectorSim({ file, bind: endpoint, format: 'stream2', ...options });

test('stream V1: a basic header with the frame size and bit depth, every frame as its bs16-lz4< chunk, an end', async (t) => {
  const { dir, file, width, height, frames } = await simulatedRun(t);
  const endpoint = `ipc://${join(dir, 'det')}`;
  const sending = runAt(file, endpoint, { format: 'stream1', frames: 7, rate: 200, seriesId: 6, userData: { experiment: 'lyso' } });
  const pull = new Pull({ receiveTimeout: 20_000 });
  pull.connect(endpoint);
  const messages: Stream1Message[] = [];
  try {
    while (messages.at(-1)?.type !== 'end') messages.push(decodeStream1(await pull.receive()));
  } finally {
    pull.close();
  }
  const result = await sending;
  t.deepEqual({ ...result, bytes: 0, seconds: 0 }, { format: 'stream1', pattern: 'push', seriesId: 6, images: 7, bytes: 0, seconds: 0 });
  t.deepEqual(messages.map((m) => m.type), ['start', ...Array<string>(7).fill('image'), 'end']);
  t.like(messages[0] as Stream1Start, { seriesId: 6, headerDetail: 'basic', width, height, pixelType: 'uint16', numberOfImages: 7, config: { x_pixels_in_detector: width, y_pixels_in_detector: height, bit_depth_image: 16 }, userData: { experiment: 'lyso' } });
  for (const [i, image] of (messages.slice(1, -1) as Stream1Image[]).entries()) {
    t.like(image, { seriesId: 6, imageId: i, width, height, compression: 'bslz4', elemSize: 2, realTime: [5_000_000, 1e9] });
    const pixels = allocPixels('uint16', width * height);
    bslz4.decode(image.bytes, pixels);
    t.deepEqual(pixels, frames[i % frames.length], `image ${i}`);
  }
});

test('msgpack over PUB: sending starts when a subscriber is there, and every frame arrives as int32 pixels equal to the file\'s (uint32 frames too)', async (t) => {
  const { dir, file, width, height, frames } = await simulatedRun(t, 'uint32');
  const endpoint = `ipc://${join(dir, 'onda')}`;
  const sending = runAt(file, endpoint, { format: 'msgpack', frames: 8 });
  // Joining late is safe: PUB would drop what it sent before, so nothing is sent until this subscribes.
  await new Promise((done) => setTimeout(done, 300));
  const sub = new Subscriber({ receiveTimeout: 20_000 });
  sub.connect(endpoint);
  sub.subscribe();
  const received: MsgpackFrame[] = [];
  try {
    while (received.length < 8) received.push(decodeMsgpackFrame((await sub.receive())[0]));
  } finally {
    sub.close();
  }
  const result = await sending;
  t.like(result, { format: 'msgpack', pattern: 'pub', images: 8 });
  t.is(result.seriesId, 1, "msgpack frames carry a series, as a DECTRIS stream names it");
  for (const [i, m] of received.entries()) {
    t.like(m, { width, height, pixelType: 'int32', values: { image_id: i } });
    t.deepEqual(int32Of(m), asInt32(frames[i % frames.length]), `frame ${i}`);
  }
});

test('msgpack over REP: each request gets the next frame, and the request after the last an empty reply', async (t) => {
  const { dir, file, width, height, frames } = await simulatedRun(t);
  const endpoint = `ipc://${join(dir, 'om')}`;
  const sending = runAt(file, endpoint, { format: 'msgpack', pattern: 'rep', frames: 6, rate: 100 });
  const req = new Request({ receiveTimeout: 20_000 });
  req.connect(endpoint);
  try {
    for (let i = 0; i < 6; i++) {
      await req.send('next');
      const m = decodeMsgpackFrame((await req.receive())[0]);
      t.like(m, { width, height, pixelType: 'int32', values: { image_id: i } });
      t.deepEqual(int32Of(m), asInt32(frames[i % frames.length]), `frame ${i}`);
    }
    await req.send('next');
    const last = await req.receive();
    t.deepEqual(last.map((part) => part.byteLength), [0]);
  } finally {
    req.close();
  }
  t.like(await sending, { format: 'msgpack', pattern: 'rep', images: 6 });
});

test('detector-sim refuses a socket pattern its format does not use', async (t) => {
  const none = join(tempDir(t), 'none.h5');
  await t.throwsAsync(runAt(none, 'ipc://x', { format: 'stream2', pattern: 'pub' }), { instanceOf: SxError, message: /--pattern pub: stream2 is sent over PUSH, as a DECTRIS detector does; pub and rep are for msgpack/ });
  await t.throwsAsync(runAt(none, 'ipc://x', { format: 'stream1', pattern: 'rep' }), { instanceOf: SxError, message: /--pattern rep: stream1 is sent over PUSH/ });
  await t.throwsAsync(runAt(none, 'ipc://x', { format: 'msgpack', pattern: 'push' }), { instanceOf: SxError, message: /--pattern push: msgpack frames are published \(pub\) or sent on request \(rep\)/ });
});

test('from the command line: --format stream1 sends a V1 series, --format msgpack --pattern rep answers requests, each saying what it sent', async (t) => {
  const { dir, file, frames } = await simulatedRun(t);
  const endpoint = `ipc://${join(dir, 'det')}`;
  const v1 = spawn(process.execPath, [CLI_BIN, 'detector-sim', file, '--format', 'stream1', '--series-id', '2', '--bind', endpoint], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  v1.stdout.on('data', (d) => (stdout += d));
  const v1Exit = new Promise<number | null>((done) => v1.on('exit', (code) => done(code)));
  const pull = new Pull({ receiveTimeout: 20_000 });
  pull.connect(endpoint);
  const types: string[] = [];
  try {
    while (types.at(-1) !== 'end') types.push(decodeStream1(await pull.receive()).type);
  } finally {
    pull.close();
  }
  t.is(await v1Exit, 0);
  t.deepEqual(types, ['start', ...Array<string>(frames.length).fill('image'), 'end']);
  t.regex(stdout, /^series 2: 5 images, /);

  const om = spawn(process.execPath, [CLI_BIN, 'detector-sim', file, '--format', 'msgpack', '--pattern', 'rep', '--frames', '2', '--bind', `ipc://${join(dir, 'om')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  stdout = '';
  om.stdout.on('data', (d) => (stdout += d));
  const omExit = new Promise<number | null>((done) => om.on('exit', (code) => done(code)));
  const req = new Request({ receiveTimeout: 20_000 });
  req.connect(`ipc://${join(dir, 'om')}`);
  try {
    for (let i = 0; i < 3; i++) {
      await req.send('next');
      const [reply] = await req.receive();
      if (i < 2) t.deepEqual(int32Of(decodeMsgpackFrame(reply)), asInt32(frames[i]));
      else t.is(reply.byteLength, 0);
    }
  } finally {
    req.close();
  }
  t.is(await omExit, 0);
  t.regex(stdout, /^series 1 \(sxarchive-sim-.+\): 2 images, /);
});
