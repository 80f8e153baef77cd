// zstd and blosc (bytes-to-bytes) and none (raw little-endian pixels).
import test from 'ava';
import { BLOSC_CNAMES, BLOSC_SHUFFLES, BloscCodec } from '../../codecs/blosc.ts';
import { bytesOf } from '../../codecs/codec-support.ts';
import { NoneCodec } from '../../codecs/none.ts';
import { ZstdCodec } from '../../codecs/zstd.ts';
import { isSxError } from '../../src/errors.ts';
import { assertSameBytes, LENGTHS, makeRandom, PIXEL_TYPES, randomBytes, randomPixels, rowShape } from './lossless-helpers.ts';

const CODECS = [
  ['zstd', ZstdCodec.fromConfig({ id: 'zstd' })],
  ['zstd level 19', ZstdCodec.fromConfig({ id: 'zstd', level: 19 })],
  ['blosc', BloscCodec.fromConfig({ id: 'blosc' })],
  ['blosc zstd bitshuffle', BloscCodec.fromConfig({ id: 'blosc', cname: 'zstd', shuffle: 'bitshuffle', typesize: 2 })],
] as const;

for (const [name, codec] of CODECS) {
  test(`${name}: round-trips the bytes of every pixel type and length`, (t) => {
    for (const type of PIXEL_TYPES) {
      for (const n of LENGTHS) {
        const input = bytesOf(randomPixels(type, n, n + 1));
        const packed = codec.encode(input);
        assertSameBytes(t, codec.decode(packed), input, `${type} x ${n}`);
      }
    }
  });

  test(`${name}: decodes into the caller's buffer`, (t) => {
    const input = randomBytes(10_000, 3);
    const packed = codec.encode(input);
    const out = new Uint8Array(10_000);
    t.is(codec.decode(packed, out), out);
    assertSameBytes(t, out, input);
    const larger = new Uint8Array(12_000);
    const view = codec.decode(packed, larger);
    t.is(view.buffer, larger.buffer);
    t.is(view.length, 10_000);
    const error = t.throws(() => codec.decode(packed, new Uint8Array(9_999)));
    t.true(isSxError(error, 'input'));
    t.regex(error.message, new RegExp(`^${codec.id} decode: `));
  });

  test(`${name}: corrupt input raises SxError('input') naming the codec, never crashes`, (t) => {
    const input = randomBytes(50_000, 4);
    const packed = codec.encode(input);
    for (const bad of [new Uint8Array(0), packed.subarray(0, 3), packed.subarray(0, packed.length - 1), packed.subarray(0, 20), Uint8Array.from([...packed, 1, 2])]) {
      const error = t.throws(() => codec.decode(bad), undefined, `${bad.length} bytes`);
      t.true(isSxError(error, 'input'), error.message);
      t.regex(error.message, new RegExp(`^${codec.id} decode: `));
    }
    const rand = makeRandom(5);
    for (let trial = 0; trial < 300; trial++) {
      const damaged = packed.slice();
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) damaged[Math.floor(rand() * damaged.length)] = Math.floor(rand() * 256);
      try {
        codec.decode(damaged);
      } catch (error) {
        t.true(isSxError(error, 'input'), String(error));
      }
    }
  });
}

test('zstd: config round-trips, equal configs behave equally, bad levels are named', (t) => {
  for (const config of [{ id: 'zstd' }, { id: 'zstd', level: 1 }, { id: 'zstd', level: 22 }]) {
    t.deepEqual(ZstdCodec.fromConfig(config).toConfig(), config);
    const input = randomBytes(20_000, 6);
    assertSameBytes(t, ZstdCodec.fromConfig(config).encode(input), ZstdCodec.fromConfig({ ...config }).encode(input));
  }
  const error = t.throws(() => ZstdCodec.fromConfig({ id: 'zstd', level: 40 }));
  t.true(isSxError(error, 'usage'));
  t.is(error.message, 'Expected level 1..22 for zstd but received 40');
  t.throws(() => ZstdCodec.fromConfig({ id: 'zstd', level: 2.5, extra: true }), {
    message: 'Expected level 1..22 for zstd but received 2.5; Unknown option "extra" for zstd; expected level',
  });
  t.throws(() => ZstdCodec.fromConfig({ id: 'zstd', level: '3' }), { message: /received "3"/ });
});

test('zstd: a higher level compresses detector bytes at least as well', (t) => {
  const input = bytesOf(randomPixels('uint16', 100_000, 2));
  const fast = ZstdCodec.fromConfig({ id: 'zstd', level: 1 }).encode(input).length;
  const small = ZstdCodec.fromConfig({ id: 'zstd', level: 19 }).encode(input).length;
  t.true(small <= fast, `${small} <= ${fast}`);
  t.true(fast < input.length / 2);
});

test('blosc: every compressor and shuffle round-trips; config round-trips', (t) => {
  const input = bytesOf(randomPixels('uint16', 30_001, 3));
  for (const cname of BLOSC_CNAMES) {
    for (const shuffle of BLOSC_SHUFFLES) {
      const config = { id: 'blosc', cname, clevel: 5, shuffle, typesize: 2, blocksize: 0 };
      const codec = BloscCodec.fromConfig(config);
      t.deepEqual(codec.toConfig(), config);
      assertSameBytes(t, codec.decode(codec.encode(input)), input, `${cname} ${shuffle}`);
    }
  }
  t.deepEqual(BloscCodec.fromConfig({ id: 'blosc' }).toConfig(), { id: 'blosc' });
  const error = t.throws(() => BloscCodec.fromConfig({ id: 'blosc', cname: 'lz5', clevel: 10, shuffle: 1, typesize: 0 }));
  t.true(isSxError(error, 'usage'));
  t.is(
    error.message,
    'Expected cname blosclz, lz4, lz4hc, zlib, zstd for blosc but received "lz5"; Expected clevel 0..9 for blosc but received 10; ' +
      'Expected shuffle noshuffle, shuffle, bitshuffle for blosc but received 1; Expected typesize 1..255 for blosc but received 0',
  );
});

test('none: raw little-endian bytes, copied, for every pixel type and length', (t) => {
  const none = NoneCodec.fromConfig({ id: 'none' });
  t.deepEqual(none.toConfig(), { id: 'none' });
  t.deepEqual([...none.encode({ data: Uint16Array.of(1, 0x0203), width: 2, height: 1 })], [1, 0, 3, 2]);
  for (const type of PIXEL_TYPES) {
    for (const n of LENGTHS) {
      const data = randomPixels(type, n, n);
      const shape = rowShape(n, type);
      const raw = none.encode({ data, width: shape.width, height: shape.height });
      t.not(raw.buffer, data.buffer);
      assertSameBytes(t, raw, data);
      assertSameBytes(t, none.decode(raw, shape).data, data);
    }
  }
  // Unaligned input bytes decode too (they are copied, not viewed).
  const data = randomPixels('float32', 9, 1);
  const shifted = new Uint8Array(37);
  shifted.set(bytesOf(data), 1);
  const out = new Float32Array(9);
  t.is(none.decode(shifted.subarray(1), rowShape(9, 'float32'), out).data, out);
  assertSameBytes(t, out, data);
  const error = t.throws(() => none.decode(new Uint8Array(7), rowShape(4, 'uint16')));
  t.true(isSxError(error, 'input'));
  t.is(error.message, 'none decode: received 7 bytes but 4 x 1 uint16 needs 8');
  t.throws(() => NoneCodec.fromConfig({ id: 'none', level: 1 }), { message: 'Unknown option "level" for none; it takes no options' });
});
