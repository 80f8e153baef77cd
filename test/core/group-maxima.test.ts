// The fused decode + label pass: bitshuffle-LZ4 decoding takes each group's maximum on the way,
// and peakfinder8 skips groups that cannot hold a seed without reading them. Same pixels, same
// peaks; maxima that do not fit are not used.
import test from 'ava';
import { join } from 'node:path';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { Labeller } from '../../src/core/labels.ts';
import { buildPixelMap } from '../../src/core/pixel-map.ts';
import { DEFAULT_PEAKFINDER_PARAMS, findPeaks, SEED_SCAN_BLOCK, type PeakList } from '../../src/core/peakfinder8.ts';
import { readGeometry } from '../../src/formats/crystfel-geometry.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import type { GroupMaxima } from '../../src/group-maxima.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { tempDir } from '../helpers/tmp.ts';

const columns = (p: PeakList) => ({ count: p.count, fs: [...p.fs], ss: [...p.ss], panel: [...p.panel], intensity: [...p.intensity], snr: [...p.snr], npix: [...p.npix], maxValue: p.maxValue && [...p.maxValue] });

/** The maxima by definition: per group, the largest value <= cap (0 if none). */
function maximaOf(frame: Uint16Array, group: number, cap: number): Uint16Array {
  const out = new Uint16Array(Math.ceil(frame.length / group));
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i];
    if (v <= cap && v > out[Math.floor(i / group)]) out[Math.floor(i / group)] = v;
  }
  return out;
}

test('decoding with maxima gives the same pixels and each group its maximum below the cap', (t) => {
  const codec = containerChunkCodec({ id: 'bitshuffle-lz4' });
  // Sizes that end inside a bitshuffle block, inside a group and in the unshuffled tail.
  for (const [n, group, cap] of [[100_003, 256, 65534], [8192 * 3, 256, 1000], [4096 + 5, 7, 65535], [13, 256, 65534]]) {
    const frame = Uint16Array.from({ length: n }, (_, i) => (i % 977 === 0 ? 65535 : (i * 7919) % 3001));
    const chunk = codec.encode({ data: frame, width: n, height: 1 });
    const plain = new Uint16Array(n);
    codec.decode(chunk, plain);
    const surveyed = new Uint16Array(n);
    const maxima: GroupMaxima = { group, cap, values: new Uint16Array(Math.ceil(n / group)).fill(9) };
    codec.decodeWithMaxima!(chunk, surveyed, maxima);
    t.deepEqual(surveyed, plain, `${n} pixels`);
    t.deepEqual(maxima.values, maximaOf(frame, group, cap), `${n} pixels, groups of ${group}, cap ${cap}`);
  }
});

test('labelling with the decoder maxima finds exactly the peaks of labelling without them', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'eiger1m', frames: 8, hitRate: 0.6, seed: 11, out: join(dir, 'run.h5'), geometryOut: join(dir, 'run.geom') });
  const map = buildPixelMap(readGeometry(run.geometryOut!));
  const labeller = new Labeller(map, DEFAULT_PEAKFINDER_PARAMS);
  const codec = containerChunkCodec({ id: 'bitshuffle-lz4' });
  const source = await openFrameSource(run.out);
  t.teardown(() => source.close());
  const spec = labeller.maximaFor('uint16')!;
  t.is(spec.group, SEED_SCAN_BLOCK);
  let peaks = 0;
  for (let i = 0; i < source.count; i++) {
    const frame = source.read(i) as Uint16Array;
    const pixels = new Uint16Array(frame.length);
    const maxima: GroupMaxima = { ...spec, values: new Uint16Array(Math.ceil(frame.length / spec.group)) };
    codec.decodeWithMaxima!(codec.encode({ data: frame, width: map.width, height: map.height }), pixels, maxima);
    const without = labeller.label(frame, `frame ${i}`);
    t.deepEqual(columns(labeller.label(pixels, `frame ${i}`, maxima).peaks), columns(without.peaks), `frame ${i}`);
    peaks += without.nPeaks;
  }
  t.true(peaks > 100, `${peaks} peaks over the run`);
});

test('maxima are used only when they fit: wrong grouping or a cap below a seed value leave them out', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'eiger1m', frames: 2, hitRate: 1, seed: 12, out: join(dir, 'run.h5'), geometryOut: join(dir, 'run.geom') });
  const map = buildPixelMap(readGeometry(run.geometryOut!));
  const source = await openFrameSource(run.out);
  t.teardown(() => source.close());
  const frame = source.read(0) as Uint16Array;
  const input = { frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad, flagEqual: [65535] };
  const expected = findPeaks(input);
  t.true(expected.count > 10);
  const zeros = (group: number) => new Uint16Array(Math.ceil(frame.length / group));
  // All-zero maxima that fit say no group holds a seed: used, they find nothing (so they are read).
  t.is(findPeaks({ ...input, maxima: { group: SEED_SCAN_BLOCK, cap: 65534, values: zeros(SEED_SCAN_BLOCK) } }).count, 0);
  // Another grouping, or a cap that leaves out values a seed can have: ignored.
  t.deepEqual(columns(findPeaks({ ...input, maxima: { group: 128, cap: 65534, values: zeros(128) } })), columns(expected));
  t.deepEqual(columns(findPeaks({ ...input, maxima: { group: SEED_SCAN_BLOCK, cap: 60000, values: zeros(SEED_SCAN_BLOCK) } })), columns(expected));
  t.throws(() => findPeaks({ ...input, maxima: { group: SEED_SCAN_BLOCK, cap: 65534, values: zeros(128) } }), { message: /Expected maxima/ });
});
