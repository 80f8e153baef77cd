import test from 'ava';
import { SxError } from '../../src/errors.ts';
import { loadNative } from '../../src/native.ts';
import {
  binFrame,
  type BinFactor,
  type BinFrameOptions,
  type BinnableFrame,
} from '../../src/reduce/binning.ts';
import { binFrameReference } from '../../src/reduce/binning-reference.ts';
import { makeRandom } from '../helpers/random.ts';

const IMPLEMENTATIONS = [
  ['native', binFrame],
  ['reference', binFrameReference],
] as const;

const FACTORS: BinFactor[] = [2, 3, 4];


type Kind = 'uint16' | 'uint32' | 'int32' | 'float32';

/** Random pixels with the extremes each type must survive: saturated, negative, NaN/Inf, huge. */
function randomFrame(kind: Kind, n: number, rand: () => number): BinnableFrame {
  const pick = (special: number[], normal: () => number) => {
    const r = rand();
    return r < 0.01 * special.length ? special[Math.floor(r * 100)] : normal();
  };
  switch (kind) {
    case 'uint16':
      return Uint16Array.from({ length: n }, () => pick([0xffff, 60000], () => Math.floor(rand() * 5000)));
    case 'uint32':
      return Uint32Array.from({ length: n }, () => pick([0xffffffff], () => Math.floor(rand() * 2 ** 32)));
    case 'int32':
      return Int32Array.from({ length: n }, () =>
        pick([0x7fffffff, -0x80000000], () => Math.floor(rand() * 2 ** 32) - 2 ** 31),
      );
    case 'float32':
      return Float32Array.from({ length: n }, () =>
        pick([NaN, Infinity, -Infinity, 3e38], () => (rand() - 0.3) * 1e4),
      );
  }
}

/** ~5 % random bad pixels, and optionally a masked band of whole bins. */
function randomMask(n: number, width: number, factor: number, band: boolean, rand: () => number) {
  const mask = Uint8Array.from({ length: n }, () => (rand() < 0.05 ? 1 : 0));
  if (band) mask.fill(1, 0, Math.min(n, factor * width));
  return mask;
}

const SATURATIONS: Record<Kind, (number | undefined)[]> = {
  // Fractional, negative and out-of-range limits too: integer kernels compare v >= ceil(saturation).
  uint16: [undefined, 4000, 3999.5, 70000, -Infinity],
  uint32: [undefined, 3e9, 0.25],
  int32: [undefined, 1e9, Infinity, -2.5, -Infinity],
  float32: [undefined, 4000],
};

const SIZES: [number, number][] = [
  [7, 5], [1, 1], [13, 10], [2068, 31], [2, 3], [3, 2], [4, 4], [5, 1], [1, 9], [16, 12], [31, 17],
];

/** The first difference between two binning results, or undefined. */
function compareResults(a: ReturnType<typeof binFrame>, b: ReturnType<typeof binFrame>): string | undefined {
  if (a.data.constructor !== b.data.constructor) return `type ${a.data.constructor.name} vs ${b.data.constructor.name}`;
  if (a.width !== b.width || a.height !== b.height) return `size ${a.width}x${a.height} vs ${b.width}x${b.height}`;
  if (a.nBad !== b.nBad) return `nBad ${a.nBad} vs ${b.nBad}`;
  for (let i = 0; i < a.data.length; i++) {
    if (!Object.is(a.data[i], b.data[i]) || a.badMask[i] !== b.badMask[i]) {
      return `bin ${i}: ${a.data[i]}/${a.badMask[i]} vs ${b.data[i]}/${b.badMask[i]}`;
    }
  }
  return undefined;
}

for (const kind of ['uint16', 'uint32', 'int32', 'float32'] as const) {
  for (const factor of FACTORS) {
    test(`native equals reference: ${kind}, factor ${factor}`, (t) => {
      const rand = makeRandom(factor * 1000 + kind.length);
      const mismatches: string[] = [];
      let bins = 0;
      let bad = 0;
      for (const [width, height] of SIZES) {
        const n = width * height;
        const frame = randomFrame(kind, n, rand);
        const masks = {
          none: undefined,
          random: randomMask(n, width, factor, false, rand),
          band: randomMask(n, width, factor, true, rand),
        };
        for (const [maskName, mask] of Object.entries(masks)) {
          for (const minGood of [undefined, 1, Math.ceil((factor * factor) / 2)]) {
            for (const saturation of SATURATIONS[kind]) {
              const options: BinFrameOptions = { width, height, factor, mask, minGood, saturation };
              const native = binFrame(frame, options);
              const reference = binFrameReference(frame, options);
              const difference = compareResults(native, reference);
              const label = `${width}x${height} mask=${maskName} minGood=${minGood} saturation=${saturation}`;
              if (difference !== undefined) mismatches.push(`${label}: ${difference}`);
              const counted = native.badMask.reduce((s, v) => s + v, 0);
              if (counted !== native.nBad) mismatches.push(`${label}: nBad ${native.nBad} vs ${counted} flags`);
              bins += native.data.length;
              bad += native.nBad;
            }
          }
        }
      }
      t.deepEqual(mismatches, []);
      // Guards against a vacuous comparison, e.g. everything bad and zero.
      t.true(bad > 0.05 * bins && bad < 0.8 * bins, `${bad} of ${bins} bins bad`);
    });
  }
}

const ONE_TO_16 = Uint16Array.from({ length: 16 }, (_, i) => i + 1);

for (const [name, bin] of IMPLEMENTATIONS) {
  test(`${name}: 4x4 uint16 binned 2x2 gives the block sums`, (t) => {
    const binned = bin(ONE_TO_16, { width: 4, height: 4, factor: 2 });
    t.true(binned.data instanceof Uint32Array);
    t.deepEqual([...binned.data], [1 + 2 + 5 + 6, 3 + 4 + 7 + 8, 9 + 10 + 13 + 14, 11 + 12 + 15 + 16]);
    t.deepEqual([...binned.badMask], [0, 0, 0, 0]);
    t.deepEqual([binned.width, binned.height, binned.nBad], [2, 2, 0]);
  });

  test(`${name}: masked pixels rescale by factor² / nGood, rounded to nearest`, (t) => {
    const mask = new Uint8Array(16);
    mask[0] = 1; // bin 0 keeps 2 + 5 + 6 = 13 -> 13 * 4 / 3 = 17.33
    mask[7] = 1; // bin 1 keeps 3 + 4 + 7 = 14 -> 14 * 4 / 3 = 18.67
    const binned = bin(ONE_TO_16, { width: 4, height: 4, factor: 2, mask, minGood: 3 });
    t.deepEqual([...binned.data], [17, 19, 46, 54]);
    t.is(binned.nBad, 0);
    const strict = bin(ONE_TO_16, { width: 4, height: 4, factor: 2, mask });
    t.deepEqual([...strict.data], [0, 0, 46, 54]);
    t.deepEqual([...strict.badMask], [1, 1, 0, 0]);
  });

  test(`${name}: halves round away from zero`, (t) => {
    const mask = new Uint8Array(9).fill(1);
    mask[0] = mask[4] = 0; // two good pixels of nine: value = sum * 9 / 2
    const options = { width: 3, height: 3, factor: 3, mask, minGood: 2 } as const;
    const u16 = new Uint16Array(9);
    u16[4] = 1;
    t.deepEqual([...bin(u16, options).data], [5]);
    const i32 = new Int32Array(9);
    i32[4] = -1;
    t.deepEqual([...bin(i32, options).data], [-5]);
    const f32 = new Float32Array(9);
    f32[4] = -1;
    t.deepEqual([...bin(f32, options).data], [-4.5]);
  });

  test(`${name}: a saturated good pixel marks its bin bad, a masked one does not`, (t) => {
    const frame = ONE_TO_16.slice();
    frame[5] = 0xffff;
    const saturated = bin(frame, { width: 4, height: 4, factor: 2 });
    t.deepEqual([...saturated.data], [0, 22, 46, 54]);
    t.deepEqual([...saturated.badMask], [1, 0, 0, 0]);
    t.is(saturated.nBad, 1);
    const mask = new Uint8Array(16);
    mask[5] = 1;
    const masked = bin(frame, { width: 4, height: 4, factor: 2, mask, minGood: 3 });
    t.deepEqual([...masked.data], [Math.round(((1 + 2 + 5) * 4) / 3), 22, 46, 54]);
    const custom = bin(ONE_TO_16, { width: 4, height: 4, factor: 2, saturation: 16 });
    t.deepEqual([...custom.badMask], [0, 0, 0, 1]);
  });

  test(`${name}: partial edge bins are bad by default and rescaled with a lower minGood`, (t) => {
    const frame = Uint16Array.from({ length: 20 }, (_, i) => i + 1); // 5 x 4
    const binned = bin(frame, { width: 5, height: 4, factor: 2 });
    t.deepEqual([binned.width, binned.height, binned.nBad], [3, 2, 2]);
    t.deepEqual([...binned.badMask], [0, 0, 1, 0, 0, 1]);
    t.deepEqual([...binned.data], [1 + 2 + 6 + 7, 3 + 4 + 8 + 9, 0, 11 + 12 + 16 + 17, 13 + 14 + 18 + 19, 0]);
    const lenient = bin(frame, { width: 5, height: 4, factor: 2, minGood: 2 });
    t.deepEqual([lenient.data[2], lenient.data[5]], [((5 + 10) * 4) / 2, ((15 + 20) * 4) / 2]);
    t.is(lenient.nBad, 0);
  });

  test(`${name}: a frame smaller than the factor gives one bin`, (t) => {
    const frame = Uint16Array.of(7);
    const strict = bin(frame, { width: 1, height: 1, factor: 4 });
    t.deepEqual([strict.width, strict.height, strict.data[0], strict.badMask[0]], [1, 1, 0, 1]);
    t.deepEqual([...bin(frame, { width: 1, height: 1, factor: 4, minGood: 1 }).data], [7 * 16]);
  });

  test(`${name}: NaN and Inf pixels are bad pixels`, (t) => {
    const frame = Float32Array.of(1, NaN, 2, 3, 4, 1, Infinity, 2); // 4 x 2: one of each per bin
    const binned = bin(frame, { width: 4, height: 2, factor: 2, minGood: 3 });
    t.deepEqual([...binned.data], [((1 + 4 + 1) * 4) / 3, ((2 + 3 + 2) * 4) / 3].map(Math.fround));
    t.deepEqual([...bin(frame, { width: 4, height: 2, factor: 2 }).badMask], [1, 1]);
  });

  test(`${name}: integer outputs clamp to their type's range`, (t) => {
    const options = { width: 2, height: 2, factor: 2 } as const;
    t.deepEqual([...bin(new Int32Array(4).fill(0x7ffffffe), options).data], [0x7fffffff]);
    t.deepEqual([...bin(new Int32Array(4).fill(-0x80000000), { ...options, saturation: Infinity }).data], [-0x80000000]);
    t.deepEqual([...bin(new Uint32Array(4).fill(0xfffffffe), options).data], [0xffffffff]);
  });

  test(`${name}: binning conserves the total of an unmasked uint16 frame`, (t) => {
    const rand = makeRandom(42);
    for (const [factor, width, height] of [[2, 64, 48], [3, 63, 48], [4, 64, 48]] as const) {
      const frame = Uint16Array.from({ length: width * height }, () => Math.floor(rand() * 0xffff));
      const binned = bin(frame, { width, height, factor });
      t.is(binned.nBad, 0);
      t.is(binned.data.reduce((s, v) => s + v, 0), frame.reduce((s, v) => s + v, 0));
    }
  });

  test(`${name}: misuse throws a usage SxError saying what was expected`, (t) => {
    const frame = new Uint16Array(16);
    const cases: [unknown, unknown, RegExp][] = [
      [frame, { width: 4, height: 4, factor: 5 }, /^Expected factor 2, 3 or 4 for binning but received 5$/],
      [frame, { width: 4, height: 4, factor: 2, mask: new Uint8Array(15) }, /Expected a mask of 4 x 4 = 16 pixels for binning but received 15/],
      [frame, { width: 4, height: 4, factor: 2, mask: new Int8Array(16) }, /Expected mask to be a Uint8Array for binning but received Int8Array\(16\)/],
      [new Uint16Array(15), { width: 4, height: 4, factor: 2 }, /Expected a frame of 4 x 4 = 16 pixels for binning but received 15/],
      [frame, { width: 4, height: 4, factor: 2, minGood: 0 }, /Expected minGood to be an integer from 1 to 4 \(factor²\) for binning but received 0/],
      [frame, { width: 4, height: 4, factor: 3, minGood: 10 }, /Expected minGood to be an integer from 1 to 9 \(factor²\) for binning but received 10/],
      [frame, { width: 4, height: 4, factor: 2, minGood: 1.5 }, /from 1 to 4 \(factor²\) for binning but received 1.5/],
      [new Float64Array(16), { width: 4, height: 4, factor: 2 }, /Expected frame to be a Uint16Array, Uint32Array, Int32Array or Float32Array for binning but received Float64Array\(16\)/],
      [[1, 2, 3, 4], { width: 2, height: 2, factor: 2 }, /Expected frame to be a .* but received Array/],
      [frame, { width: 0, height: 4, factor: 2 }, /Expected width to be a positive integer for binning but received 0/],
      [frame, { width: 4, height: '4', factor: 2 }, /Expected height to be a positive integer for binning but received "4"/],
      [frame, { width: 4, height: 4, factor: 2, saturation: NaN }, /Expected saturation to be a number for binning but received NaN/],
      [frame, undefined, /Expected an options object \{ width, height, factor \} for binning but received undefined/],
    ];
    for (const [badFrame, options, message] of cases) {
      const error = t.throws(() => bin(badFrame as BinnableFrame, options as BinFrameOptions), { instanceOf: SxError, message });
      t.is(error?.tag, 'usage');
    }
  });

  test(`${name}: every problem is reported at once`, (t) => {
    const error = t.throws(() => bin(new Uint16Array(3), { width: 2, height: 2, factor: 6 as BinFactor, minGood: 0 }), {
      instanceOf: SxError,
    });
    t.deepEqual(error?.message.split('; ').map((m) => m.split(' ')[1]), ['factor', 'a', 'minGood']);
  });
}

test('the addon checks its arguments again', (t) => {
  const { binFrame: nativeBinFrame } = loadNative();
  const frame = new Uint16Array(16);
  const out = new Uint32Array(4);
  const badMask = new Uint8Array(4);
  t.throws(() => nativeBinFrame(frame, null, 4, 4, 2, 4, 65535, new Int32Array(4), badMask), {
    instanceOf: TypeError,
    message: 'Expected out to be a Uint32Array',
  });
  t.throws(() => nativeBinFrame(frame, null, 4, 4, 2, 4, 65535, out, new Uint8Array(3)), {
    instanceOf: RangeError,
    message: 'Expected badMask of 4 elements but received 3',
  });
  t.throws(() => nativeBinFrame(frame, new Uint8Array(15), 4, 4, 2, 4, 65535, out, badMask), {
    instanceOf: RangeError,
    message: 'Expected mask of 16 elements but received 15',
  });
  t.throws(() => nativeBinFrame(frame, null, 4, 4, 5, 4, 65535, out, badMask), {
    instanceOf: RangeError,
    message: 'Expected factor to be an integer from 2 to 4',
  });
  t.throws(() => nativeBinFrame(frame, null, 4, 4, 2, 5, 65535, out, badMask), {
    instanceOf: RangeError,
    message: 'Expected minGood to be an integer from 1 to 4',
  });
  t.throws(() => nativeBinFrame(new Float64Array(16) as unknown as Uint16Array, null, 4, 4, 2, 4, 65535, out, badMask), {
    instanceOf: TypeError,
    message: /Expected frame to be a Uint16Array/,
  });
});
