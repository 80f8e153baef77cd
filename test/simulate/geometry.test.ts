import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPixelMask, MASK_GAP } from '../../src/simulate/detectors.ts';
import { formatGeometry } from '../../src/simulate/geometry-writer.ts';
import { DETECTORS, simulate } from '../../src/simulate/simulate.ts';
import { makeTempDir } from './helpers.ts';

/** key -> value of a .geom text, comments stripped. */
function parseGeometry(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*/, '').trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    entries.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return entries;
}

function panelsOf(geometry: Map<string, string>): string[] {
  const names = new Set<string>();
  for (const key of geometry.keys()) {
    const slash = key.indexOf('/');
    if (slash > 0 && !key.startsWith('bad')) names.add(key.slice(0, slash));
  }
  return [...names];
}

test('eiger4m: one panel per module with inclusive data ranges', (t) => {
  const spec = DETECTORS.eiger4m;
  const geometry = parseGeometry(formatGeometry(spec, 16));
  const panels = panelsOf(geometry);
  t.deepEqual(panels, ['m00', 'm01', 'm10', 'm11', 'm20', 'm21', 'm30', 'm31']);
  const range = (p: string) => ['min_fs', 'max_fs', 'min_ss', 'max_ss'].map((k) => Number(geometry.get(`${p}/${k}`)));
  t.deepEqual(range('m00'), [0, 1027, 0, 511]);
  t.deepEqual(range('m01'), [1040, 2067, 0, 511]);
  t.deepEqual(range('m10'), [0, 1027, 550, 1061]);
  t.deepEqual(range('m31'), [1040, 2067, 1650, 2161]);
  // The panels cover exactly the sensor pixels: the pixel mask's non-gap pixels.
  const sensor = buildPixelMask(spec).filter((bits) => (bits & MASK_GAP) === 0).length;
  const covered = panels.map(range).reduce((sum, [f0, f1, s0, s1]) => sum + (f1 - f0 + 1) * (s1 - s0 + 1), 0);
  t.is(covered, sensor);
});

test('eiger4m: corners are relative to the beam centre and axes follow fs/ss', (t) => {
  const { beamCenter } = DETECTORS.eiger4m;
  const geometry = parseGeometry(formatGeometry(DETECTORS.eiger4m, 16));
  const near = (key: string, expected: number) => t.true(Math.abs(Number(geometry.get(key)) - expected) < 1e-9, key);
  near('m01/corner_x', 1040 - beamCenter.x);
  near('m01/corner_y', 0 - beamCenter.y);
  near('m30/corner_x', 0 - beamCenter.x);
  near('m30/corner_y', 1650 - beamCenter.y);
  t.is(geometry.get('m21/fs'), '+1.0x');
  t.is(geometry.get('m21/ss'), '+1.0y');
});

test('global lines: beam, distance, pixel size, data layout, saturation', (t) => {
  const geometry = parseGeometry(formatGeometry(DETECTORS.eiger4m, 16));
  t.is(geometry.get('photon_energy'), '12000 eV');
  t.is(geometry.get('clen'), '0.1');
  t.true(Math.abs(Number(geometry.get('res')) - 13333.3) < 0.1);
  t.is(geometry.get('adu_per_photon'), '1');
  t.is(geometry.get('data'), '/entry/data/data');
  t.deepEqual(['dim0', 'dim1', 'dim2'].map((k) => geometry.get(k)), ['%', 'ss', 'fs']);
  t.is(geometry.get('max_adu'), '65534');
  t.is(parseGeometry(formatGeometry(DETECTORS.eiger4m, 32)).get('max_adu'), '4294967294');
});

test('the beamstop is a lab-coordinate bad region around the beam', (t) => {
  const geometry = parseGeometry(formatGeometry(DETECTORS.det1024, 16));
  t.is(geometry.get('clen'), '0.075');
  t.deepEqual(
    ['min_x', 'max_x', 'min_y', 'max_y'].map((k) => Number(geometry.get(`bad_beamstop/${k}`))),
    [-15, 15, -15, 15],
  );
  t.is(Number(geometry.get('bad_beamstop_arm/max_x')), 1024 - DETECTORS.det1024.beamCenter.x);
});

test('simulate writes the geometry for the chosen pixel type next to the data', async (t) => {
  const temp = await makeTempDir();
  try {
    const result = await simulate({
      detector: 'tiny',
      frames: 1,
      hitRate: 0,
      seed: 1,
      pixelType: 'uint32',
      out: join(temp.dir, 'run.h5'),
      geometryOut: join(temp.dir, 'run.geom'),
    });
    t.is(result.geometryOut, join(temp.dir, 'run.geom'));
    t.is(await readFile(join(temp.dir, 'run.geom'), 'utf8'), formatGeometry(DETECTORS.tiny, 32));
  } finally {
    await temp.cleanup();
  }
});
