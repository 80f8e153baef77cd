// DECTRIS stream V2 over real ZeroMQ sockets: what a detector sends decodes to the same frames,
// bit for bit, with bslz4 payloads kept as the HDF5 filter's chunks; bad messages are refused
// with what is wrong.
import test from 'ava';
import { join } from 'node:path';
import { encode } from 'cbor-x';
import { Pull, Push } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { SxError } from '../../src/errors.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { allocPixels } from '../../src/pixels.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { decodeStream2, encodeStream2, type Stream2Image, type Stream2Message } from '../../src/streams/dectris-stream2.ts';
import { tempDir } from '../helpers/tmp.ts';

const bslz4 = containerChunkCodec('bitshuffle-lz4');

test('a series sent over PUSH/PULL (tcp on 127.0.0.1) decodes to the frames sent, bslz4 chunks byte for byte', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 12, hitRate: 0.5, seed: 5, out: join(dir, 'run.h5') });
  const source = await openFrameSource(sim.out);
  const frames = Array.from({ length: source.count }, (_, i) => source.read(i));
  const { width, height } = source;
  source.close();
  // What an Eiger's stream carries: each frame as one HDF5 bitshuffle-LZ4 filter chunk.
  const chunks = frames.map((f) => bslz4.encode({ data: f, width, height }));

  const endpoint = `tcp://127.0.0.1:${20000 + (process.pid % 10000)}`;
  const push = new Push({ sendHighWaterMark: 0 });
  const pull = new Pull();
  await push.bind(endpoint);
  pull.connect(endpoint);
  try {
    const sent: Stream2Message[] = [
      { type: 'start', seriesId: 7, seriesUniqueId: 'series-7', channels: ['threshold_1'], pixelType: 'uint16', width, height, numberOfImages: frames.length, beamCenterX: 12.5, incidentWavelength: 1.3, userData: { experiment: 'lyso' } },
      ...chunks.map((bytes, imageId): Stream2Image => ({
        type: 'image', seriesId: 7, seriesUniqueId: 'series-7', imageId, startTime: [imageId * 10, 1000], stopTime: [imageId * 10 + 9, 1000], realTime: [9, 1000],
        data: [{ channel: 'threshold_1', width, height, pixelType: 'uint16', compression: 'bslz4', elemSize: 2, bytes }],
      })),
      { type: 'end', seriesId: 7, seriesUniqueId: 'series-7' },
    ];
    const sending = (async () => {
      for (const m of sent) await push.send(encodeStream2(m));
    })();
    const received: Stream2Message[] = [];
    for (let i = 0; i < sent.length; i++) {
      const [message] = await pull.receive();
      received.push(decodeStream2(message));
    }
    await sending;
    t.deepEqual(received.map((m) => m.type), sent.map((m) => m.type));
    t.like(received[0], { seriesId: 7, seriesUniqueId: 'series-7', channels: ['threshold_1'], pixelType: 'uint16', width, height, numberOfImages: frames.length, beamCenterX: 12.5, incidentWavelength: 1.3, userData: { experiment: 'lyso' } });
    const images = received.slice(1, -1) as Stream2Image[];
    for (const [i, image] of images.entries()) {
      t.is(image.imageId, i);
      t.deepEqual(image.startTime, [i * 10, 1000]);
      const [channel] = image.data;
      t.like(channel, { channel: 'threshold_1', width, height, pixelType: 'uint16', compression: 'bslz4', elemSize: 2 });
      t.true(Buffer.from(channel.bytes).equals(Buffer.from(chunks[i])), `image ${i}: the chunk as sent`);
      const pixels = allocPixels('uint16', width * height);
      bslz4.decode(channel.bytes, pixels);
      t.deepEqual(pixels, frames[i], `image ${i}: the frame's pixels`);
    }
  } finally {
    push.close();
    pull.close();
  }
});

test('uncompressed and lz4 channels, several channels and other pixel types round-trip', (t) => {
  const raw = new Uint32Array([1, 2, 3, 4, 5, 6]);
  const message: Stream2Image = {
    type: 'image', seriesId: 1, seriesUniqueId: 'u', imageId: 3,
    data: [
      { channel: 'a', width: 3, height: 2, pixelType: 'uint32', compression: 'none', elemSize: 0, bytes: new Uint8Array(raw.buffer) },
      { channel: 'b', width: 3, height: 2, pixelType: 'float32', compression: 'lz4', elemSize: 0, bytes: new Uint8Array([9, 9, 9]) },
    ],
  };
  const back = decodeStream2(encodeStream2(message)) as Stream2Image;
  t.is(back.data.length, 2);
  t.like(back.data[0], { channel: 'a', width: 3, height: 2, pixelType: 'uint32', compression: 'none' });
  t.deepEqual([...new Uint32Array(Uint8Array.from(back.data[0].bytes).buffer)], [...raw]);
  t.like(back.data[1], { channel: 'b', pixelType: 'float32', compression: 'lz4' });
  t.deepEqual([...back.data[1].bytes], [9, 9, 9]);
});

test('malformed messages are refused with what is wrong: bad CBOR, wrong blob size, unknown encoding, missing fields', (t) => {
  const refused = (bytes: Uint8Array, expected: RegExp) => {
    const err = t.throws(() => decodeStream2(bytes), { instanceOf: SxError });
    t.is(err!.tag, 'input');
    t.regex(err!.message, expected);
  };
  refused(new Uint8Array([0xff, 0x00, 0x13]), /does not decode as CBOR/);
  refused(encodeStream2({ type: 'end', seriesId: 1, seriesUniqueId: 'u' }).subarray(0, 5), /does not decode as CBOR/);
  const image = (channel: Partial<Stream2Image['data'][number]>): Uint8Array =>
    encodeStream2({ type: 'image', seriesId: 1, seriesUniqueId: 'u', imageId: 0, data: [{ channel: 'c', width: 4, height: 2, pixelType: 'uint16', compression: 'none', elemSize: 0, bytes: new Uint8Array(16), ...channel }] });
  refused(image({ bytes: new Uint8Array(15) }), /data\.c: 4 x 2 uint16 needs 16 bytes, got 15/);
  refused(image({ compression: 'zstd' as 'lz4', bytes: new Uint8Array(3) }), /data\.c: compression: expected bslz4 or lz4, got "zstd"/);
  refused(image({ compression: 'bslz4', elemSize: 4, bytes: new Uint8Array(3) }), /bslz4 element size: expected 2 for uint16, got 4/);
  const start = encodeStream2({ type: 'start', seriesId: 1, seriesUniqueId: 'u', channels: ['c'], pixelType: 'uint16', width: 4, height: 2, numberOfImages: 1 });
  const decoded = decodeStream2(start);
  t.is(decoded.type, 'start');
  refused(encodeStream2({ type: 'start', seriesId: -1, seriesUniqueId: 'u', channels: [], pixelType: 'uint16', width: 4, height: 2, numberOfImages: 1 }), /series_id: expected an unsigned integer, got -1; channels: expected a list of channel names/);
  refused(encode({ type: 'bogus', series_id: 1 }), /type: expected start, image or end, got "bogus"/);
  refused(encode([1, 2]), /expected a CBOR map, got an array of 2/);
  refused(encode({ type: 'start', series_id: 1, series_unique_id: 'u', channels: ['c'], image_dtype: 'uint8', image_size_x: 4, image_size_y: 2, number_of_images: 1 }), /image_dtype: expected one of uint16, uint32, int32, float32, got "uint8"/);
});

test('a truncated bslz4 payload decodes as a message and fails only where it is decoded, as input', (t) => {
  const frame = allocPixels('uint16', 64 * 32);
  frame.forEach((_, i) => (frame[i] = i % 7));
  const chunk = bslz4.encode({ data: frame, width: 64, height: 32 });
  const message = decodeStream2(encodeStream2({ type: 'image', seriesId: 1, seriesUniqueId: 'u', imageId: 0, data: [{ channel: 'c', width: 64, height: 32, pixelType: 'uint16', compression: 'bslz4', elemSize: 2, bytes: chunk.subarray(0, chunk.length - 7) }] })) as Stream2Image;
  const err = t.throws(() => bslz4.decode(message.data[0].bytes, allocPixels('uint16', 64 * 32)), { instanceOf: SxError });
  t.is(err!.tag, 'input');
});
