import test from 'ava';
import { BackgroundSampler } from '../../src/simulate/background.ts';
import {
  buildReflectionTable,
  CELL,
  isAbsent,
  randomQuaternion,
  REFLECTION_STRIDE,
  rotationOf,
  structureIntensity,
} from '../../src/simulate/crystal.ts';
import { buildPixelMask, DETECTORS, MASK_BEAMSTOP } from '../../src/simulate/detectors.ts';
import { Rng } from '../../src/simulate/rng.ts';

/** Five standard errors of variance / mean for n Poisson samples. */
function dispersionTolerance(mean: number, n: number): number {
  return 5 * Math.sqrt((2 + 1 / mean) / n);
}

function meanAndVariance(samples: number[]): [number, number] {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1);
  return [mean, variance];
}

test('Rng: the same seed and stream repeat, other streams and seeds differ', (t) => {
  const draw = (seed: number, stream: number) => {
    const rng = new Rng(seed, stream);
    return Array.from({ length: 8 }, () => rng.nextU32());
  };
  t.deepEqual(draw(1, 0), draw(1, 0));
  t.notDeepEqual(draw(1, 0), draw(1, 1));
  t.notDeepEqual(draw(1, 0), draw(2, 0));
  t.true(draw(0, 0).every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32));
});

test('Rng.fillU31 gives the top 31 bits of the nextU32 stream', (t) => {
  const a = new Rng(9, 4);
  const b = new Rng(9, 4);
  const bulk = new Int32Array(100);
  b.fillU31(bulk, 100);
  t.deepEqual(Array.from(bulk), Array.from({ length: 100 }, () => a.nextU32() >>> 1));
  t.is(a.nextU32(), b.nextU32(), 'both generators end in the same state');
});

for (const mean of [0.05, 0.7, 6, 80]) {
  test(`Rng.poisson(${mean}) has Poisson mean and variance`, (t) => {
    const rng = new Rng(17, mean * 100);
    const samples = Array.from({ length: 40000 }, () => rng.poisson(mean));
    const [m, v] = meanAndVariance(samples);
    const tolerance = 5 * Math.sqrt(mean / samples.length);
    t.true(Math.abs(m - mean) < tolerance, `mean ${m}`);
    t.true(Math.abs(v / mean - 1) < dispersionTolerance(mean, samples.length), `variance ${v}`);
    t.true(samples.every((k) => Number.isInteger(k) && k >= 0));
  });
}

test('BackgroundSampler: pixels are Poisson (variance = mean) and fall off with resolution', (t) => {
  const spec = DETECTORS.tiny;
  const mask = buildPixelMask(spec);
  const sampler = new BackgroundSampler(spec, mask);
  const frame = new Uint16Array(spec.width * spec.height);
  // Two rings one pixel wide, so every pixel in a ring has (almost) the same mean.
  const ringOf = (radius: number) => {
    const out: number[] = [];
    for (let i = 0; i < frame.length; i++) {
      const r = Math.hypot((i % spec.width) + 0.5 - spec.beamCenter.x, Math.floor(i / spec.width) + 0.5 - spec.beamCenter.y);
      if (Math.floor(r) === radius && (mask[i] & MASK_BEAMSTOP) === 0) out.push(i);
    }
    return out;
  };
  const inner = ringOf(15);
  const outer = ringOf(120);
  const innerSamples: number[] = [];
  const outerSamples: number[] = [];
  for (let n = 0; n < 200; n++) {
    sampler.fill(frame, new Rng(3, n), 1);
    for (const i of inner) innerSamples.push(frame[i]);
    for (const i of outer) outerSamples.push(frame[i]);
  }
  const [innerMean, innerVariance] = meanAndVariance(innerSamples);
  const [outerMean, outerVariance] = meanAndVariance(outerSamples);
  t.log(`ring 15 px: mean ${innerMean.toFixed(3)}; ring 120 px: mean ${outerMean.toFixed(3)}`);
  t.true(Math.abs(innerVariance / innerMean - 1) < dispersionTolerance(innerMean, innerSamples.length), `inner variance ${innerVariance}`);
  t.true(Math.abs(outerVariance / outerMean - 1) < dispersionTolerance(outerMean, outerSamples.length), `outer variance ${outerVariance}`);
  t.true(innerMean > 3 * outerMean);
});

test('space-group absences of P4(3)2(1)2', (t) => {
  t.true(isAbsent(3, 0, 0));
  t.false(isAbsent(4, 0, 0));
  t.true(isAbsent(0, -5, 0));
  t.true(isAbsent(0, 0, 6));
  t.false(isAbsent(0, 0, 8));
  t.false(isAbsent(1, 1, 1));
});

test('|F|² is shared by symmetry mates and exponential with mean 1', (t) => {
  const value = structureIntensity(7, 3, 5);
  for (const [h, k, l] of [[3, 7, 5], [-7, 3, 5], [7, -3, -5], [-3, -7, 5]]) {
    t.is(structureIntensity(h, k, l), value);
  }
  t.not(structureIntensity(7, 3, 6), value);
  const samples: number[] = [];
  for (let h = 0; h < 60; h++) for (let l = 0; l < 60; l++) samples.push(structureIntensity(h, 0, l));
  const [mean, variance] = meanAndVariance(samples);
  t.true(Math.abs(mean - 1) < 0.05, `mean ${mean}`);
  t.true(Math.abs(variance - 1) < 0.15, `variance ${variance}`);
});

test('reflection table: sorted by resolution, within the limit, about the expected count', (t) => {
  const sMax = 1 / 3;
  const { count, data } = buildReflectionTable(sMax);
  let previous = 0;
  for (let n = 0; n < count; n++) {
    const s = data[n * REFLECTION_STRIDE + 3];
    if (s < previous || s > sMax) t.fail(`reflection ${n} at s = ${s}`);
    previous = s;
  }
  // Reciprocal-space sphere volume over the reciprocal cell volume.
  const expected = ((4 / 3) * Math.PI * sMax ** 3) * CELL.a * CELL.b * CELL.c;
  t.true(Math.abs(count / expected - 1) < 0.03, `${count} reflections, expected about ${expected}`);
});

test('random quaternions are unit and give proper rotations', (t) => {
  const rng = new Rng(8);
  for (let n = 0; n < 100; n++) {
    const q = randomQuaternion(rng);
    t.true(Math.abs(Math.hypot(...q) - 1) < 1e-12);
    const r = rotationOf(q);
    const det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6]);
    t.true(Math.abs(det - 1) < 1e-12);
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const dot = r[a] * r[b] + r[3 + a] * r[3 + b] + r[6 + a] * r[6 + b];
        t.true(Math.abs(dot - (a === b ? 1 : 0)) < 1e-12);
      }
    }
  }
});
