"""Reads a frame stack with Debian's h5py + hdf5plugin/bitshuffle, the way a facility user would.

Prints JSON: shape, dtype, plugin filter ids and the SHA-256 of each frame's bytes (little-endian).
Chunks written with the zstd filter (32015) are checked independently: Debian ships no
HDF5 zstd plugin, so each raw chunk is read and decompressed with python3-zstandard.
"""
import hashlib
import json
import sys

import h5py
import hdf5plugin  # noqa: F401  registers the filters Debian packages
import numpy as np

path, dataset = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    d = f[dataset]
    # h5py names built-in filters ("gzip", "shuffle") and numbers registered plugins ("32008").
    filters = sorted(int(k) for k in d._filters.keys() if str(k).isdigit())
    frames = []
    for i in range(d.shape[0]):
        if 32015 in filters:
            import zstandard
            _mask, chunk = d.id.read_direct_chunk((i, 0, 0))
            raw = zstandard.ZstdDecompressor().decompress(chunk)
            frame = np.frombuffer(raw, dtype=d.dtype.newbyteorder("<"))
        else:
            frame = d[i]
        frames.append(hashlib.sha256(np.ascontiguousarray(frame, dtype=d.dtype.newbyteorder("<")).tobytes()).hexdigest())
    out = {"shape": list(d.shape), "dtype": str(d.dtype), "chunks": list(d.chunks or []), "filters": filters, "frames": frames}
    extra = {}
    for name in sys.argv[3:]:
        v = f[name][()]
        extra[name] = [x.decode() if isinstance(x, bytes) else str(x) for x in v] if hasattr(v, "__len__") and not isinstance(v, (bytes, str)) else (v.decode() if isinstance(v, bytes) else str(v))
    out["extra"] = extra
print(json.dumps(out))
