// peakfinder8 against CrystFEL 0.12's own on the shared sim-lysozyme data (see its README).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { buildPixelMap } from '../../src/core/pixel-map.ts';
import { findPeaks, type PeakFinderParams, type PeakList } from '../../src/core/peakfinder8.ts';
import { findPeaksReference } from '../../src/core/peakfinder8-reference.ts';
import { readGeometry } from '../../src/formats/crystfel-geometry.ts';
import { readFrame } from '../../src/store/hdf5.ts';
import { dataset, openH5, values } from '../simulate/helpers.ts';
import { sharedData } from '../helpers/shared-data.ts';

const DATA = sharedData('sim-lysozyme/');

/** The indexamajig settings in the streams' headers. */
const CRYSTFEL: Partial<PeakFinderParams> = {
  threshold: 10,
  minSnr: 5,
  minPixCount: 2,
  maxPixCount: 50,
  localBgRadius: 3,
  minRes: 20,
  maxRes: 800,
  minPeaks: 10,
};

interface StreamChunk {
  filename: string;
  event: string;
  hit: boolean;
  /** fs, ss, intensity per "Peaks from peak search" row. */
  peaks: [number, number, number][];
  panels: string[];
}

/** Just enough of a CrystFEL stream: each chunk's name, hit flag and peak search table. */
function readChunks(path: string): StreamChunk[] {
  return readFileSync(path, 'utf8')
    .split('----- Begin chunk -----')
    .slice(1)
    .map((chunk) => {
      const field = (name: string) => new RegExp(`^${name}: ?(.*)$`, 'm').exec(chunk)?.[1].trim() ?? '';
      const table = chunk.split('Peaks from peak search')[1].split('End of peak list')[0];
      const rows = table.trim().split('\n').slice(1).filter((line) => line.trim() !== '');
      const cells = rows.map((line) => line.trim().split(/\s+/));
      const peaks = cells.map(([fs, ss, , intensity]) => [Number(fs), Number(ss), Number(intensity)] as [number, number, number]);
      const panels = cells.map((row) => row[4]);
      return { filename: field('Image filename'), event: field('Event'), hit: /^hit = 1$/m.test(chunk), peaks, panels };
    });
}

interface Match {
  crystfel: number;
  matched: number;
  ours: number;
  unmatchedOurs: number;
  distances: number[];
  intensityRatios: number[];
}

/** Pairs each CrystFEL peak with our nearest peak within 1.5 px. */
function matchPeaks(crystfel: StreamChunk['peaks'], ours: PeakList): Match {
  const used = new Set<number>();
  const distances: number[] = [];
  const intensityRatios: number[] = [];
  for (const [fs, ss, intensity] of crystfel) {
    let best = Infinity;
    let bestJ = -1;
    for (let j = 0; j < ours.count; j++) {
      const d = Math.hypot(ours.fs[j] - fs, ours.ss[j] - ss);
      if (d < best) [best, bestJ] = [d, j];
    }
    if (best > 1.5) continue;
    used.add(bestJ);
    distances.push(best);
    intensityRatios.push(ours.intensity[bestJ] / intensity);
  }
  return { crystfel: crystfel.length, matched: distances.length, ours: ours.count, unmatchedOurs: ours.count - used.size, distances, intensityRatios };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function summarise(t: { log: (...m: string[]) => void }, matches: Match[]) {
  const sum = (key: 'crystfel' | 'matched' | 'ours' | 'unmatchedOurs') => matches.reduce((s, m) => s + m[key], 0);
  const found = sum('matched') / sum('crystfel');
  const extra = sum('unmatchedOurs') / sum('ours');
  const distance = median(matches.flatMap((m) => m.distances));
  const ratio = median(matches.flatMap((m) => m.intensityRatios));
  t.log(`CrystFEL peaks found within 1.5 px: ${sum('matched')} of ${sum('crystfel')} (${(100 * found).toFixed(2)} %); ` +
    `ours without a CrystFEL peak: ${sum('unmatchedOurs')} of ${sum('ours')}; median distance ${distance.toFixed(3)} px; ` +
    `median intensity ours/CrystFEL ${ratio.toFixed(4)}`);
  return { found, extra, distance, ratio };
}

test('CrystFEL settings on lyso_multi10: same hits, same peaks', async (t) => {
  const map = buildPixelMap(readGeometry(`${DATA}det1024_multi.geom`));
  const chunks = readChunks(`${DATA}lyso_multi10.stream`);
  const file = await openH5(`${DATA}lyso_multi10.h5`);
  try {
    const data = dataset(file, '/entry/data/data');
    const truth = values(file, '/entry/truth/is_hit');
    t.is(chunks.length, 10);
    const matches: Match[] = [];
    for (let i = 0; i < 10; i++) {
      const chunk = chunks.find((c) => c.event === `//${i}`)!;
      const input = { frame: readFrame(data, i), width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad };
      const peaks = findPeaks(input, CRYSTFEL);
      const hit = peaks.count >= CRYSTFEL.minPeaks!;
      t.is(hit, truth[i] === 1, `frame ${i}: ${peaks.count} peaks`);
      t.is(hit, chunk.hit, `frame ${i}: CrystFEL hit = ${chunk.hit}`);
      const match = matchPeaks(chunk.peaks, peaks);
      if (chunk.peaks.length > 0) t.true(match.matched >= 0.95 * match.crystfel, `frame ${i}: ${match.matched} of ${match.crystfel}`);
      matches.push(match);
      if (i === 0) t.is(comparePeakLists(peaks, findPeaksReference(input, CRYSTFEL)), undefined);
    }
    const { found, extra, distance, ratio } = summarise(t, matches);
    t.true(found >= 0.99, `found ${found}`);
    t.true(extra <= 0.01, `extra ${extra}`);
    t.true(distance < 0.05, `median distance ${distance}`);
    t.true(Math.abs(ratio - 1) < 0.01, `median intensity ratio ${ratio}`);
  } finally {
    file.close();
  }
});

test('CrystFEL settings on the single frames: the chunks of lyso_asdf.stream with the same file name', async (t) => {
  const map = buildPixelMap(readGeometry(`${DATA}det1024.geom`));
  const chunks = readChunks(`${DATA}lyso_asdf.stream`);
  const matches: Match[] = [];
  for (const name of ['hit-1', 'hit-2', 'blank-1']) {
    const chunk = chunks.find((c) => c.filename === `frames/${name}.h5`);
    if (chunk === undefined) return t.fail(`no chunk for frames/${name}.h5`);
    const file = await openH5(`${DATA}frames/${name}.h5`);
    try {
      const frame = dataset(file, '/entry/data/data').value as Float32Array; // one 2D frame
      const peaks = findPeaks({ frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad }, CRYSTFEL);
      t.is(peaks.count >= CRYSTFEL.minPeaks!, name.startsWith('hit'), `${name}: ${peaks.count} peaks`);
      t.is(chunk.hit, name.startsWith('hit'));
      matches.push(matchPeaks(chunk.peaks, peaks));
    } finally {
      file.close();
    }
  }
  const { found, extra } = summarise(t, matches);
  t.true(found >= 0.99, `found ${found}`);
  t.true(extra <= 0.01, `extra ${extra}`);
});

test('CrystFEL settings on the Eiger-4M-like hit: 8 panels with gaps', async (t) => {
  const map = buildPixelMap(readGeometry(`${DATA}eiger4m_like.geom`));
  const chunk = readChunks(`${DATA}eiger4m_like/eiger_asdf.stream`).find((c) => c.filename === 'eiger_hit-1.h5');
  if (chunk === undefined) return t.fail('no chunk for eiger_hit-1.h5');
  const file = await openH5(`${DATA}eiger4m_like/eiger_hit-1.h5`);
  try {
    const frame = dataset(file, '/entry/data/data').value as Float32Array;
    const input = { frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad };
    const params = { ...CRYSTFEL, maxRes: 1600 }; // as in this stream's header
    const peaks = findPeaks(input, params);
    t.true(peaks.count >= CRYSTFEL.minPeaks! && chunk.hit);
    t.true(new Set(peaks.panel).size > 1, 'peaks on several panels');
    const { found, extra } = summarise(t, [matchPeaks(chunk.peaks, peaks)]);
    t.true(found >= 0.99, `found ${found}`);
    t.true(extra <= 0.01, `extra ${extra}`);
    // Each CrystFEL peak's panel is the panel of our peak at the same place.
    const panelOf = (fs: number, ss: number) => map.panels[map.panel[Math.floor(ss) * map.width + Math.floor(fs)]]?.name;
    const ourPanels = Array.from(peaks.panel, (k) => map.panels[k].name);
    t.deepEqual(chunk.peaks.map(([fs, ss]) => panelOf(fs, ss)), chunk.panels);
    t.deepEqual(Array.from(peaks.fs, (fs, j) => panelOf(fs, peaks.ss[j])), ourPanels);
    t.is(comparePeakLists(peaks, findPeaksReference(input, params)), undefined);
  } finally {
    file.close();
  }
});

function comparePeakLists(a: PeakList, b: PeakList): string | undefined {
  if (a.count !== b.count) return `count ${a.count} vs ${b.count}`;
  for (const key of ['fs', 'ss', 'panel', 'intensity', 'snr', 'npix', 'maxValue'] as const) {
    for (let i = 0; i < a.count; i++) if (!Object.is(a[key]![i], b[key]![i])) return `peak ${i} ${key}`;
  }
  return undefined;
}
