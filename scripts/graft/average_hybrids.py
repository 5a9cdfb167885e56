#!/usr/bin/env python3
"""The tensor-wise mean of two built hybrid model folders of one teacher and one pattern:

  average_hybrids.py A_DIR B_DIR --out DIR --name NAME

Why: when a run's graft file is lost but the hybrid folder build_hybrid.py made from it survives
(run 7, 2026-12-04), two runs can still be averaged. Every tensor of model.safetensors is averaged
in float64 and stored in its own type (bf16 rounded to nearest even; poles and residues float32).
For the weights build_hybrid folds a low-rank update into, this is the mean of the updates' products
(average_grafts.py averages the factors instead); the result is judged only by what it measures.
The other files come from A_DIR; PROVENANCE.json names both parents. The tensors are streamed from
memory-mapped files, so two 3.6 GB folders need little memory. numpy only.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mapped_safetensors import MappedTensors  # noqa: E402


def f64_to_bf16(x):
    bits = x.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    args = p.parse_args()
    paths = [os.path.join(d, "model.safetensors") for d in (args.a, args.b)]
    ta, tb = MappedTensors(paths[0]), MappedTensors(paths[1])
    ha, hb = ta.header, tb.header
    if set(ha) != set(hb) or any(ha[k]["dtype"] != hb[k]["dtype"] or ha[k]["shape"] != hb[k]["shape"] for k in ha):
        raise SystemExit(f"average_hybrids: {args.a} and {args.b} do not hold the same tensors")
    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.a):
        if f != "model.safetensors":
            shutil.copy(os.path.join(args.a, f), args.out)
    hdr = json.dumps(ha, separators=(",", ":")).encode()
    hdr += b" " * (-(8 + len(hdr)) % 8)  # tensor data 8-byte aligned, as the engine maps it
    with open(os.path.join(args.out, "model.safetensors"), "wb") as out:
        out.write(struct.pack("<Q", len(hdr)))
        out.write(hdr)
        for k in sorted(ha, key=lambda k: ha[k]["data_offsets"][0]):  # the offsets stay as in A
            if ha[k]["dtype"] not in ("BF16", "F32"):
                raise SystemExit(f"average_hybrids: {k}: unsupported type {ha[k]['dtype']}")
            mean = (ta[k].astype(np.float64) + tb[k]) / 2
            out.write((f64_to_bf16(mean) if ha[k]["dtype"] == "BF16" else mean.astype(np.float32)).tobytes())
    provenance_path = os.path.join(args.out, "PROVENANCE.json")
    provenance = json.load(open(provenance_path)) if os.path.exists(provenance_path) else {}
    provenance.pop("graft", None)
    provenance.update({"name": args.name, "graft_sha256": None,
                       "averaged_from": [os.path.basename(os.path.normpath(d)) for d in (args.a, args.b)]})
    with open(provenance_path, "w") as f:
        json.dump(provenance, f, indent=2)
    print(f"average_hybrids: wrote {args.out}, the mean of {len(ha)} tensors")


if __name__ == "__main__":
    main()
