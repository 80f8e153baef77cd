// Hit finding on simulated runs: DEFAULT_PEAKFINDER_PARAMS against the simulator's truth.
import test from 'ava';
import { join } from 'node:path';
import { buildPixelMap } from '../../src/core/pixel-map.ts';
import { DEFAULT_PEAKFINDER_PARAMS, findPeaks } from '../../src/core/peakfinder8.ts';
import { readGeometry } from '../../src/formats/crystfel-geometry.ts';
import { MIN_HIT_SPOTS, simulate, type DetectorName } from '../../src/simulate/simulate.ts';
import { readFrame } from '../../src/store/hdf5.ts';
import { dataset, makeTempDir, openH5, values } from '../simulate/helpers.ts';

interface FrameResult {
  isHit: boolean;
  nSpots: number;
  nPeaks: number;
}

/** Simulates a run with its geometry and finds the peaks of every frame. */
async function runDetector(detector: DetectorName, frames: number, hitRate: number, seed: number): Promise<FrameResult[]> {
  const { dir, cleanup } = await makeTempDir();
  try {
    const out = join(dir, 'run.h5');
    const geometryOut = join(dir, 'run.geom');
    await simulate({ detector, frames, hitRate, seed, out, geometryOut });
    const map = buildPixelMap(readGeometry(geometryOut));
    const file = await openH5(out);
    try {
      const data = dataset(file, '/entry/data/data');
      const isHit = values(file, '/entry/truth/is_hit');
      const nSpots = values(file, '/entry/truth/n_spots');
      return Array.from({ length: frames }, (_, i) => {
        const input = { frame: readFrame(data, i), width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad };
        return { isHit: isHit[i] === 1, nSpots: nSpots[i], nPeaks: findPeaks(input).count };
      });
    } finally {
      file.close();
    }
  } finally {
    await cleanup();
  }
}

const RUNS: [DetectorName, number, number, number][] = [
  ['tiny', 600, 0.05, 101],
  ['tiny', 400, 0.3, 102],
  ['tiny', 300, 0.6, 103],
  ['eiger1m', 200, 0.05, 104],
  ['eiger1m', 150, 0.3, 105],
  ['eiger1m', 100, 0.6, 106],
];

test('default parameters tell hits from blanks on simulated tiny and eiger1m runs', async (t) => {
  const results: FrameResult[] = [];
  for (const [detector, frames, hitRate, seed] of RUNS) results.push(...(await runDetector(detector, frames, hitRate, seed)));
  const { minPeaks } = DEFAULT_PEAKFINDER_PARAMS;
  const found = (r: FrameResult) => r.nPeaks >= minPeaks;
  const hits = results.filter((r) => r.isHit);
  const flagged = results.filter(found);
  const precision = flagged.filter((r) => r.isHit).length / flagged.length;
  const recall = hits.filter(found).length / hits.length;
  // Weak hits: between the simulator's floor (MIN_HIT_SPOTS spots) and 40 spots.
  const weak = hits.filter((r) => r.nSpots < 40).length;
  const blankPeaks = Math.max(...results.filter((r) => !r.isHit).map((r) => r.nPeaks));
  const missed = hits.filter((r) => !found(r)).map((r) => `${r.nSpots}/${r.nPeaks}`);
  t.log(`${results.length} frames, ${hits.length} hits (${weak} weak, n_spots < 40), most peaks on a blank ${blankPeaks}`);
  t.log(`precision ${precision.toFixed(4)}, recall ${recall.toFixed(4)}; missed hits (n_spots/peaks): ${missed.join(' ') || 'none'}`);
  t.true(hits.length > 400 && weak >= 20, `the runs must include strong and weak hits (${weak} weak)`);
  t.true(hits.every((r) => r.nSpots >= MIN_HIT_SPOTS), 'every simulated hit has at least MIN_HIT_SPOTS spots');
  t.true(precision >= 0.97, `precision ${precision}`);
  t.true(recall >= 0.97, `recall ${recall}`);
});
