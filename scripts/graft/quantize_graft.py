#!/usr/bin/env python3
"""Stores a graft file's low-rank factors in 8 bits, to keep the file that ships small:

  quantize_graft.py GRAFT.safetensors OUT.safetensors

Every `*.delta_a` / `*.delta_b` factor (the bulk of a graft: the Hyena blocks' projection and output
deltas, the MLP updates) becomes int8 with float32 scales (symmetric, the largest magnitude a scale
covers maps to 127). Below rank 64, one scale for each rank component (a row of delta_a [rank, in],
a column of delta_b [out, rank]): a scale for every short rank-long vector would cost as much as
the bytes it saves. From rank 64, one for each rank-long vector (a column of delta_a, a row of
delta_b), at most 6% more bytes: factors taken from an SVD (graft_from_hybrid.py, rank 128) have
spiky singular vectors, and per component their products came back 2.2-2.7% off, per vector 0.8-0.9%.
Filters, poles, residues, D and biases stay as they are. build_hybrid.py
reads either form. What the 8 bits cost is measured, not assumed: build both hybrids and compare
them with evaluate.py (bench/results/graft-*.md give the figures). numpy only.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_hybrid import SCALE_COLUMNS, SCALE_ROWS, GraftError, read_safetensors, write_safetensors  # noqa: E402


LONG_SIDE_SCALES_FROM_RANK = 64


def quantize(a, axis):
    """int8 values and float32 scales, one for each index along `axis` (0: rows, 1: columns)."""
    peak = np.abs(a).max(axis=1 - axis)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    shaped = scales[:, None] if axis == 0 else scales[None, :]
    return np.clip(np.rint(a / shaped), -127, 127).astype(np.int8), scales, shaped


def main():
    p = argparse.ArgumentParser()
    p.add_argument("graft")
    p.add_argument("out")
    a = p.parse_args()
    try:
        tensors, meta = read_safetensors(a.graft)
    except GraftError as e:
        sys.exit(f"quantize_graft: {e}")
    with open(a.graft, "rb") as f:  # which tensors are float32 in the source (poles, residues)
        (n,) = struct.unpack("<Q", f.read(8))
        source_dtypes = {k: v["dtype"] for k, v in json.loads(f.read(n)).items() if k != "__metadata__"}
    out, worst = [], 0.0
    for name in sorted(tensors):
        t = tensors[name]
        if (name.endswith(".delta_a") or name.endswith(".delta_b")) and t.ndim == 2:
            rank = t.shape[0] if name.endswith(".delta_a") else t.shape[1]
            per_component = rank < LONG_SIDE_SCALES_FROM_RANK
            axis = (0 if name.endswith(".delta_a") else 1) if per_component else (1 if name.endswith(".delta_a") else 0)
            q, scales, shaped = quantize(t, axis)
            worst = max(worst, float(np.abs(q * shaped - t).max() / max(np.abs(t).max(), 1e-30)))
            out += [(name, q, "I8"), (name + (SCALE_ROWS if axis == 0 else SCALE_COLUMNS), scales, "F32")]
        else:
            out.append((name, t, source_dtypes.get(name, "BF16")))
    meta = dict(meta, storage="int8 low-rank factors with float32 scales (quantize_graft.py)")
    write_safetensors(a.out, out, meta)
    print(f"quantize_graft: {a.graft} ({os.path.getsize(a.graft) / 2**20:.1f} MiB) -> {a.out} "
          f"({os.path.getsize(a.out) / 2**20:.1f} MiB); largest rounding error {worst:.2e} of a factor's peak")


if __name__ == "__main__":
    main()
