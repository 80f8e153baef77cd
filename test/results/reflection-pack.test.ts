import test from 'ava';
import { isSxError } from '../../src/errors.ts';
import type { StreamReflection } from '../../src/formats/crystfel-stream.ts';
import { packReflections, unpackReflections } from '../../src/results/reflection-pack.ts';

const row = (h: number, k: number, l: number, panel: string | null, i = 1.5): StreamReflection => ({
  h, k, l, intensity: i, sigma: 0.25, peak: 3, background: -1, fs: 100.5, ss: 200.25, panel,
});

test('reflections round-trip through the blob (int16 indices, panel names beside it)', (t) => {
  const rows = [row(-28, 10, 5, 'q1a11', 185.09), row(1, 2, 3, 'q0a0'), row(0, 0, 1, 'q1a11', Number.NaN), row(4, 5, 6, null)];
  const { blob, panels } = packReflections(rows);
  t.deepEqual(panels, ['q1a11', 'q0a0']);
  t.is(blob.length, 12 + rows.length * 32);
  t.is(blob.toString('latin1', 0, 4), 'SXRF');
  t.is(blob.readUInt8(5), 2);
  const back = unpackReflections(blob, panels);
  t.deepEqual(back[0], { ...rows[0], intensity: Math.fround(185.09) });
  t.deepEqual(back[1], rows[1]);
  t.true(Number.isNaN(back[2].intensity));
  t.is(back[3].panel, null);
});

test('indices beyond int16 switch the blob to int32 indices', (t) => {
  const rows = [row(40000, -40000, 1, 'p0'), row(1, 1, 1, 'p0')];
  const { blob, panels } = packReflections(rows);
  t.is(blob.readUInt8(5), 4);
  t.deepEqual(unpackReflections(blob, panels).map((r) => [r.h, r.k, r.l]), [[40000, -40000, 1], [1, 1, 1]]);
});

test('an empty list packs to a header only', (t) => {
  const { blob, panels } = packReflections([]);
  t.is(blob.length, 12);
  t.deepEqual(unpackReflections(blob, panels), []);
});

test('a blob that is not a reflection list, or is cut short, is refused', (t) => {
  const notBlob = t.throws(() => unpackReflections(Buffer.from('hello world, not a blob'), []));
  t.true(isSxError(notBlob, 'catalog'));
  t.regex(notBlob!.message, /Expected a packed reflection list \(magic "SXRF"\)/);
  const { blob, panels } = packReflections([row(1, 2, 3, 'p0')]);
  t.regex(t.throws(() => unpackReflections(blob.subarray(0, blob.length - 2), panels))!.message, /Expected 44 bytes for 1 packed reflections but received 42/);
  t.regex(t.throws(() => unpackReflections(blob, []))!.message, /Expected a panel index below 0 in packed reflection 0 but received 0/);
});
