"""For each container given as JSON [{"path", "sha256", "frames"}] on stdin: whether h5py (with
Debian's filter plugins) opens it, reads every frame, and finds the recorded frame count and
SHA-256. Prints one JSON object per container: {path, ok, frames, sha256_ok, events, error}."""
import hashlib
import json
import sys

import h5py
import hdf5plugin  # noqa: F401  (registers the filters)

DATA = "/entry_1/data_1/data"
EVENTS = "/entry_1/experiment_identifier"
SOURCES = "/entry_1/data_1/source_file"

out = []
for c in json.load(sys.stdin):
    row = {"path": c["path"], "ok": False}
    try:
        with open(c["path"], "rb") as f:
            row["sha256_ok"] = hashlib.sha256(f.read()).hexdigest() == c["sha256"]
        with h5py.File(c["path"], "r") as f:
            d = f[DATA]
            row["frames"] = d.shape[0]
            for i in range(d.shape[0]):
                d[i]
            row["events"] = [
                f"{s.decode() if isinstance(s, bytes) else s}{e.decode() if isinstance(e, bytes) else e}"
                for s, e in zip(f[SOURCES][()], f[EVENTS][()])
            ]
        row["ok"] = row["sha256_ok"] and row["frames"] == c["frames"]
    except Exception as e:  # noqa: BLE001  (every failure is a finding)
        row["error"] = f"{type(e).__name__}: {e}"
    out.append(row)
print(json.dumps(out))
