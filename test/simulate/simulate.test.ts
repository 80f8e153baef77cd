import test from 'ava';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readFrame, type H5File } from '../../src/store/hdf5.ts';
import { sha256File } from '../../src/store/atomic.ts';
import { buildReflectionTable, REFLECTION_STRIDE, rotationOf } from '../../src/simulate/crystal.ts';
import { MASK_BEAMSTOP, MASK_GAP, wavelengthOf } from '../../src/simulate/detectors.ts';
import { DETECTORS, simulate, type SimulateResult } from '../../src/simulate/simulate.ts';
import { dataset, makeTempDir, openH5, scalar, values } from './helpers.ts';

const FRAMES = 200;
const HIT_RATE = 0.4;
const tiny = DETECTORS.tiny;

let cleanup: () => Promise<void>;
let dir: string;
let run: SimulateResult;
let file: H5File;
const progress: Array<[number, number]> = [];

test.before(async () => {
  ({ dir, cleanup } = await makeTempDir());
  run = await simulate({
    detector: 'tiny',
    frames: FRAMES,
    hitRate: HIT_RATE,
    seed: 11,
    out: join(dir, 'tiny.h5'),
    onFrame: (done, total) => progress.push([done, total]),
  });
  file = await openH5(run.out);
});

test.after.always(async () => {
  file?.close();
  await cleanup?.();
});

function frameAt(n: number): ArrayLike<number> {
  return readFrame(dataset(file, '/entry/data/data'), n);
}

function isHit(n: number): boolean {
  return values(file, '/entry/truth/is_hit')[n] === 1;
}

/** Pixel indices of the tiny detector whose centre lies between two radii of the beam. */
function ring(inner: number, outer: number, exclude: number): number[] {
  const mask = values(file, '/entry/instrument/detector/pixel_mask');
  const out: number[] = [];
  for (let ss = 0; ss < tiny.height; ss++) {
    for (let fs = 0; fs < tiny.width; fs++) {
      const r = Math.hypot(fs + 0.5 - tiny.beamCenter.x, ss + 0.5 - tiny.beamCenter.y);
      const i = ss * tiny.width + fs;
      if (r >= inner && r < outer && (mask[i] & exclude) === 0) out.push(i);
    }
  }
  return out;
}

function meanOver(frames: number[], pixels: number[]): number {
  let sum = 0;
  for (const n of frames) {
    const frame = frameAt(n);
    for (const i of pixels) sum += frame[i];
  }
  return sum / (frames.length * pixels.length);
}

const frameNumbers = Array.from({ length: FRAMES }, (_, n) => n);

test('reports what it wrote and calls onFrame once per frame', async (t) => {
  t.is(run.frames, FRAMES);
  t.is(run.width, 256);
  t.is(run.height, 256);
  t.is(run.bytes, (await stat(run.out)).size);
  t.is(run.sha256, await sha256File(run.out));
  t.is(run.geometryOut, undefined);
  t.deepEqual(progress, frameNumbers.map((n) => [n + 1, FRAMES]));
});

test('writes one chunk per frame with the chosen pixel type and compression', (t) => {
  const data = dataset(file, '/entry/data/data');
  t.deepEqual(data.shape, [FRAMES, 256, 256]);
  t.is(data.dtype, '<H');
  t.deepEqual(data.metadata.chunks, [1, 256, 256]);
  t.deepEqual(data.filters.map((f) => f.id), [32008]);
});

test('writes NXmx-style instrument metadata and the pixel mask', (t) => {
  const det = '/entry/instrument/detector';
  t.is(scalar(file, `${det}/x_pixel_size`), 75e-6);
  t.is(scalar(file, `${det}/detector_distance`), 0.05);
  t.is(scalar(file, `${det}/beam_center_x`), tiny.beamCenter.x);
  t.is(scalar(file, `${det}/beam_center_y`), tiny.beamCenter.y);
  t.is(dataset(file, `${det}/detector_distance`).attrs.units.value, 'm');
  t.true(Math.abs(scalar(file, '/entry/instrument/beam/incident_wavelength') - 1.03320) < 1e-4);
  const mask = dataset(file, `${det}/pixel_mask`);
  t.deepEqual(mask.shape, [256, 256]);
  t.is(mask.dtype, '<I');
  const bits = mask.value as Uint32Array;
  t.is(bits[Math.floor(tiny.beamCenter.y) * 256 + Math.floor(tiny.beamCenter.x)], MASK_BEAMSTOP);
  t.is(bits[0], 0);
  t.false(bits.some((b) => (b & MASK_GAP) !== 0), 'a single panel has no gaps');
});

test('records the run parameters on /entry/truth', (t) => {
  const truth = dataset(file, '/entry/truth/is_hit').parent;
  t.is(truth.attrs.seed.value, 11);
  t.is(truth.attrs.hit_rate.value, HIT_RATE);
  t.is(truth.attrs.detector.value, 'tiny');
  t.deepEqual(Array.from(truth.attrs.cell.value as Float64Array), [79.1, 79.1, 38.4, 90, 90, 90]);
});

test('hit fraction matches hitRate within binomial noise', (t) => {
  const hits = Array.from(values(file, '/entry/truth/is_hit')).filter((v) => v === 1).length;
  t.is(hits, run.hits);
  const sigma = Math.sqrt(FRAMES * HIT_RATE * (1 - HIT_RATE));
  t.true(Math.abs(hits - FRAMES * HIT_RATE) < 4 * sigma, `${hits} hits in ${FRAMES} frames`);
});

test('truth: blanks are empty, hits have unit quaternions, spots and a resolution limit', (t) => {
  const q = values(file, '/entry/truth/quaternion');
  const nSpots = values(file, '/entry/truth/n_spots');
  const scale = values(file, '/entry/truth/crystal_scale');
  const resolution = values(file, '/entry/truth/resolution_limit');
  t.deepEqual(dataset(file, '/entry/truth/quaternion').shape, [FRAMES, 4]);
  const spotCounts: number[] = [];
  for (const n of frameNumbers) {
    const norm = Math.hypot(q[4 * n], q[4 * n + 1], q[4 * n + 2], q[4 * n + 3]);
    if (isHit(n)) {
      t.true(Math.abs(norm - 1) < 1e-12);
      t.true(scale[n] > 0);
      t.true(resolution[n] >= 1.8 && resolution[n] <= 4);
      spotCounts.push(nSpots[n]);
    } else {
      t.is(norm, 0);
      t.is(nSpots[n], 0);
      t.is(scale[n], 0);
      t.is(resolution[n], 0);
    }
  }
  spotCounts.sort((a, b) => a - b);
  const median = spotCounts[Math.floor(spotCounts.length / 2)];
  t.log(`n_spots of hits: min ${spotCounts[0]}, median ${median}, max ${spotCounts[spotCounts.length - 1]}`);
  t.true(median >= 20, `median n_spots of hits on tiny is ${median}`);
  t.true(spotCounts[0] < median / 3, 'some hits are weak');
});

test('hits have many bright pixels, blanks almost none', (t) => {
  const pixels = ring(0, Infinity, MASK_BEAMSTOP);
  const bright = (n: number) => {
    const frame = frameAt(n);
    return pixels.filter((i) => frame[i] > 10).length;
  };
  const hits = frameNumbers.filter(isHit);
  const blanks = frameNumbers.filter((n) => !isHit(n));
  const meanBright = (frames: number[]) => frames.reduce((sum, n) => sum + bright(n), 0) / frames.length;
  const inHits = meanBright(hits);
  const inBlanks = meanBright(blanks);
  t.log(`pixels > 10 photons: hits ${inHits.toFixed(1)}, blanks ${inBlanks.toFixed(3)}`);
  t.true(inBlanks < 0.1, `blank frames average ${inBlanks} pixels > 10 photons`);
  t.true(inHits > 100, `hits average ${inHits} pixels > 10 photons`);
});

test('blank background is higher at low resolution and realistic in level', (t) => {
  const blanks = frameNumbers.filter((n) => !isHit(n)).slice(0, 40);
  const low = meanOver(blanks, ring(10, 20, MASK_BEAMSTOP));
  const high = meanOver(blanks, ring(115, 125, MASK_BEAMSTOP));
  t.log(`background: low resolution ${low.toFixed(3)}, high resolution ${high.toFixed(3)}`);
  t.true(low > 2 * high, `low-resolution mean ${low}, high-resolution mean ${high}`);
  t.true(low > 0.5 && low < 2.5);
  t.true(high > 0.05 && high < 0.5);
});

test('the beamstop disc gets only a few percent of the surrounding background', (t) => {
  const blanks = frameNumbers.filter((n) => !isHit(n)).slice(0, 40);
  const disc = meanOver(blanks, ring(0, 5, 0));
  const around = meanOver(blanks, ring(7, 12, MASK_BEAMSTOP));
  t.log(`beamstop disc ${disc.toFixed(4)}, surroundings ${around.toFixed(3)}`);
  t.true(disc < 0.1 * around, `disc mean ${disc}, surroundings ${around}`);
});

test('spots sit where the truth orientation puts reflections on the Ewald sphere', (t) => {
  const nSpots = values(file, '/entry/truth/n_spots');
  const best = frameNumbers.reduce((a, b) => (nSpots[b] > nSpots[a] ? b : a));
  const q = values(file, '/entry/truth/quaternion');
  const rotation = rotationOf([q[4 * best], q[4 * best + 1], q[4 * best + 2], q[4 * best + 3]]);
  const scale = values(file, '/entry/truth/crystal_scale')[best];
  const sLimit = 1 / values(file, '/entry/truth/resolution_limit')[best];
  const mask = values(file, '/entry/instrument/detector/pixel_mask');
  const frame = frameAt(best);
  const k = 1 / wavelengthOf(tiny);
  const toPixels = tiny.clen / tiny.pixelSize;
  const { data, count } = buildReflectionTable(sLimit);
  let predicted = 0;
  let found = 0;
  for (let n = 0; n < count; n++) {
    const [x, y, z, , i0] = data.subarray(n * REFLECTION_STRIDE, (n + 1) * REFLECTION_STRIDE);
    const g = [0, 1, 2].map((r) => rotation[3 * r] * x + rotation[3 * r + 1] * y + rotation[3 * r + 2] * z);
    const excitation = k - Math.hypot(g[0], g[1], k + g[2]);
    // Well inside any profile radius (>= 0.001 1/Å), so partiality > 0.9.
    if (Math.abs(excitation) > 3e-4 || scale * i0 < 300) continue;
    const fs = tiny.beamCenter.x + (toPixels * g[0]) / (k + g[2]);
    const ss = tiny.beamCenter.y + (toPixels * g[1]) / (k + g[2]);
    if (fs < 2 || fs >= 254 || ss < 2 || ss >= 254) continue;
    const i = Math.floor(ss) * 256 + Math.floor(fs);
    if (mask[i] !== 0) continue;
    predicted += 1;
    if (frame[i] >= 10) found += 1;
  }
  t.log(`${found} of ${predicted} predicted strong spots are bright`);
  t.true(predicted >= 5, `only ${predicted} strong reflections predicted on frame ${best}`);
  t.true(found >= 0.9 * predicted, `${found} of ${predicted} predicted spots are bright`);
});
