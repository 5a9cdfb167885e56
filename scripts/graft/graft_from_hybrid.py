#!/usr/bin/env python3
"""A graft file recovered from a built hybrid model folder, the inverse of build_hybrid.py:

  graft_from_hybrid.py TEACHER_DIR HYBRID_DIR REFERENCE_GRAFT --out GRAFT.safetensors [--rank 128] [--mlp-rank 16]

Why: a hybrid that exists only as a folder (the mean of two runs' folders, average_hybrids.py; a
run whose graft file was lost) cannot be shipped, nor resumed by distill.py, without its graft file.
Each weight build_hybrid folds a low-rank update into gives back that update as the folder's weight
minus its base (the teacher's weight, or for a Hyena block's projections the base graft_init derives
from the teacher's attention weights), factored by SVD at the given rank (the mean of two rank-r
updates has rank up to 2r); the rest (biases, short filters, poles, residues, D) is copied. The
REFERENCE_GRAFT (any graft of the same teacher and pattern, e.g. the shipped file) names the
tensors and gives the metadata. The folder's weights are bf16, so the recovered updates carry its
rounding: the report gives, per factored weight, the share of the difference's energy the rank
keeps. The result is bf16 (quantize_graft.py stores it in 8 bits) and is judged by what the hybrid
rebuilt from it measures. numpy only; tensors are read from memory-mapped files.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_hybrid import SCALE_COLUMNS, SCALE_ROWS, base_projection, read_safetensors, write_safetensors  # noqa: E402
from mapped_safetensors import MappedTensors  # noqa: E402


def factor(delta, rank):
    """delta_b [out, rank], delta_a [rank, in] with delta_b @ delta_a the best rank-`rank` fit, and
    the share of delta's energy it keeps."""
    u, s, vt = np.linalg.svd(delta.astype(np.float64), full_matrices=False)
    root = np.sqrt(s[:rank])
    kept = float((s[:rank] ** 2).sum() / max((s ** 2).sum(), 1e-300))
    return (u[:, :rank] * root).astype(np.float32), (root[:, None] * vt[:rank]).astype(np.float32), kept


def main():
    p = argparse.ArgumentParser()
    p.add_argument("teacher_dir")
    p.add_argument("hybrid_dir")
    p.add_argument("reference_graft")
    p.add_argument("--out", required=True)
    p.add_argument("--rank", type=int, default=128, help="rank of the Hyena blocks' projection and output updates")
    p.add_argument("--mlp-rank", type=int, default=16, help="rank of the MLP updates")
    a = p.parse_args()
    teacher = MappedTensors(os.path.join(a.teacher_dir, "model.safetensors"))
    hybrid = MappedTensors(os.path.join(a.hybrid_dir, "model.safetensors"))
    cfg = json.load(open(os.path.join(a.teacher_dir, "config.json")))
    reference, meta = read_safetensors(a.reference_graft)
    tensors, kept = [], {}
    for name in sorted(reference):
        if name.endswith(SCALE_ROWS) or name.endswith(SCALE_COLUMNS) or name.endswith(".delta_b"):
            continue
        if name.endswith(".delta_a"):
            stem = name[:-len("delta_a")]  # "blocks.3.projections." or "blocks.0.mlp.l1."
            block = int(stem.split(".")[1])
            if stem.endswith(".projections."):
                base = base_projection(teacher, block, cfg)[0]
                rank = a.rank
            elif stem.endswith(".out_filter_dense."):
                base = teacher[f"blocks.{block}.inner_mha_cls.out_proj.weight"]
                rank = a.rank
            else:
                base = teacher[stem + "weight"]
                rank = a.mlp_rank
            delta_b, delta_a, kept[stem + "weight"] = factor(hybrid[stem + "weight"] - base, rank)
            tensors += [(stem + "delta_a", delta_a, "BF16"), (stem + "delta_b", delta_b, "BF16")]
        else:
            tensors.append((name, hybrid[name], "F32" if name.endswith(("poles", "residues")) else "BF16"))
    meta = {k: v for k, v in meta.items() if k != "storage"}
    meta.update({"rank": str(a.rank), "mlp_rank": str(a.mlp_rank),
                 "recovered_from": os.path.basename(os.path.normpath(a.hybrid_dir))})
    write_safetensors(a.out, sorted(tensors), meta)
    worst = min(kept, key=kept.get)
    print(f"graft_from_hybrid: wrote {a.out} ({len(tensors)} tensors); energy kept by the ranks: "
          f"mean {np.mean(list(kept.values())):.6f}, least {kept[worst]:.6f} ({worst})")


if __name__ == "__main__":
    main()
