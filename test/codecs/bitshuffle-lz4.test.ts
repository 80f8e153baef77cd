import test from 'ava';
import { bitshuffle, BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import {
  bitshuffleReference,
  bitunshuffleReference,
  defaultBlockSize,
} from '../../codecs/bitshuffle-reference.ts';
import { isSxError, SxError } from '../../src/errors.ts';
import { allocPixels, assertSameBytes, LENGTHS, makeRandom, PIXEL_TYPES, randomBytes, randomPixels, rowShape } from './lossless-helpers.ts';

const codec = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });

test('the reference follows the described bit layout', (t) => {
  // Element i's bit k of byte j lands in plane j * 8 + k at bit i.
  t.deepEqual([...bitshuffleReference(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0), 1)], [1, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual([...bitshuffleReference(Uint8Array.of(0, 1, 1, 1, 1, 1, 1, 1), 1)], [254, 0, 0, 0, 0, 0, 0, 0]);
  t.deepEqual([...bitshuffleReference(Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0, 0), 1)], [0, 0, 0, 0, 0, 0, 0, 1]);
  // uint16 0x0100 in element 3: byte 1 bit 0 -> plane 8, bit 3.
  const u16 = new Uint8Array(16);
  u16[3 * 2 + 1] = 1;
  const planes = bitshuffleReference(u16, 2);
  t.is(planes[8], 1 << 3);
  t.is(planes.reduce((a, b) => a + b, 0), 8);
  // Fewer than 8 elements are copied unchanged.
  t.deepEqual([...bitshuffleReference(Uint8Array.of(1, 2, 3), 1)], [1, 2, 3]);
  t.is(defaultBlockSize(1), 8192);
  t.is(defaultBlockSize(2), 4096);
  t.is(defaultBlockSize(4), 2048);
  t.is(defaultBlockSize(8), 1024);
  t.is(defaultBlockSize(128), 128);
});

test('the native transpose equals the reference for every element size, length and block size', (t) => {
  for (const elemSize of [1, 2, 3, 4, 8]) {
    for (const n of LENGTHS.filter((x) => x * elemSize <= 200_000)) {
      for (const blockSize of [0, 8, 64, 136]) {
        const input = randomBytes(n * elemSize, n + elemSize);
        const expected = bitshuffleReference(input, elemSize, blockSize);
        const planes = bitshuffle(input, elemSize, blockSize);
        assertSameBytes(t, planes, expected, `shuffle elemSize ${elemSize}, n ${n}, block ${blockSize}`);
        assertSameBytes(t, bitshuffle(planes, elemSize, blockSize, true), input, `unshuffle ${elemSize} ${n} ${blockSize}`);
        assertSameBytes(t, bitunshuffleReference(planes, elemSize, blockSize), input);
      }
    }
  }
});

test('round-trips every pixel type and length, including empty and odd lengths', (t) => {
  for (const type of PIXEL_TYPES) {
    for (const n of LENGTHS) {
      const data = randomPixels(type, n, n + 3);
      const shape = rowShape(n, type);
      const chunk = codec.encode({ data, width: shape.width, height: shape.height });
      const back = codec.decode(chunk, shape);
      t.is(back.data.constructor, data.constructor);
      assertSameBytes(t, back.data, data, `${type} x ${n}`);
      t.deepEqual([back.width, back.height], [shape.width, shape.height]);
    }
  }
});

test('writes the HDF5 filter chunk header and block records', (t) => {
  const data = randomPixels('uint16', 4096 * 2 + 21, 5); // 2 full blocks, a block of 16, 5 left over
  const chunk = codec.encode({ data, width: data.length, height: 1 });
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  t.is(view.getBigUint64(0, false), BigInt(data.byteLength));
  t.is(view.getUint32(8, false), 8192);
  let pos = 12;
  for (let block = 0; block < 3; block++) pos += 4 + view.getUint32(pos, false);
  t.is(chunk.length - pos, 5 * 2, 'the last 5 pixels follow raw');
  assertSameBytes(t, chunk.subarray(pos), data.subarray(data.length - 5));
});

test('a custom block size round-trips and is recorded in bytes', (t) => {
  const custom = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4', blockSize: 128 });
  const data = randomPixels('float32', 1001, 9);
  const chunk = custom.encode({ data, width: 1001, height: 1 });
  t.is(new DataView(chunk.buffer, chunk.byteOffset).getUint32(8, false), 512);
  // Decoding reads the block size from the chunk, so any instance decodes it.
  assertSameBytes(t, codec.decode(chunk, rowShape(1001, 'float32')).data, data);
});

test('decodes into the caller\'s array', (t) => {
  const data = randomPixels('int32', 3000, 2);
  const chunk = codec.encode({ data, width: 60, height: 50 });
  const out = new Int32Array(3000);
  const back = codec.decode(chunk, { width: 60, height: 50, pixelType: 'int32' }, out);
  t.is(back.data, out);
  assertSameBytes(t, out, data);
  const error = t.throws(() => codec.decode(chunk, { width: 60, height: 50, pixelType: 'int32' }, new Float32Array(3000)));
  t.true(isSxError(error, 'usage'));
  t.regex(error.message, /^bitshuffle-lz4 decode: Expected out to be a int32 array of 3000 pixels/);
});

test('config round-trips and equal configs behave equally', (t) => {
  for (const config of [{ id: 'bitshuffle-lz4' }, { id: 'bitshuffle-lz4', blockSize: 0 }, { id: 'bitshuffle-lz4', blockSize: 1024 }]) {
    t.deepEqual(BitshuffleLz4Codec.fromConfig(config).toConfig(), config);
    const data = randomPixels('uint16', 5000, 4);
    const a = BitshuffleLz4Codec.fromConfig(config).encode({ data, width: 5000, height: 1 });
    const b = BitshuffleLz4Codec.fromConfig(structuredClone(config)).encode({ data, width: 5000, height: 1 });
    assertSameBytes(t, a, b);
  }
  const first = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4', blockSize: 64 });
  const config = first.toConfig();
  config.blockSize = 8;
  t.deepEqual(first.toConfig(), { id: 'bitshuffle-lz4', blockSize: 64 }, 'toConfig returns a copy');
});

test('rejects bad configs with every problem listed', (t) => {
  const error = t.throws(() => BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4', blockSize: 12, level: 3 }));
  t.true(isSxError(error, 'usage'));
  t.regex(error.message, /Expected blockSize 0 \(automatic\) or a multiple of 8 up to 16777216 for bitshuffle-lz4 but received 12/);
  t.regex(error.message, /Unknown option "level" for bitshuffle-lz4; expected blockSize/);
  t.throws(() => BitshuffleLz4Codec.fromConfig({ id: 'zstd' }), { message: /Expected id "bitshuffle-lz4" but received "zstd"/ });
  t.throws(() => BitshuffleLz4Codec.fromConfig(null as never), { instanceOf: SxError });
});

test('rejects misuse of encode and decode with usage errors', (t) => {
  t.throws(() => codec.encode({ data: new Float64Array(4) as never, width: 4, height: 1 }), {
    message: /^bitshuffle-lz4 encode: Expected frame data to be a Uint16Array/,
  });
  t.throws(() => codec.encode({ data: new Uint16Array(4), width: 3, height: 1 }), {
    message: /^bitshuffle-lz4 encode: Expected 3 x 1 = 3 pixels but received 4/,
  });
  t.throws(() => codec.decode(new Uint8Array(12), { width: 1, height: 1, pixelType: 'uint8' as never }), {
    message: /^bitshuffle-lz4 decode: Expected pixelType uint16, uint32, int32, float32 but received "uint8"/,
  });
  t.throws(() => codec.decode([1, 2] as never, rowShape(1, 'uint16')), { message: /Expected bytes to be a Uint8Array but received \[1,2\]/ });
});

test('corrupt or mismatched chunks raise SxError naming the codec and direction, never crash', (t) => {
  const data = randomPixels('uint16', 10_007, 7);
  const shape = rowShape(10_007, 'uint16');
  const chunk = codec.encode({ data, width: shape.width, height: shape.height });
  const expectInput = (input: Uint8Array, s = shape, pattern = /^bitshuffle-lz4 decode: /) => {
    const error = t.throws(() => codec.decode(input, s));
    t.true(isSxError(error, 'input'), error.message);
    t.regex(error.message, pattern);
  };
  expectInput(chunk.subarray(0, 5), shape, /shorter than its 12-byte header/);
  expectInput(chunk.subarray(0, 12), shape, /chunk ends inside the block/);
  expectInput(chunk.subarray(0, chunk.length - 1), shape);
  expectInput(chunk.subarray(0, 200), shape, /claims \d+ bytes but only \d+ remain/);
  expectInput(Uint8Array.from([...chunk, 0]), shape, /expected 14 trailing bytes after the blocks but found 15/);
  expectInput(chunk, rowShape(10_000, 'uint16'), /the chunk holds 20014 bytes but 10000 x 1 uint16 needs 20000/);
  expectInput(chunk, rowShape(10_007, 'float32'), /the chunk holds 20014 bytes but 10007 x 1 float32 needs 40028/);
  const badBlock = chunk.slice();
  new DataView(badBlock.buffer).setUint32(8, 8190, false);
  expectInput(badBlock, shape, /invalid block size of 8190 bytes/);
  const zeroBlock = chunk.slice();
  new DataView(zeroBlock.buffer).setUint32(8, 0, false);
  expectInput(zeroBlock, shape, /invalid block size of 0 bytes/);
  const err = t.throws(() => codec.decode(chunk.subarray(0, 100), shape));
  t.true(err.cause instanceof Error, 'the addon error is the cause');

  // Random damage anywhere: either an SxError('input') or (if LZ4 happens to accept it) pixels.
  const rand = makeRandom(11);
  for (let trial = 0; trial < 300; trial++) {
    const damaged = chunk.slice();
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) damaged[Math.floor(rand() * damaged.length)] = Math.floor(rand() * 256);
    try {
      const out = codec.decode(damaged, shape);
      t.is(out.data.length, 10_007);
    } catch (error) {
      t.true(isSxError(error, 'input'), String(error));
    }
  }
});

test('decodes frames with 0 pixels and width x height shapes', (t) => {
  const empty = codec.encode({ data: allocPixels('float32', 0), width: 0, height: 0 });
  t.is(empty.length, 12);
  t.is(codec.decode(empty, { width: 0, height: 0, pixelType: 'float32' }).data.length, 0);
  const data = randomPixels('uint32', 37 * 53, 8);
  const chunk = codec.encode({ data, width: 37, height: 53 });
  assertSameBytes(t, codec.decode(chunk, { width: 37, height: 53, pixelType: 'uint32' }).data, data);
});
