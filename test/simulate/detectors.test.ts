import test from 'ava';
import { join } from 'node:path';
import { readFrame } from '../../src/store/hdf5.ts';
import { buildReflectionTable, drawCrystal } from '../../src/simulate/crystal.ts';
import { buildPixelMask, MASK_BEAMSTOP, MASK_GAP, type DetectorName } from '../../src/simulate/detectors.ts';
import { SpotRenderer } from '../../src/simulate/render.ts';
import { Rng } from '../../src/simulate/rng.ts';
import { DETECTORS, simulate } from '../../src/simulate/simulate.ts';
import { dataset, makeTempDir, openH5, values } from './helpers.ts';

const temp = await makeTempDir();
test.after.always(() => temp.cleanup());

test('detector sizes and module layouts', (t) => {
  const expected: Record<DetectorName, [number, number, number]> = {
    eiger16m: [4148, 4362, 32],
    eiger4m: [2068, 2162, 8],
    eiger1m: [1028, 1062, 2],
    det1024: [1024, 1024, 1],
    tiny: [256, 256, 1],
  };
  for (const [name, [width, height, panels]] of Object.entries(expected)) {
    const spec = DETECTORS[name as DetectorName];
    t.deepEqual([spec.width, spec.height, spec.panels.length], [width, height, panels], name);
    const last = spec.panels[spec.panels.length - 1];
    t.deepEqual([last.maxFs, last.maxSs], [width - 1, height - 1], `${name} ends at the array corner`);
  }
  t.deepEqual(DETECTORS.eiger4m.panels[1], { name: 'm01', minFs: 1040, maxFs: 2067, minSs: 0, maxSs: 511 });
  t.deepEqual(DETECTORS.eiger4m.panels[2], { name: 'm10', minFs: 0, maxFs: 1027, minSs: 550, maxSs: 1061 });
});

test('beam centres are off-centre but on a module, inside the beamstop shadow', (t) => {
  for (const spec of Object.values(DETECTORS)) {
    const { x, y } = spec.beamCenter;
    t.not(x, spec.width / 2, spec.name);
    const onPanel = spec.panels.some((p) => x >= p.minFs && x < p.maxFs + 1 && y >= p.minSs && y < p.maxSs + 1);
    t.true(onPanel, `${spec.name} beam centre is on a module`);
    t.is(buildPixelMask(spec)[Math.floor(y) * spec.width + Math.floor(x)], MASK_BEAMSTOP, spec.name);
  }
});

for (const [pixelType, gapValue] of [['uint16', 65535], ['uint32', 4294967295]] as const) {
  test(`eiger1m ${pixelType}: gap pixels hold 2^bits - 1 exactly, sensor pixels never do`, async (t) => {
    const out = join(temp.dir, `eiger1m-${pixelType}.h5`);
    await simulate({ detector: 'eiger1m', frames: 3, hitRate: 1, seed: 5, pixelType, out });
    const file = await openH5(out);
    try {
      const mask = values(file, '/entry/instrument/detector/pixel_mask');
      const width = 1028;
      for (let i = 0; i < mask.length; i++) {
        const ss = Math.floor(i / width);
        if (((mask[i] & MASK_GAP) !== 0) !== (ss >= 512 && ss < 550)) t.fail(`mask gap bit wrong at ss ${ss}`);
      }
      for (let n = 0; n < 3; n++) {
        const frame = readFrame(dataset(file, '/entry/data/data'), n);
        let wrongGaps = 0;
        let maxSensor = 0;
        for (let i = 0; i < frame.length; i++) {
          if (mask[i] & MASK_GAP) wrongGaps += frame[i] === gapValue ? 0 : 1;
          else maxSensor = Math.max(maxSensor, frame[i]);
        }
        t.is(wrongGaps, 0, `frame ${n}`);
        t.true(maxSensor > 10 && maxSensor <= gapValue - 1, `frame ${n} brightest sensor pixel ${maxSensor}`);
      }
    } finally {
      file.close();
    }
  });
}

test('spot pixels saturate at 2^bits - 2 instead of wrapping around', (t) => {
  const spec = DETECTORS.tiny;
  const mask = buildPixelMask(spec);
  const frame = new Uint16Array(spec.width * spec.height);
  const renderer = new SpotRenderer(spec, mask, buildReflectionTable(0.2), 65534);
  const rng = new Rng(1);
  const crystal = { ...drawCrystal(rng), scale: 1e9, resolutionLimit: 5 };
  t.true(renderer.render(frame, rng, crystal) > 0);
  t.is(frame.reduce((a, b) => Math.max(a, b), 0), 65534);
});
