import test from 'ava';
import { BinnedCodec } from '../../codecs/binned.ts';
import { SxError } from '../../src/errors.ts';
import { binFrameReference } from '../../src/reduce/binning-reference.ts';
import { makeRandom, poisson } from './helpers.ts';
import type { PixelArray } from '../../src/pixels.ts';

const FACTORS = [2, 3, 4] as const;

function photonFrame(width: number, height: number, seed: number, type: 'uint16' | 'uint32' | 'int32' | 'float32'): PixelArray {
  const rand = makeRandom(seed);
  const values = Array.from({ length: width * height }, () => poisson(rand() < 0.01 ? 500 : 1.5, rand));
  switch (type) {
    case 'uint16': return Uint16Array.from(values);
    case 'uint32': return Uint32Array.from(values);
    case 'int32': return Int32Array.from(values);
    case 'float32': return Float32Array.from(values, (v) => v + 0.25);
  }
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

for (const factor of FACTORS) {
  test(`factor ${factor}: without a mask, binning keeps every count (even sizes)`, (t) => {
    const width = 12 * 5;
    const height = 12 * 3;
    for (const type of ['uint16', 'uint32', 'int32', 'float32'] as const) {
      const data = photonFrame(width, height, factor * 10 + type.length, type);
      const out = BinnedCodec.fromConfig({ id: 'binned', factor }).encode({ data, width, height });
      t.is(out.width, width / factor);
      t.is(out.height, height / factor);
      t.is(out.data.length, (width * height) / factor ** 2);
      t.is(sum(out.mask!), 0, 'no bad bins');
      t.is(sum(out.data), sum(data), `${type}: total counts conserved`);
    }
  });

  test(`factor ${factor}: with a mask, full good bins hold exactly the sum of their pixels; the rest match the reference`, (t) => {
    const width = 131;
    const height = 67;
    const rand = makeRandom(factor);
    const data = photonFrame(width, height, 100 + factor, 'uint16');
    const mask = Uint8Array.from({ length: width * height }, () => (rand() < 0.03 ? 1 : 0));
    for (const minGood of [undefined, 1, factor * factor - 1]) {
      const codec = BinnedCodec.fromConfig({ id: 'binned', factor, ...(minGood === undefined ? {} : { minGood }) });
      const out = codec.encode({ data, width, height, mask });
      const ref = binFrameReference(data as Uint16Array, { width, height, factor, mask, minGood: codec.minGood });
      t.deepEqual(out.data, ref.data);
      t.deepEqual(out.mask, ref.badMask);
      let checked = 0;
      for (let oy = 0; oy < out.height; oy++) {
        for (let ox = 0; ox < out.width; ox++) {
          let s = 0;
          let good = 0;
          for (let y = oy * factor; y < Math.min(height, oy * factor + factor); y++) {
            for (let x = ox * factor; x < Math.min(width, ox * factor + factor); x++) {
              if (mask[y * width + x] === 0) {
                s += data[y * width + x];
                good++;
              }
            }
          }
          const o = oy * out.width + ox;
          if (good === factor * factor) {
            t.is(out.mask![o], 0);
            if (out.data[o] !== s) return t.fail(`bin ${ox},${oy}: ${out.data[o]} != ${s}`);
            checked++;
          } else if (good < codec.minGood) {
            t.is(out.mask![o], 1);
            t.is(out.data[o], 0);
          }
        }
      }
      t.true(checked > 100);
    }
  });
}

test('reuse: an earlier result of the same shape is overwritten with exactly a fresh result; one that does not fit is left alone', (t) => {
  const width = 131;
  const height = 67;
  const rand = makeRandom(7);
  const codec = BinnedCodec.fromConfig({ id: 'binned', factor: 2 });
  const mask = Uint8Array.from({ length: width * height }, () => (rand() < 0.03 ? 1 : 0));
  const first = codec.encode({ data: photonFrame(width, height, 1, 'uint16'), width, height, mask });
  // The first frame's bad bins differ from the second's: stale values or marks would show.
  const second = { data: photonFrame(width, height, 2, 'uint16'), width, height, mask: mask.map((m, i) => (i % 7 === 0 ? 1 - m : m)) };
  const fresh = codec.encode(second);
  const firstData = first.data;
  const reused = codec.encode(second, undefined, first);
  t.is(reused.data, firstData, 'the earlier arrays are filled again');
  t.deepEqual(reused.data, fresh.data);
  t.deepEqual(reused.mask, fresh.mask);
  const other = codec.encode({ data: photonFrame(64, 32, 3, 'uint16'), width: 64, height: 32 }, undefined, fresh);
  t.not(other.data, fresh.data, 'another size gets its own arrays');
  t.deepEqual(fresh.data, codec.encode(second).data, 'and the one given is unchanged');
  const float = codec.encode({ data: photonFrame(width, height, 2, 'float32'), width, height }, undefined, fresh);
  t.true(float.data instanceof Float32Array, 'another pixel type gets its own arrays');
});

test('decode returns the binned frame itself; partial edge bins are bad by default', (t) => {
  const codec = BinnedCodec.fromConfig({ id: 'binned', factor: 2 });
  const out = codec.encode({ data: new Uint16Array(15).fill(1), width: 5, height: 3 });
  t.is(codec.decode(out), out);
  t.deepEqual([...out.data], [4, 4, 0, 0, 0, 0]);
  t.deepEqual([...out.mask!], [0, 0, 1, 1, 1, 1]);
  t.true(out.data instanceof Uint32Array, 'uint16 bins to 32 bits');
});

test('config round-trips; minGood defaults to factor² and is always written', (t) => {
  for (const factor of FACTORS) {
    const full = { id: 'binned', factor, minGood: factor * factor - 1 };
    t.deepEqual(BinnedCodec.fromConfig(full).toConfig(), full);
    t.deepEqual(BinnedCodec.fromConfig({ id: 'binned', factor }).toConfig(), { id: 'binned', factor, minGood: factor * factor });
    t.deepEqual(BinnedCodec.fromConfig({ id: 'binned', factor }), BinnedCodec.fromConfig({ id: 'binned', factor, minGood: factor * factor }));
  }
  const codec = BinnedCodec.fromConfig({ id: 'binned', factor: 2 });
  t.is(codec.kind, 'array-to-array');
  t.false(codec.lossless);
});

test('misuse: bad factor, minGood, options and frames are SxError(usage)', (t) => {
  for (const factor of [1, 5, 2.5, '2', undefined, 0]) {
    const err = t.throws(() => BinnedCodec.fromConfig({ id: 'binned', factor }), { instanceOf: SxError });
    t.is(err?.tag, 'usage');
    t.regex(err?.message ?? '', /Expected factor 2, 3 or 4 for codec binned/);
  }
  t.throws(() => BinnedCodec.fromConfig({ id: 'binned', factor: 2, minGood: 5 }), { message: /Expected minGood to be an integer from 1 to 4/ });
  t.throws(() => BinnedCodec.fromConfig({ id: 'binned', factor: 3, minGood: 0 }), { message: /from 1 to 9/ });
  t.throws(() => BinnedCodec.fromConfig({ id: 'binned', factor: 2, size: 2 }), { message: /Unknown option "size"/ });
  const both = t.throws(() => BinnedCodec.fromConfig({ id: 'binned', factor: 7, minGood: -1 }), { instanceOf: SxError });
  t.regex(both?.message ?? '', /factor.*minGood/, 'every problem reported');
  const codec = BinnedCodec.fromConfig({ id: 'binned', factor: 2 });
  t.throws(() => codec.encode({ data: new Uint16Array(5), width: 2, height: 2 }), { instanceOf: SxError, message: /Expected a frame of 2 x 2 = 4 pixels/ });
  t.throws(() => codec.encode({ data: new Uint16Array(4), width: 2, height: 2, mask: new Uint8Array(3) }), { instanceOf: SxError, message: /mask/ });
});
