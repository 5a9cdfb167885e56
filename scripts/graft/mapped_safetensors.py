"""A safetensors file's tensors read from a memory map when asked for, as float32 arrays, so that
3.6 GB model folders can be compared or averaged in little memory (graft_from_hybrid.py,
average_hybrids.py). numpy only."""
import json
import struct

import numpy as np


class MappedTensors:
    def __init__(self, path):
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            self.header = json.loads(f.read(n))
        self.header.pop("__metadata__", None)
        self.path = path
        self.start = 8 + n
        self.data = np.memmap(path, dtype=np.uint8, mode="r")

    def __contains__(self, name):
        return name in self.header

    def __getitem__(self, name):
        t = self.header[name]
        raw = self.data[self.start + t["data_offsets"][0]:self.start + t["data_offsets"][1]]
        if t["dtype"] == "BF16":
            return (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(t["shape"])
        if t["dtype"] == "F32":
            return np.frombuffer(raw, np.float32).reshape(t["shape"]).copy()
        raise SystemExit(f"{self.path}: {name}: unsupported type {t['dtype']}")

    def get(self, name, default=None):
        return self[name] if name in self else default
