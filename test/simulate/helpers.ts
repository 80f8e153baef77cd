import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadH5, type Dataset, type H5File } from '../../src/store/hdf5.ts';

/** A fresh folder under the OS temp dir and a function that removes it. */
export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sxarchive-simulate-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function openH5(path: string): Promise<H5File> {
  const h5 = await loadH5();
  return new h5.File(path, 'r');
}

export function dataset(file: H5File, path: string): Dataset {
  const found = file.get(path);
  if (found === null || !('shape' in found)) throw new Error(`${path} is not a dataset`);
  return found as Dataset;
}

export function values(file: H5File, path: string): ArrayLike<number> {
  return dataset(file, path).value as ArrayLike<number>;
}

export function scalar(file: H5File, path: string): number {
  return Number(dataset(file, path).value);
}
