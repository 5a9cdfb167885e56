#!/usr/bin/env python3
"""Perplexity on held-out text the training never saw, of the teacher, of grafted hybrid folders
(as built by build_hybrid.py: the exact bf16 weights the engine runs), and of the teacher with the
same attention blocks simply removed (the floor a graft must beat by far):

  evaluate.py --teacher DIR --heldout TOKENS.npy --hybrid DIR [--hybrid DIR ...] --out RESULTS.json
              [--seq 2048] [--windows 64]

Non-overlapping windows of `seq` tokens from the start of the held-out file; every position but the
first of a window is scored (mean negative log-likelihood, perplexity = exp of it).
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

import hybrid_model as hm


def nll(w, cfg, windows, removed=()):
    total, count = 0.0, 0
    with torch.no_grad():
        for ids in windows:
            logits = hm.forward(w, cfg, ids[None], removed=removed).float()[0, :-1]
            total += float(F.cross_entropy(logits, ids[1:], reduction="sum"))
            count += ids.numel() - 1
    return total / count, count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--teacher", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--hybrid", action="append", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--windows", type=int, default=64)
    p.add_argument("--device", default="cuda")
    a = p.parse_args()
    device = torch.device(a.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    tokens = torch.from_numpy(np.load(a.heldout).astype(np.int64))
    n = min(a.windows, len(tokens) // a.seq)
    windows = [tokens[k * a.seq:(k + 1) * a.seq].to(device) for k in range(n)]
    rows = []
    tcfg = hm.Config(a.teacher)
    tw = hm.load_teacher(a.teacher, device, dtype)
    v, count = nll(tw, tcfg, windows)
    rows.append({"model": os.path.basename(a.teacher.rstrip("/")), "what": "teacher", "hyena_layer_idxs": [],
                 "nll": v, "perplexity": math.exp(v), "tokens": count})
    for folder in a.hybrid:
        cfg = hm.Config(folder)
        layers = sorted(cfg.hyena)
        v, count = nll(tw, tcfg, windows, removed=set(layers))
        rows.append({"model": os.path.basename(a.teacher.rstrip("/")), "what": "attention removed (floor)",
                     "hyena_layer_idxs": layers, "nll": v, "perplexity": math.exp(v), "tokens": count})
        w = hm.load_teacher(folder, device, dtype)
        v, count = nll(w, cfg, windows)
        rows.append({"model": os.path.basename(folder.rstrip("/")), "what": "graft", "hyena_layer_idxs": layers,
                     "nll": v, "perplexity": math.exp(v), "tokens": count})
        del w
    print(f"{'model':<44} {'what':<26} {'Hyena blocks':>12} {'perplexity':>11}")
    for r in rows:
        print(f"{r['model']:<44} {r['what']:<26} {len(r['hyena_layer_idxs']):>12} {r['perplexity']:>11.3f}")
    json.dump({"heldout": os.path.basename(a.heldout), "seq": a.seq, "windows": n, "dtype": str(dtype),
               "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "rows": rows},
              open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
