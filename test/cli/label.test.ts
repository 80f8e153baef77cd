import test from 'ava';
import { copyFileSync, readFileSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadH5, type Dataset } from '../../src/store/hdf5.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

interface FrameLine {
  file: string;
  event: string | null;
  hit?: boolean;
  n_peaks?: number;
  peaks?: { fs: number; ss: number; panel: number; intensity: number; snr: number; npix: number }[];
  error?: string;
}

const parseLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FrameLine);

async function truth(file: string): Promise<boolean[]> {
  const h5 = await loadH5();
  const f = new h5.File(file, 'r');
  try {
    return Array.from((f.get('/entry/truth/is_hit') as Dataset).value as Uint8Array, (v) => v === 1);
  } finally {
    f.close();
  }
}

test('label prints one JSON object per frame, in order, with hits matching the truth', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'eiger1m', frames: 16, hitRate: 0.5, seed: 11, out: join(dir, 'run.h5'), geometryOut: join(dir, 'eiger1m.geom') });
  const r = sxarchive(['label', run.out, '--geometry', run.geometryOut!, '--json', '--peaks']);
  t.is(r.code, 0, r.stderr);
  const lines = parseLines(r.stdout);
  t.deepEqual(lines.map((l) => l.event), Array.from({ length: 16 }, (_, i) => `//${i}`));
  t.deepEqual(lines.map((l) => l.hit), await truth(run.out));
  for (const l of lines) {
    t.is(l.peaks!.length, l.n_peaks!);
    for (const p of l.peaks!) t.true(p.fs >= 0 && p.fs <= 1028 && p.ss >= 0 && p.ss <= 1062 && p.npix >= 1 && p.snr > 0);
  }
  t.regex(r.stderr, /16 frames labelled \(\d+ hits\) in 1 file\(s\); 0 skipped/);

  const brief = parseLines(sxarchive(['label', run.out, '--geometry', run.geometryOut!, '--json']).stdout);
  t.deepEqual(Object.keys(brief[0]).sort(), ['event', 'file', 'hit', 'n_peaks', 'resolution']);
  t.deepEqual(brief.map((l) => l.n_peaks), lines.map((l) => l.n_peaks));
});

test('peak-finder options change the result: an impossible min-peaks makes every frame a blank', async (t) => {
  const dir = tempDir(t);
  const run = await simulate({ detector: 'tiny', frames: 6, hitRate: 1, seed: 2, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const lines = parseLines(sxarchive(['label', run.out, '--geometry', run.geometryOut!, '--json', '--min-peaks', '100000']).stdout);
  t.deepEqual(lines.map((l) => l.hit), [false, false, false, false, false, false]);
  t.true(lines.some((l) => (l.n_peaks ?? 0) > 0));
});

test('bad input is reported per file and frame, and the other frames are still labelled', async (t) => {
  const dir = tempDir(t);
  const good = await simulate({ detector: 'tiny', frames: 4, hitRate: 0.5, seed: 3, out: join(dir, 'good.h5'), geometryOut: join(dir, 'tiny.geom') });
  const truncated = join(dir, 'truncated.h5');
  copyFileSync(good.out, truncated);
  truncateSync(truncated, Math.floor(statSync(truncated).size * 0.6));
  const notHdf5 = join(dir, 'notes.h5');
  writeFileSync(notHdf5, 'hello');
  // A geometry for a bigger detector than the data: every frame has the wrong shape.
  const wrongGeom = join(dir, 'wrong.geom');
  writeFileSync(wrongGeom, readFileSync(good.geometryOut!, 'utf8').replace(/max_fs = 255/g, 'max_fs = 299'));

  const r = sxarchive(['label', notHdf5, truncated, good.out, '--geometry', good.geometryOut!, '--json']);
  t.is(r.code, 0, r.stderr);
  const lines = parseLines(r.stdout);
  const goodLines = lines.filter((l) => l.file === good.out);
  t.is(goodLines.length, 4);
  t.true(goodLines.every((l) => l.error === undefined));
  const bad = lines.filter((l) => l.error !== undefined);
  t.true(bad.some((l) => l.file === notHdf5 && /not an HDF5 file/.test(l.error!)));
  t.true(bad.filter((l) => l.file === truncated).length >= 1);
  t.regex(r.stderr, new RegExp(`skipped ${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.regex(r.stderr, /4 frames labelled \(\d+ hits\) in 3 file\(s\); [1-9]\d* skipped/);

  const mismatch = sxarchive(['label', good.out, '--geometry', wrongGeom, '--json']);
  t.is(mismatch.code, 0, mismatch.stderr);
  const m = parseLines(mismatch.stdout);
  t.is(m.length, 4);
  t.true(m.every((l) => l.error !== undefined && l.error.includes(good.out) && /event \/\/\d/.test(l.error) && /geometry/.test(l.error)), JSON.stringify(m[0]));
  t.regex(mismatch.stderr, /0 frames labelled .*; 4 skipped/);
});
