import test from 'ava';
import { decodePeaks, encodePeaks } from '../../src/core/peak-blob.ts';
import type { PeakList } from '../../src/core/peakfinder8.ts';
import { isSxError } from '../../src/errors.ts';

const peaks: PeakList = {
  count: 3,
  fs: Float32Array.of(10.5, 200.25, 1023.75),
  ss: Float32Array.of(3.5, 400.5, 0.5),
  panel: Int16Array.of(0, 3, 7),
  intensity: Float32Array.of(120.5, 9000, 33.25),
  snr: Float32Array.of(6.5, 80, 5.25),
  npix: Int32Array.of(3, 27, 2),
};

test('a peak list survives the catalog blob exactly, at 22 bytes a peak', (t) => {
  const blob = encodePeaks(peaks);
  t.is(blob.length, 8 + 3 * 22);
  const back = decodePeaks(blob);
  t.is(back.count, 3);
  for (const key of ['fs', 'ss', 'panel', 'intensity', 'snr', 'npix'] as const) t.deepEqual(Array.from(back[key]), Array.from(peaks[key]), key);
});

test('a blob at an odd offset (as SQLite may hand it back) still decodes', (t) => {
  const blob = encodePeaks(peaks);
  const shifted = new Uint8Array(blob.length + 1);
  shifted.set(blob, 1);
  t.deepEqual(Array.from(decodePeaks(shifted.subarray(1)).fs), Array.from(peaks.fs));
});

test('an empty peak list and a damaged blob', (t) => {
  const empty = { count: 0, fs: new Float32Array(0), ss: new Float32Array(0), panel: new Int16Array(0), intensity: new Float32Array(0), snr: new Float32Array(0), npix: new Int32Array(0) };
  t.is(decodePeaks(encodePeaks(empty)).count, 0);
  const error = t.throws(() => decodePeaks(encodePeaks(peaks).subarray(0, 20)));
  t.true(isSxError(error, 'catalog'));
  t.regex(error!.message, /20 bytes for 3 peaks; expected 74/);
  t.regex(t.throws(() => decodePeaks(Buffer.from('not a blob')))!.message, /unknown format/);
});
