// The per-geometry plan (Labeller keeps one) gives exactly the peaks of a call without one, frame
// after frame, also when the mask and the resolution limits change between frames.
import test from 'ava';
import { join } from 'node:path';
import { buildPixelMap } from '../../src/core/pixel-map.ts';
import { DEFAULT_PEAKFINDER_PARAMS, findPeaks, PeakFinderPlan, type PeakList } from '../../src/core/peakfinder8.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { readGeometry } from '../../src/formats/crystfel-geometry.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { tempDir } from '../helpers/tmp.ts';

const columns = (p: PeakList) => ({ count: p.count, fs: [...p.fs], ss: [...p.ss], panel: [...p.panel], intensity: [...p.intensity], snr: [...p.snr], npix: [...p.npix], maxValue: p.maxValue && [...p.maxValue] });

test('findPeaks with a reused plan equals findPeaks without one, bit for bit', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'eiger1m', frames: 8, hitRate: 0.6, seed: 5, out: join(dir, 'run.h5'), geometryOut: join(dir, 'run.geom') });
  const map = buildPixelMap(readGeometry(run.geometryOut!));
  const plan = new PeakFinderPlan(map);
  const source = await openFrameSource(run.out);
  t.teardown(() => source.close());
  let peaks = 0;
  for (let i = 0; i < source.count; i++) {
    const frame = source.read(i);
    // Every other frame with more pixels masked and other resolution limits: the plan must follow.
    const bad = i % 2 === 0 ? map.bad : map.bad.map((b, k) => (k % 7 === 0 ? 1 : b));
    const params = i % 3 === 0 ? DEFAULT_PEAKFINDER_PARAMS : { ...DEFAULT_PEAKFINDER_PARAMS, minRes: 20, maxRes: 600 };
    const input = { frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad };
    const without = findPeaks(input, params);
    t.deepEqual(columns(findPeaks({ ...input, plan }, params)), columns(without), `frame ${i}`);
    peaks += without.count;
  }
  t.true(peaks > 100, `${peaks} peaks over the run`);
});
