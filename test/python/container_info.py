"""What a facility user's h5py sees in an sxarchive container, for test/ingest/container-*.test.ts.

Usage: container_info.py CONTAINER [SOURCE]. Prints JSON: the product and sxarchive_codec
attributes, the filter pipeline of /entry_1/data_1/data (id and cd_values, from the dataset's
creation property list), its shape and dtype, and the SHA-256 of each frame as h5py decodes it.
Debian has no HDF5 zstd plugin, so zstd chunks (32015) are read raw and decompressed with
python3-zstandard. With SOURCE (a simulated run), also the largest |container - source| of each
frame and whether every pixel is within the quantizer's bound step*sqrt(x + 3/8)/2 + step^2/16 + 1/2.
"""
import hashlib
import json
import sys

import h5py
import hdf5plugin  # noqa: F401  registers the filters Debian packages
import numpy as np

DATA = "/entry_1/data_1/data"


def frames(d, filters):
    for i in range(d.shape[0]):
        if any(f[0] == 32015 for f in filters):
            import zstandard
            _mask, chunk = d.id.read_direct_chunk((i, 0, 0))
            raw = zstandard.ZstdDecompressor().decompress(chunk)
            yield np.frombuffer(raw, dtype=d.dtype.newbyteorder("<")).reshape(d.shape[1:])
        else:
            yield d[i]


with h5py.File(sys.argv[1], "r") as f:
    d = f[DATA]
    plist = d.id.get_create_plist()
    filters = [list(plist.get_filter(k)[:3]) for k in range(plist.get_nfilters())]
    filters = [[fid, list(cd)] for fid, _flags, cd in filters]
    out = {
        "product": f["/entry_1"].attrs["sxarchive_product"],
        "codec": json.loads(f["/entry_1"].attrs["sxarchive_codec"]),
        "shape": list(d.shape),
        "dtype": str(d.dtype),
        "filters": filters,
        "stored_chunks": d.id.get_num_chunks(),
    }
    decoded = list(frames(d, filters))
    out["frames"] = [hashlib.sha256(np.ascontiguousarray(a, dtype=d.dtype.newbyteorder("<")).tobytes()).hexdigest() for a in decoded]
    if len(sys.argv) > 2:
        with h5py.File(sys.argv[2], "r") as s:
            src = s["/entry/data/data"]
            step = out["codec"].get("reduction", {}).get("step")
            worst, within = [], True
            for i, a in enumerate(decoded):
                x = src[i].astype(np.float64)
                err = np.abs(a.astype(np.float64) - x)
                worst.append(float(err.max()))
                if step is not None:
                    bound = step / 2 * np.sqrt(x + 0.375) + step * step / 16 + 0.5
                    within = within and bool((err <= bound).all())
            out["max_error"] = worst
            out["within_bound"] = within
print(json.dumps(out))
