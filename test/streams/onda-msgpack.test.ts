// CrystFEL/OnDA MessagePack frames over real ZeroMQ (PUB/SUB, as OnDA publishes and CrystFEL's
// --zmq-input subscribes): the pixels and peaks sent come out bit for bit; bad messages are
// refused with what is wrong.
import test from 'ava';
import { encode } from '@msgpack/msgpack';
import { join } from 'node:path';
import { Publisher, Subscriber } from 'zeromq';
import { SxError } from '../../src/errors.ts';
import { decodeMsgpackFrame, encodeMsgpackFrame, type MsgpackFrame } from '../../src/streams/onda-msgpack.ts';
import { tempDir } from '../helpers/tmp.ts';

const frameOf = (i: number): MsgpackFrame => {
  const pixels = Float32Array.from({ length: 64 * 32 }, (_, k) => ((k * 31 + i * 7) % 97) + 0.25);
  return { width: 64, height: 32, pixelType: 'float32', bytes: new Uint8Array(pixels.buffer), peaks: { fs: [3.5, 10], ss: [4, 20.25], intensity: [100, 2500] }, values: { event: `frame-${i}`, photon_energy_eV: 9000 + i } };
};

test('frames published over PUB/SUB (ipc) decode to the pixels, peaks and values sent', async (t) => {
  const endpoint = `ipc://${join(tempDir(t), 'onda')}`;
  const pub = new Publisher();
  const sub = new Subscriber({ receiveTimeout: 20_000 });
  await pub.bind(endpoint);
  sub.connect(endpoint);
  sub.subscribe();
  try {
    // A subscriber joins late (PUB/SUB drops what it sends before): publish until one arrives.
    let joined = false;
    const first = sub.receive().then(() => (joined = true));
    while (!joined) {
      await pub.send(encodeMsgpackFrame(frameOf(0)));
      await new Promise((done) => setTimeout(done, 20));
    }
    await first;
    for (let i = 1; i <= 5; i++) await pub.send(encodeMsgpackFrame(frameOf(i)));
    const received: MsgpackFrame[] = [];
    while (received.length < 5) {
      const m = decodeMsgpackFrame((await sub.receive())[0]);
      if (m.values.event !== 'frame-0') received.push(m);
    }
    for (const [k, m] of received.entries()) {
      const sent = frameOf(k + 1);
      t.like(m, { width: 64, height: 32, pixelType: 'float32', values: sent.values, peaks: sent.peaks });
      t.true(Buffer.from(m.bytes).equals(Buffer.from(sent.bytes)), `frame ${k + 1}: pixels bit for bit`);
    }
  } finally {
    pub.close();
    sub.close();
  }
});

test('an array whose first element is the frame map, other keys, and int32 frames as CrystFEL reads them', (t) => {
  const pixels = new Int32Array([1, -2, 3, 4, 5, 6]);
  const message = encode([{ image: { type: '<i4', shape: [2, 3], data: new Uint8Array(pixels.buffer) }, peaks: { fs: [], ss: [], intensity: [] } }, 'ignored']);
  const frame = decodeMsgpackFrame(message, { data: 'image', peakList: 'peaks' });
  t.like(frame, { width: 3, height: 2, pixelType: 'int32', peaks: { fs: [], ss: [], intensity: [] }, values: {} });
  t.deepEqual([...new Int32Array(Uint8Array.from(frame.bytes).buffer)], [...pixels]);
  t.throws(() => encodeMsgpackFrame({ ...frame, pixelType: 'uint16' }), { instanceOf: SxError, message: /int32 or float32/ });
});

test('malformed messages are refused with what is wrong', (t) => {
  const refused = (bytes: Uint8Array, expected: RegExp) => {
    const err = t.throws(() => decodeMsgpackFrame(bytes), { instanceOf: SxError });
    t.is(err!.tag, 'input');
    t.regex(err!.message, expected);
  };
  refused(new Uint8Array([0xc1]), /does not decode/);
  refused(encode('text'), /expected a map \(or an array starting with one\), got "text"/);
  refused(encode({ other: 1 }), /data: expected a map of type, shape and data, got nothing/);
  refused(encode({ data: { type: '<u2', shape: [2, 2], data: new Uint8Array(8) } }), /data\.type: expected <i4 or <f4, got "<u2"/);
  refused(encode({ data: { type: '<f4', shape: [2, 2], data: new Uint8Array(15) } }), /data\.data: 2 x 2 float32 needs 16 bytes, got 15/);
  refused(encode({ data: { type: '<f4', shape: [2], data: new Uint8Array(16) } }), /data\.shape: expected \[ss, fs\], got an array of 1/);
  refused(encode({ data: { type: '<f4', shape: [2, 2], data: new Uint8Array(16) }, peak_list: { fs: [1], ss: [] } }), /peak_list: expected a map of equally long number arrays/);
});
