import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPeaks, type PeakList } from '../../src/core/peakfinder8.ts';
import { buildPixelMap, type PixelMap } from '../../src/core/pixel-map.ts';
import { readGeometry } from '../../src/formats/crystfel-geometry.ts';
import { simulate, type DetectorName } from '../../src/simulate/simulate.ts';
import { readFrame } from '../../src/store/hdf5.ts';
import { dataset, makeTempDir, openH5, values } from '../simulate/helpers.ts';

export interface SimulatedRun {
  frames: Uint16Array[];
  peaks: PeakList[];
  isHit: boolean[];
  width: number;
  height: number;
  map: PixelMap;
  geometryText: string;
}

/** Simulates a run (uint16, no compression), reads it back and finds every frame's peaks. */
export async function simulateRunWithPeaks(detector: DetectorName, frames: number, hitRate: number, seed: number): Promise<SimulatedRun> {
  const { dir, cleanup } = await makeTempDir();
  try {
    const out = join(dir, 'run.h5');
    const geometryOut = join(dir, 'run.geom');
    await simulate({ detector, frames, hitRate, seed, out, geometryOut, compression: 'none' });
    const map = buildPixelMap(readGeometry(geometryOut));
    const file = await openH5(out);
    try {
      const data = dataset(file, '/entry/data/data');
      const hit = values(file, '/entry/truth/is_hit');
      const run: SimulatedRun = { frames: [], peaks: [], isHit: [], width: map.width, height: map.height, map, geometryText: readFileSync(geometryOut, 'utf8') };
      for (let i = 0; i < frames; i++) {
        const frame = readFrame(data, i) as Uint16Array;
        run.frames.push(frame);
        run.peaks.push(findPeaks({ frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad }));
        run.isHit.push(hit[i] === 1);
      }
      return run;
    } finally {
      file.close();
    }
  } finally {
    await cleanup();
  }
}
