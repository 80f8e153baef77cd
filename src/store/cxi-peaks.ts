// CXI peak tables (/entry_1/result_1), as Cheetah and OM write them and CrystFEL reads them with
// `peak_list = /entry_1/result_1`, `peak_list_type = cxi`: nPeaks [N] and one [N, maxPeaks]
// float32 table per quantity, zero-padded. Positions are array indices (fs - 0.5, as Cheetah
// writes them; CrystFEL adds the 0.5 back), so sxarchive's positions survive a round trip.
import { SxError } from '../errors.ts';
import { ensureGroup, type Dataset, type H5File } from './hdf5.ts';

export const CXI_RESULT_PATH = '/entry_1/result_1';

/** One frame's peaks as the store needs them (core's PeakList is one); positions in CrystFEL's convention. */
export interface PeakTable {
  count: number;
  fs: Float32Array;
  ss: Float32Array;
  intensity: Float32Array;
  snr: Float32Array;
  npix: Int32Array | Float32Array;
  maxValue?: Float32Array;
}

const DEFLATE_LEVEL = 4;

const COLUMNS: [string, (p: PeakTable, k: number) => number][] = [
  ['peakXPosRaw', (p, k) => p.fs[k] - 0.5],
  ['peakYPosRaw', (p, k) => p.ss[k] - 0.5],
  ['peakTotalIntensity', (p, k) => p.intensity[k]],
  ['peakMaximumValue', (p, k) => p.maxValue?.[k] ?? 0],
  ['peakSNR', (p, k) => p.snr[k]],
  ['peakNPixels', (p, k) => p.npix[k]],
];

/**
 * Writes the peak tables of `peaks` (one entry per frame, in frame order) into `file`.
 *
 * @example
 * writePeakTables(file, [labels.peaks, ...]);
 */
export function writePeakTables(file: H5File, peaks: readonly PeakTable[]): void {
  const n = peaks.length;
  const result = ensureGroup(file, CXI_RESULT_PATH);
  const maxPeaks = Math.max(1, ...peaks.map((p) => p.count));
  result.create_dataset({ name: 'nPeaks', data: Int32Array.from(peaks, (p) => p.count), shape: [n], dtype: '<i' });
  for (const [name, pick] of COLUMNS) {
    const data = new Float32Array(n * maxPeaks);
    peaks.forEach((p, i) => {
      for (let k = 0; k < p.count; k++) data[i * maxPeaks + k] = pick(p, k);
    });
    result.create_dataset({ name, data, shape: [n, maxPeaks], dtype: '<f', chunks: [Math.max(1, Math.min(n, 64)), maxPeaks], compression: 'gzip', compression_opts: [DEFLATE_LEVEL] });
  }
}

/**
 * The peak tables of a container back as one PeakTable per frame (positions + 0.5 again).
 *
 * @example
 * const peaks = readPeakTables(file); // peaks[3].count, peaks[3].fs, ...
 */
export function readPeakTables(file: H5File): PeakTable[] {
  const column = (name: string) => {
    const d = file.get(`${CXI_RESULT_PATH}/${name}`);
    if (d === null || !('shape' in d)) throw new SxError('input', `${file.filename}: no peak table ${CXI_RESULT_PATH}/${name}`);
    return d as Dataset;
  };
  const counts = column('nPeaks').value as Int32Array;
  const tables = COLUMNS.map(([name]) => column(name));
  const width = tables[0].shape?.[1] ?? 0;
  const values = tables.map((d) => d.value as Float32Array);
  return Array.from(counts, (count, i) => {
    const row = (v: Float32Array) => v.slice(i * width, i * width + count);
    return {
      count,
      fs: row(values[0]).map((v) => v + 0.5),
      ss: row(values[1]).map((v) => v + 0.5),
      intensity: row(values[2]),
      maxValue: row(values[3]),
      snr: row(values[4]),
      npix: Int32Array.from(row(values[5])),
    };
  });
}
