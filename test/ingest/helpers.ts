import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';

export { SHARED_DATA } from '../helpers/shared-data.ts';
export const ZERO_CHUNK_SCRIPT = fileURLToPath(new URL('../fixtures/frames/zero_chunk.py', import.meta.url));

export function sha256Of(pixels: ArrayBufferView): string {
  return createHash('sha256').update(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength)).digest('hex');
}

export interface H5pySelection {
  sha256: string;
  shape: number[];
  values: number[];
}

const SELECT = `
import hashlib, json, sys
import h5py, hdf5plugin, numpy as np
path, dataset, selection, dtype = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
with h5py.File(path, "r") as f:
    a = f[dataset][tuple(slice(None) if s is None else s for s in selection)]
a = np.ascontiguousarray(np.asarray(a).astype(np.dtype(dtype).newbyteorder("<")))
print(json.dumps({"sha256": hashlib.sha256(a.tobytes()).hexdigest(), "shape": list(a.shape), "values": a.ravel()[:16].tolist()}))
`;

/**
 * What h5py (with hdf5plugin) reads at `selection` of `dataset` (null = the whole axis),
 * converted to `dtype` the way numpy does: the SHA-256 of its bytes, its shape and its first values.
 */
export function selectWithH5py(file: string, dataset: string, selection: (number | null)[], dtype: string): H5pySelection {
  return JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', SELECT, file, dataset, JSON.stringify(selection), dtype], { encoding: 'utf8' })) as H5pySelection;
}

/** Runs a Python snippet with h5py and numpy imported (to make fixtures h5wasm cannot write). */
export function runPython(code: string, ...args: string[]): string {
  return execFileSync(DEBIAN_PYTHON, ['-c', `import sys, h5py, numpy as np\n${code}`, ...args], { encoding: 'utf8' });
}
