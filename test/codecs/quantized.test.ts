import test from 'ava';
import { BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import { dequantizeReference, quantizeReference } from '../../codecs/quantized-reference.ts';
import { QuantizedCodec, quantizeErrorBound, quantizeExact } from '../../codecs/quantized.ts';
import { SxError } from '../../src/errors.ts';
import { makeRandom, photonFrame, PIXEL_TYPES, poisson } from './helpers.ts';
import type { PixelArray } from '../../src/pixels.ts';

const STEPS = [0.01, 0.1, 0.5, 1, 1.5, 2];

/** The first pixel where two arrays differ (Object.is: NaN and -0 count), or undefined. */
function firstDifference(a: PixelArray, b: PixelArray): string | undefined {
  if (a.constructor !== b.constructor || a.length !== b.length) return `${a.constructor.name}(${a.length}) vs ${b.constructor.name}(${b.length})`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `pixel ${i}: ${a[i]} vs ${b[i]}`;
  return undefined;
}

for (const type of PIXEL_TYPES) {
  test(`${type}: native codes and decoded values equal the TypeScript reference bit for bit`, (t) => {
    const rand = makeRandom(7 + type.length);
    for (const step of [...STEPS, 0.37, 1.9999]) {
      const data = photonFrame(type, 20000, rand);
      const codec = QuantizedCodec.fromConfig({ id: 'quantized', step });
      const codes = codec.encode({ data, width: 200, height: 100 });
      t.is(firstDifference(codes.data, quantizeReference(data, step)), undefined, `codes, step ${step}`);
      t.is(firstDifference(codec.decode(codes).data, dequantizeReference(codes.data, step)), undefined, `decode, step ${step}`);
    }
  });

  test(`${type}: every pixel decodes within the documented bound; small counts, zeros and markers exactly`, (t) => {
    const rand = makeRandom(99 + type.length);
    for (const step of STEPS) {
      const data = photonFrame(type, 30000, rand);
      const codec = QuantizedCodec.fromConfig({ id: 'quantized', step });
      const back = codec.decode(codec.encode({ data, width: 300, height: 100 })).data;
      t.is(back.constructor, data.constructor);
      let worst = 0;
      for (let i = 0; i < data.length; i++) {
        const x = data[i];
        const y = back[i];
        // Documented special cases: negatives and NaN -> 0; float32 +Inf and > ~(2^23·step)² clamp.
        if (Number.isNaN(x) || x <= 0) {
          if (y !== 0) return t.fail(`step ${step} pixel ${i}: ${x} -> ${y}, expected 0`);
          continue;
        }
        if (type === 'float32' && x > 1e12) continue;
        if ((type === 'uint16' && x === 0xffff) || (type === 'uint32' && x === 0xffffffff) || (Number.isInteger(x) && x <= codec.exact)) {
          if (y !== x) return t.fail(`step ${step} pixel ${i}: ${x} -> ${y}, expected exact`);
          continue;
        }
        const err = Math.abs(y - x);
        const bound = quantizeErrorBound(x, step);
        if (!(err <= bound)) return t.fail(`step ${step} pixel ${i}: ${x} -> ${y}, error ${err} > bound ${bound}`);
        worst = Math.max(worst, err / bound);
      }
      t.true(worst <= 1, `step ${step}: worst error ${worst.toFixed(3)} of the bound`);
    }
  });
}

test('with step 1, counts 0..3 come back exactly and 0..exact are their own codes', (t) => {
  t.is(quantizeExact(1), 3);
  t.is(quantizeExact(2), 3);
  t.is(quantizeExact(0.1), 100);
  const codec = QuantizedCodec.fromConfig({ id: 'quantized', step: 1 });
  const data = Uint16Array.of(0, 1, 2, 3, 4, 5, 100, 1000, 65534, 65535);
  const codes = codec.encode({ data, width: 10, height: 1 });
  t.deepEqual([...codes.data.subarray(0, 4)], [0, 1, 2, 3]);
  const back = codec.decode(codes).data;
  t.deepEqual([...back.subarray(0, 4)], [0, 1, 2, 3]);
  t.is(back[9], 65535, 'the gap marker survives');
  t.true(back[8] <= 65534);
  // Monotone: larger counts never get smaller codes.
  for (let i = 1; i < 9; i++) t.true(codes.data[i] >= codes.data[i - 1]);
});

test('the documented examples hold', (t) => {
  t.deepEqual([...quantizeReference(Uint16Array.of(0, 3, 100), 1)], [0, 3, 20]);
  t.deepEqual([...dequantizeReference(Uint16Array.of(0, 3, 20), 1)], [0, 3, 104]);
});

test('the mask is carried along and the frame size kept', (t) => {
  const codec = QuantizedCodec.fromConfig({ id: 'quantized', step: 1 });
  const mask = Uint8Array.of(0, 1, 0, 0, 1, 0);
  const codes = codec.encode({ data: Uint32Array.of(1, 2, 3, 4, 5, 6), width: 3, height: 2, mask });
  t.is(codes.mask, mask);
  t.is(codes.width, 3);
  t.is(codes.height, 2);
  t.is(codec.decode(codes).mask, mask);
});

/** Shannon entropy in bits per pixel. */
function entropy(a: PixelArray): number {
  const counts = new Map<number, number>();
  for (const v of a) counts.set(v, (counts.get(v) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / a.length) * Math.log2(c / a.length);
  return h;
}

/** A 1M-pixel hit: Poisson background of `level` photons with a water ring, and 400 spots up to 10^4 photons. */
function photonHit(level: number, seed: number): Uint16Array {
  const rand = makeRandom(seed);
  const data = new Uint16Array(1024 * 1024);
  for (let y = 0; y < 1024; y++) {
    for (let x = 0; x < 1024; x++) {
      const r = Math.hypot(x - 512, y - 512);
      const mean = level * (1 + 3 * Math.exp(-(((r - 300) / 40) ** 2))) + (rand() < 0.0004 ? 1e4 * rand() : 0);
      data[y * 1024 + x] = poisson(mean, rand);
    }
  }
  return data;
}

// Minimum gains at step 1 over the counts: bitshuffle-lz4 size and entropy (measured 1.04/1.04 and 1.39/1.77).
for (const [level, minGain, minEntropyGain] of [[1, 1.0, 1.02], [20, 1.3, 1.6]] as const) {
  test(`codes of a hit with ${level}-photon background compress better than the counts (bitshuffle-lz4, entropy)`, (t) => {
    const data = photonHit(level, 2024 + level);
    const frame = { data, width: 1024, height: 1024 };
    const lossless = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
    const raw = lossless.encode(frame).length;
    for (const step of [1, 2]) {
      const codec = QuantizedCodec.fromConfig({ id: 'quantized', step });
      const codes = codec.encode(frame).data;
      const packed = lossless.encode({ ...frame, data: codes }).length;
      const back = codec.decode({ ...frame, data: codes }).data;
      let sumSq = 0;
      let worst = 0;
      for (let i = 0; i < data.length; i++) {
        const d = back[i] - data[i];
        sumSq += d * d;
        worst = Math.max(worst, Math.abs(d) / Math.sqrt(data[i] + 0.375));
      }
      t.log(
        `step ${step}: entropy ${entropy(data).toFixed(2)} -> ${entropy(codes).toFixed(2)} bits/pixel; ` +
          `bitshuffle-lz4 ${raw} -> ${packed} bytes (${(raw / packed).toFixed(2)}x more, ${((8 * packed) / data.length).toFixed(2)} bits/pixel; ` +
          `raw ${data.byteLength}); rms error ${Math.sqrt(sumSq / data.length).toFixed(3)} photons, worst |error|/sqrt(x + 3/8) ${worst.toFixed(3)}`,
      );
      // Counts 0..3 are exact, so on a ~1-photon background only the bright tail shrinks.
      if (step === 1) {
        t.true(raw / packed >= minGain, `bitshuffle-lz4 gain ${(raw / packed).toFixed(2)} >= ${minGain}`);
        t.true(entropy(data) / entropy(codes) >= minEntropyGain, `entropy gain >= ${minEntropyGain}`);
      }
      t.true(entropy(codes) < entropy(data));
      t.true(worst <= 0.5 + 1 / 16 + 0.5 / Math.sqrt(0.375), 'within the bound, in sigmas');
    }
  });
}

test('config round-trips and equal configs make equal codecs', (t) => {
  for (const step of STEPS) {
    const config = { id: 'quantized', step };
    t.deepEqual(QuantizedCodec.fromConfig(config).toConfig(), config);
    t.deepEqual(QuantizedCodec.fromConfig(config), QuantizedCodec.fromConfig({ ...config }));
  }
  const codec = QuantizedCodec.fromConfig({ id: 'quantized', step: 1 });
  t.is(codec.kind, 'array-to-array');
  t.false(codec.lossless);
  t.is(QuantizedCodec.id, 'quantized');
});

test('misuse: bad steps, unknown options, bad frames are SxError(usage) naming the problem', (t) => {
  for (const step of [0, -1, 0.001, 2.5, NaN, '1', undefined]) {
    const err = t.throws(() => QuantizedCodec.fromConfig({ id: 'quantized', step }), { instanceOf: SxError });
    t.is(err?.tag, 'usage');
    t.regex(err?.message ?? '', /Expected step to be a number from 0\.01 to 2/);
  }
  t.throws(() => QuantizedCodec.fromConfig({ id: 'quantized', step: 1, levels: 3 }), { message: /Unknown option "levels"/ });
  t.throws(() => QuantizedCodec.fromConfig({ id: 'binned', step: 1 }), { message: /Expected id "quantized"/ });
  const codec = QuantizedCodec.fromConfig({ id: 'quantized', step: 1 });
  t.throws(() => codec.encode({ data: new Uint16Array(5), width: 2, height: 2 }), { instanceOf: SxError, message: /Expected 2 x 2 = 4 pixels but received 5/ });
  t.throws(() => codec.encode({ data: new Float64Array(4) as unknown as Uint16Array, width: 2, height: 2 }), { instanceOf: SxError, message: /Expected frame data to be a Uint16Array/ });
  t.throws(() => codec.decode({ data: new Uint16Array(4), width: 2, height: 2, mask: new Uint8Array(3) }), { instanceOf: SxError, message: /Expected mask/ });
});
