import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter, which has python3-h5py, hdf5plugin, bitshuffle and zstandard (installed by .ci/run). */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../python/read_frames.py', import.meta.url));

export interface H5pyView {
  shape: number[];
  dtype: string;
  chunks: number[];
  filters: number[];
  frames: string[];
  extra: Record<string, string | string[]>;
}

/** What h5py sees in `dataset` of `file`: shape, dtype, filters and a SHA-256 per frame. */
export function readWithH5py(file: string, dataset: string, extra: string[] = []): H5pyView {
  return JSON.parse(execFileSync(DEBIAN_PYTHON, [SCRIPT, file, dataset, ...extra], { encoding: 'utf8' })) as H5pyView;
}
