#!/usr/bin/env python3
"""The mean of graft files of one pattern and one lineage (e.g. a graft and the run resumed from it),
every tensor averaged in float32 and stored in its own type:

  average_grafts.py A.safetensors B.safetensors [...] --out MEAN.safetensors

Why: run 5 (summary-heavy conversations) and run 6 (answer-heavy, resumed from run 5) each won
where the other lost; weight averaging of fine-tunes that share a start ("model soups") often keeps
both. The low-rank MLP updates are averaged factor by factor, which is not the mean of their
products; the result is judged only by what it measures (evaluate.py, the answer battery).
"""
import argparse

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def main():
    p = argparse.ArgumentParser()
    p.add_argument("grafts", nargs="+")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    files = [safe_open(path, "pt") for path in a.grafts]
    keys = set(files[0].keys())
    for path, f in zip(a.grafts, files):
        if set(f.keys()) != keys or f.metadata().get("pattern") != files[0].metadata().get("pattern"):
            raise SystemExit(f"average_grafts: {path}: not the same pattern and tensors as {a.grafts[0]}")
    out = {}
    for k in sorted(keys):
        ts = [f.get_tensor(k) for f in files]
        if any(t.shape != ts[0].shape for t in ts):
            raise SystemExit(f"average_grafts: {k}: shapes differ")
        out[k] = (sum(t.float() for t in ts) / len(ts)).to(ts[0].dtype) if ts[0].is_floating_point() else ts[0]
    meta = dict(files[0].metadata())
    meta["averaged_from"] = ",".join(a.grafts)
    save_file(out, a.out, metadata=meta)
    print(f"average_grafts: wrote {a.out}, the mean of {len(files)} grafts")


if __name__ == "__main__":
    main()
