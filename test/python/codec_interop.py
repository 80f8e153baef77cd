"""Codec interop jobs for test/codecs/interop.test.ts, run with Debian's python3 (h5py, hdf5plugin,
bitshuffle, zstandard). Usage: codec_interop.py JOBS.json; each job reads and writes files in a
temporary directory the test owns, and the script prints one JSON result per job.

Jobs:
  {"op": "read-direct", "chunk": f, "h5": f, "filter": "bitshuffle-lz4"|"blosc", "dtype": "<u2", "shape": [h, w], "out": f}
      write `chunk` as the raw chunk of a dataset declared with the filter, read it back with h5py
      (the filter decodes it), write the pixels' bytes to `out`.
  {"op": "write-filtered", "raw": f, "h5": f, "filter": ..., "dtype": ..., "shape": ..., "out": f}
      let h5py write the pixels in `raw` through the filter, copy the raw chunk to `out`.
  {"op": "zstd-decompress", "in": f, "out": f}
  {"op": "zstd-compress", "in": f, "out": f, "level": n, "content_size": bool, "frames": n}
  {"op": "bitshuffle", "raw": f, "dtype": ..., "out": f}   bitshuffle.bitshuffle of the pixels
"""
import json
import sys

import h5py
import hdf5plugin
import numpy as np
import bitshuffle
import zstandard

BLOSC_ID = 32001


def filter_args(name, dtype, shape):
    if name == 'bitshuffle-lz4':
        return dict(hdf5plugin.Bitshuffle(nelems=0, cname='lz4'))
    if name == 'blosc':
        # cd_values: filter revision, blosc version, typesize, chunk bytes (set_local fills 0-3),
        # clevel, shuffle (1 = byte), compressor (1 = lz4).
        return dict(compression=BLOSC_ID, compression_opts=(2, 2, np.dtype(dtype).itemsize, 0, 5, 1, 1))
    raise ValueError(name)


def run(job):
    op = job['op']
    if op == 'read-direct':
        chunk = open(job['chunk'], 'rb').read()
        with h5py.File(job['h5'], 'w') as f:
            ds = f.create_dataset('d', shape=tuple(job['shape']), dtype=job['dtype'], chunks=tuple(job['shape']),
                                  **filter_args(job['filter'], job['dtype'], job['shape']))
            ds.id.write_direct_chunk((0,) * len(job['shape']), chunk)
        with h5py.File(job['h5'], 'r') as f:
            data = f['d'][...]
            filters = list(f['d']._filters.keys())
        open(job['out'], 'wb').write(np.ascontiguousarray(data, dtype=job['dtype']).tobytes())
        return {'ok': True, 'filters': filters}
    if op == 'write-filtered':
        data = np.frombuffer(open(job['raw'], 'rb').read(), dtype=job['dtype']).reshape(job['shape'])
        with h5py.File(job['h5'], 'w') as f:
            f.create_dataset('d', data=data, chunks=tuple(job['shape']), **filter_args(job['filter'], job['dtype'], job['shape']))
        with h5py.File(job['h5'], 'r') as f:
            mask, chunk = f['d'].id.read_direct_chunk((0,) * len(job['shape']))
        open(job['out'], 'wb').write(chunk)
        return {'ok': True, 'filter_mask': mask}
    if op == 'zstd-decompress':
        data = open(job['in'], 'rb').read()
        params = zstandard.get_frame_parameters(data)
        out = zstandard.ZstdDecompressor().decompress(data)
        open(job['out'], 'wb').write(out)
        return {'ok': True, 'content_size': params.content_size}
    if op == 'zstd-compress':
        data = open(job['in'], 'rb').read()
        c = zstandard.ZstdCompressor(level=job['level'], write_content_size=job['content_size'])
        if job.get('frames', 1) > 1:
            n = job['frames']
            step = -(-len(data) // n)
            out = b''.join(c.compress(data[i:i + step]) for i in range(0, len(data), step))
        elif not job['content_size']:
            out = _streamed(c, data)
        else:
            out = c.compress(data)
        open(job['out'], 'wb').write(out)
        return {'ok': True}
    if op == 'bitshuffle':
        data = np.frombuffer(open(job['raw'], 'rb').read(), dtype=job['dtype'])
        open(job['out'], 'wb').write(bitshuffle.bitshuffle(data).tobytes())
        return {'ok': True}
    raise ValueError(op)


def _streamed(compressor, data):
    obj = compressor.compressobj()
    return obj.compress(data) + obj.flush()


if __name__ == '__main__':
    results = []
    for job in json.load(open(sys.argv[1])):
        try:
            results.append(run(job))
        except Exception as err:  # reported per job, so one failure names itself
            results.append({'ok': False, 'error': f'{type(err).__name__}: {err}'})
    print(json.dumps(results))
