// DECTRIS stream V1 over real ZeroMQ sockets: every encoding an Eiger sends decodes to the frames
// sent, bit for bit, bslz4 blobs kept as the HDF5 filter's chunks and lz4 blocks framed as the
// HDF5 LZ4 filter's; bad messages are refused with what is wrong.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pull, Push } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { SxError } from '../../src/errors.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { allocPixels, type PixelArray } from '../../src/pixels.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { decodeStream1, encodeStream1, type Stream1Image, type Stream1Message, type Stream1Start } from '../../src/streams/dectris-stream1.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';

const bslz4 = containerChunkCodec('bitshuffle-lz4');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const bytesOf = (pixels: PixelArray) => new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);

/** Sends each message's parts over PUSH/PULL at `endpoint` and decodes what arrives. */
async function sendAndReceive(endpoint: string, messages: Uint8Array[][]): Promise<Stream1Message[]> {
  const push = new Push({ sendHighWaterMark: 0 });
  const pull = new Pull();
  await push.bind(endpoint);
  pull.connect(endpoint);
  try {
    const sending = (async () => {
      for (const parts of messages) await push.send(parts);
    })();
    const received: Stream1Message[] = [];
    while (received.length < messages.length) received.push(decodeStream1(await pull.receive()));
    await sending;
    return received;
  } finally {
    push.close();
    pull.close();
  }
}

const imageOf = (imageId: number, frame: Omit<Stream1Image, 'type' | 'seriesId' | 'imageId' | 'hash' | 'startTime' | 'stopTime' | 'realTime'>): Stream1Image => ({
  type: 'image', seriesId: 3, imageId, hash: md5(frame.bytes), startTime: [imageId * 1000, 1e9], stopTime: [imageId * 1000 + 900, 1e9], realTime: [900, 1e9], ...frame,
});

async function simulatedFrames(t: Parameters<typeof tempDir>[0], pixelType: 'uint16' | 'uint32') {
  const sim = await simulate({ detector: 'tiny', frames: 6, hitRate: 0.5, seed: 11, pixelType, out: join(tempDir(t), 'run.h5') });
  const source = await openFrameSource(sim.out);
  const frames = Array.from({ length: source.count }, (_, i) => source.read(i));
  const { width, height } = source;
  source.close();
  return { frames, width, height };
}

for (const [pixelType, transport] of [['uint16', 'tcp on 127.0.0.1'], ['uint32', 'ipc']] as const) {
  const encoding = pixelType === 'uint16' ? 'bs16-lz4<' : 'bs32-lz4<';
  test(`a series over PUSH/PULL (${transport}) with ${encoding} images decodes to the frames sent, chunks byte for byte`, async (t) => {
    const { frames, width, height } = await simulatedFrames(t, pixelType);
    const endpoint = pixelType === 'uint16' ? `tcp://127.0.0.1:${20000 + (process.pid % 10000)}` : `ipc://${join(tempDir(t), 'det')}`;
    const elemSize = pixelType === 'uint16' ? 2 : 4;
    // What an Eiger sends: each frame as one HDF5 bitshuffle-LZ4 chunk, its 12-byte header included.
    const chunks = frames.map((data) => bslz4.encode({ data, width, height }));
    const start: Stream1Start = {
      type: 'start', seriesId: 3, headerDetail: 'basic', width, height, pixelType, numberOfImages: frames.length, beamCenterX: 128.5, beamCenterY: 120.25, incidentWavelength: 0.98,
      config: { detector_distance: 0.2, x_pixel_size: 75e-6, description: 'Dectris EIGER2 Si 16M' }, userData: { experiment: 'lyso' },
    };
    const sent: Stream1Message[] = [start, ...chunks.map((bytes, i) => imageOf(i, { width, height, pixelType, compression: 'bslz4', elemSize, bytes })), { type: 'end', seriesId: 3 }];
    const received = await sendAndReceive(endpoint, sent.map(encodeStream1));
    t.deepEqual(received.map((m) => m.type), sent.map((m) => m.type));
    t.like(received[0], { ...start, config: { ...start.config, x_pixels_in_detector: width, y_pixels_in_detector: height, bit_depth_image: elemSize * 8, nimages: 6, ntrigger: 1, wavelength: 0.98 } });
    for (const [i, image] of (received.slice(1, -1) as Stream1Image[]).entries()) {
      t.like(image, { seriesId: 3, imageId: i, width, height, pixelType, compression: 'bslz4', elemSize, hash: md5(chunks[i]), startTime: [i * 1000, 1e9], realTime: [900, 1e9] });
      t.true(Buffer.from(image.bytes).equals(Buffer.from(chunks[i])), `image ${i}: the chunk as sent`);
      const pixels = allocPixels(pixelType, width * height);
      bslz4.decode(image.bytes, pixels);
      t.deepEqual(pixels, frames[i], `image ${i}: the frame's pixels`);
    }
    t.deepEqual(received.at(-1), { type: 'end', seriesId: 3 });
  });
}

// h5py with hdf5plugin's LZ4 filter (32004), an encoder and decoder independent of sxarchive.
const LZ4_SCRIPT = `
import sys, h5py, hdf5plugin, numpy as np
op, h5, raw, chunk, dtype, height, width = sys.argv[1:]
shape = (int(height), int(width))
if op == 'write':
    with h5py.File(h5, 'w') as f:
        f.create_dataset('d', data=np.frombuffer(open(raw, 'rb').read(), dtype=dtype).reshape(shape), chunks=shape, **hdf5plugin.LZ4())
    with h5py.File(h5, 'r') as f:
        open(chunk, 'wb').write(f['d'].id.read_direct_chunk((0, 0))[1])
else:
    with h5py.File(h5, 'w') as f:
        f.create_dataset('d', shape=shape, dtype=dtype, chunks=shape, **hdf5plugin.LZ4()).id.write_direct_chunk((0, 0), open(chunk, 'rb').read())
    with h5py.File(h5, 'r') as f:
        open(raw, 'wb').write(np.ascontiguousarray(f['d'][...]).tobytes())
`;

test('lz4< images, bare LZ4 blocks, decode to HDF5 LZ4 chunks that h5py reads as the frames sent; the block is sent back as it came', async (t) => {
  const dir = tempDir(t);
  const { frames, width, height } = await simulatedFrames(t, 'uint16');
  const lz4 = (op: 'write' | 'read', i: number) => execFileSync(DEBIAN_PYTHON, ['-c', LZ4_SCRIPT, op, join(dir, `${op}-${i}.h5`), join(dir, `${op}-${i}.raw`), join(dir, `${op}-${i}.lz4`), '<u2', String(height), String(width)]);
  const blocks = frames.map((frame, i) => {
    writeFileSync(join(dir, `write-${i}.raw`), bytesOf(frame));
    lz4('write', i);
    // A one-block filter-32004 chunk is 16 bytes of framing, then what an Eiger sends as lz4<.
    return readFileSync(join(dir, `write-${i}.lz4`));
  });
  const messages = blocks.map((chunk, i) => {
    const block = chunk.subarray(16);
    return [json({ htype: 'dimage-1.0', series: 8, frame: i, hash: md5(block) }), json({ htype: 'dimage_d-1.0', shape: [width, height], type: 'uint16', encoding: 'lz4<', size: block.byteLength }), block, json({ htype: 'dconfig-1.0', start_time: 0, stop_time: 1, real_time: 1 })];
  });
  const received = (await sendAndReceive(`ipc://${join(dir, 'det')}`, messages)) as Stream1Image[];
  for (const [i, image] of received.entries()) {
    t.like(image, { imageId: i, width, height, pixelType: 'uint16', compression: 'lz4', elemSize: 0 });
    t.true(Buffer.from(image.bytes).equals(blocks[i]), `image ${i}: h5py's own chunk of the frame`);
    writeFileSync(join(dir, `read-${i}.lz4`), image.bytes);
    lz4('read', i);
    t.true(readFileSync(join(dir, `read-${i}.raw`)).equals(bytesOf(frames[i])), `image ${i}: h5py reads the frame from it`);
    t.true(Buffer.from(encodeStream1(image)[2]).equals(messages[i][2]), `image ${i}: sent as the bare block`);
  }
});

test('uncompressed (<) images round-trip bit for bit, with an image appendix', async (t) => {
  const pixels = Uint32Array.from({ length: 40 * 30 }, (_, k) => (k * 2654435761) >>> 0);
  const sent = imageOf(5, { width: 40, height: 30, pixelType: 'uint32', compression: 'none', elemSize: 0, bytes: bytesOf(pixels) });
  const [back] = (await sendAndReceive(`ipc://${join(tempDir(t), 'det')}`, [encodeStream1({ ...sent, userData: 'shot 5' })])) as Stream1Image[];
  t.like(back, { imageId: 5, width: 40, height: 30, pixelType: 'uint32', compression: 'none', userData: 'shot 5' });
  t.deepEqual(new Uint32Array(Uint8Array.from(back.bytes).buffer), pixels);
});

test('header_detail all: the pixel mask and the config are kept; none carries the series only', async (t) => {
  const mask = Uint32Array.from({ length: 6 * 4 }, (_, k) => (k % 5 === 0 ? 1 : 0));
  const config = { x_pixels_in_detector: 6, y_pixels_in_detector: 4, bit_depth_image: 32, nimages: 5, ntrigger: 3, beam_center_x: 2.5, beam_center_y: 1.5, wavelength: 1.0332, software_version: '1.8.0' };
  // As an Eiger sends them: flatfield, pixel mask and countrate table, each a JSON part and a blob.
  const all = [
    json({ htype: 'dheader-1.0', series: 12, header_detail: 'all' }), json(config),
    json({ htype: 'dflatfield-1.0', shape: [6, 4], type: 'float32' }), new Uint8Array(6 * 4 * 4),
    json({ htype: 'dpixelmask-1.0', shape: [6, 4], type: 'uint32' }), bytesOf(mask),
    json({ htype: 'dcountrate_table-1.0', shape: [2, 1000], type: 'float32' }), new Uint8Array(2 * 1000 * 4),
    Buffer.from('{"experiment": "lyso-2026"}'),
  ];
  const none = encodeStream1({ type: 'start', seriesId: 13, headerDetail: 'none' });
  const [header, bare] = await sendAndReceive(`ipc://${join(tempDir(t), 'det')}`, [all, none]);
  t.like(header, { type: 'start', seriesId: 12, headerDetail: 'all', width: 6, height: 4, pixelType: 'uint32', numberOfImages: 15, beamCenterX: 2.5, beamCenterY: 1.5, incidentWavelength: 1.0332, config, userData: { experiment: 'lyso-2026' } });
  const { pixelMask } = header as Stream1Start;
  t.like(pixelMask, { width: 6, height: 4 });
  t.deepEqual(new Uint32Array(Uint8Array.from(pixelMask!.bytes).buffer), mask);
  t.deepEqual(bare, { type: 'start', seriesId: 13, headerDetail: 'none' });
  t.throws(() => encodeStream1(header), { instanceOf: SxError, message: /header_detail basic or none/ });
});

test('malformed messages are refused with what is wrong: bad JSON, unknown htype or encoding, wrong blob size, wrong parts, unsupported types', (t) => {
  const refused = (parts: Uint8Array[], expected: RegExp) => {
    const err = t.throws(() => decodeStream1(parts), { instanceOf: SxError });
    t.is(err!.tag, 'input');
    t.regex(err!.message, expected);
  };
  const chunk = bslz4.encode({ data: allocPixels('uint16', 4 * 2), width: 4, height: 2 });
  const image = (d: Record<string, unknown>, blob: Uint8Array = chunk) => [
    json({ htype: 'dimage-1.0', series: 1, frame: 0, hash: md5(blob) }), json({ htype: 'dimage_d-1.0', shape: [4, 2], type: 'uint16', encoding: 'bs16-lz4<', size: blob.byteLength, ...d }), blob, json({ htype: 'dconfig-1.0', start_time: 0, stop_time: 10, real_time: 10 }),
  ];
  t.like(decodeStream1(image({})), { type: 'image', width: 4, height: 2, compression: 'bslz4', elemSize: 2 });
  refused([Buffer.from('{"htype": "dimage-1.0",')], /stream1 message: part 1 .* does not decode as JSON/);
  refused([image({})[0], Buffer.from('{shape: [4, 2]}'), chunk, image({})[3]], /stream1 image message: part 2 \(dimage_d-1\.0\) of 15 bytes does not decode as JSON/);
  refused([json({ htype: 'dimage-2.0', series: 1 })], /part 1: htype: expected dheader-1\.0, dimage-1\.0, dseries_end-1\.0, got "dimage-2\.0"/);
  refused([image({})[0], json({ htype: 'dconfig-1.0' }), chunk, image({})[3]], /part 2: htype: expected dimage_d-1\.0, got "dconfig-1\.0"/);
  refused(image({ encoding: 'bs16-zstd<' }), /dimage_d-1\.0 encoding: expected bs16-lz4<, bs32-lz4<, lz4<, <, got "bs16-zstd<"/);
  refused(image({ encoding: 'lz4>' }), /encoding: expected .*, got "lz4>"/);
  refused(image({ size: chunk.byteLength + 1 }), new RegExp(`part 3 \\(the data\\): dimage_d-1\\.0 size says ${chunk.byteLength + 1} bytes, got ${chunk.byteLength}`));
  refused(image({ encoding: '<', size: 15 }, new Uint8Array(15)), /part 3 \(the data\): 4 x 2 uint16 needs 16 bytes, got 15/);
  refused(image({ type: 'uint8', encoding: 'bs8-lz4<' }), /type: expected uint16 or uint32 \(uint8 frames are not read\), got "uint8"; dimage_d-1\.0 encoding: expected .*got "bs8-lz4<"/);
  refused(image({ type: 'float32' }), /type: expected uint16 or uint32 .*got "float32"/);
  refused(image({ type: 'uint32' }), /bs16-lz4< shuffles 2-byte elements, but type is uint32/);
  refused(image({}, chunk.subarray(12)), /the bitshuffle-LZ4 chunk header says \d+ uncompressed bytes, expected 16/);
  refused(image({ shape: [4, 2, 1] }), /dimage_d-1\.0 shape: expected \[width, height\], got an array of 3/);
  refused(image({}).slice(0, 3), /stream1 image message: expected 4 parts \(5 with an appendix\), got 3/);
  refused([...image({}), Buffer.from('a'), Buffer.from('b')], /expected 4 parts .*got 6/);
  refused([image({})[0], image({})[1], chunk, json({ htype: 'dconfig-1.0', start_time: -1, stop_time: 1.5, real_time: 1 })], /dconfig-1\.0 start_time: expected an unsigned integer, got -1; dconfig-1\.0 stop_time: expected an unsigned integer, got 1\.5/);
  refused([json({ htype: 'dheader-1.0', series: 1, header_detail: 'basic' })], /stream1 header message: expected 2 parts \(3 with an appendix\), got 1/);
  refused([json({ htype: 'dheader-1.0', series: 1, header_detail: 'some' })], /header_detail: expected all, basic or none, got "some"/);
  refused([json({ htype: 'dheader-1.0', series: 1, header_detail: 'basic' }), json({ bit_depth_image: 8, x_pixels_in_detector: -4 })], /config x_pixels_in_detector: expected an unsigned integer, got -4; config bit_depth_image: expected 16 or 32 .*got 8/);
  refused([json({ htype: 'dheader-1.0', series: 1, header_detail: 'basic' }), json([1, 2])], /part 2 \(the detector config\): expected a JSON object, got an array of 2/);
  refused([json({ htype: 'dseries_end-1.0', series: 'one' })], /stream1 end message: dseries_end-1\.0 series: expected an unsigned integer, got "one"/);
  refused([json({ htype: 'dseries_end-1.0', series: 1 }), Buffer.from('x')], /stream1 end message: expected 1 part, got 2/);
  refused([], /expected at least one part/);
  // An LZ4 block as long as the pixels would be read as stored by filter 32004.
  refused(image({ encoding: 'lz4<', size: 16 }, new Uint8Array(16)), /an LZ4 block of 16 bytes, as long as the pixels, cannot be framed/);
});

test('a truncated bs16-lz4< blob decodes as a message and fails only where it is decoded, as input', (t) => {
  const frame = allocPixels('uint16', 64 * 32);
  frame.forEach((_, i) => (frame[i] = i % 7));
  const chunk = bslz4.encode({ data: frame, width: 64, height: 32 });
  const message = decodeStream1(encodeStream1(imageOf(0, { width: 64, height: 32, pixelType: 'uint16', compression: 'bslz4', elemSize: 2, bytes: chunk.subarray(0, chunk.length - 7) }))) as Stream1Image;
  const err = t.throws(() => bslz4.decode(message.bytes, allocPixels('uint16', 64 * 32)), { instanceOf: SxError });
  t.is(err!.tag, 'input');
});
