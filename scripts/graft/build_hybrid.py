#!/usr/bin/env python3
"""Build a grafted StripedHyena model folder from the packaged teacher and a graft file:

  build_hybrid.py TEACHER_DIR GRAFT.safetensors --out DIR [--name NAME] [--sha256 HEX]

The graft file holds low-rank updates of MLPs where stage 2 trained them (folded into the
weights here) and, for each block that became Hyena, low-rank deltas of its projections and
output dense (added to the bases graft_init derives from the teacher's attention weights, exactly
as in training), its biases, short FIR, poles, residues and D; its metadata names the teacher's
weights by SHA-256 and the layer pattern. The result is a plain StripedHyena checkpoint in the
Hugging Face layout (bf16, poles and residues float32) that the engine runs unchanged. Refused with
the reason and nothing written: a graft made for other teacher weights, a damaged file, a hash
that is not the one expected. numpy only (setup's helper environment), no torch.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from file_hash import sha256_of  # noqa: E402
from import_gguf import bf16_bytes  # noqa: E402

DTYPES = {"BF16": 2, "F32": 4, "I8": 1}
# An 8-bit graft (quantize_graft.py) stores a low-rank factor NAME as I8 with one F32 scale for each
# of its rank components: NAME + SCALE_ROWS (delta_a, [rank, in]: a scale a row) or NAME +
# SCALE_COLUMNS (delta_b, [out, rank]: a scale a column). The factor is the values times the scales.
SCALE_ROWS, SCALE_COLUMNS = ".scale_rows", ".scale_columns"


class GraftError(Exception):
    pass


def read_safetensors(path):
    """{name: float32 array} and the metadata; bf16 widened exactly."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise GraftError(f"{path}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", raw)
        if n > 100 << 20:
            raise GraftError(f"{path}: not a safetensors file (header of {n} bytes)")
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise GraftError(f"{path}: damaged header ({e})")
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        if t["dtype"] not in DTYPES or b > len(data) or b - a != int(np.prod(t["shape"])) * DTYPES[t["dtype"]]:
            raise GraftError(f"{path}: tensor {name} is damaged or of an unsupported type {t['dtype']}")
        if t["dtype"] == "BF16":
            u = np.frombuffer(data[a:b], dtype=np.uint16).astype(np.uint32) << 16
            out[name] = u.view(np.float32).reshape(t["shape"])
        elif t["dtype"] == "I8":
            out[name] = np.frombuffer(data[a:b], dtype=np.int8).reshape(t["shape"]).astype(np.float32)
        else:
            out[name] = np.frombuffer(data[a:b], dtype=np.float32).reshape(t["shape"]).copy()
    for name in [n for n, t in header.items() if t["dtype"] == "I8"]:
        rows, columns = out.pop(name + SCALE_ROWS, None), out.pop(name + SCALE_COLUMNS, None)
        shape = out[name].shape
        if len(shape) == 2 and rows is not None and columns is None and rows.shape == (shape[0],):
            out[name] *= rows[:, None]
        elif len(shape) == 2 and columns is not None and rows is None and columns.shape == (shape[1],):
            out[name] *= columns[None, :]
        else:
            raise GraftError(f"{path}: 8-bit tensor {name} has no scales of its shape")
    return out, meta


def write_safetensors(path, tensors, metadata):
    """tensors: [(name, array, "BF16" | "F32" | "I8")] (float32 arrays, int8 for I8)."""
    header, offset = {}, 0
    for name, a, dtype in tensors:
        n = a.size * DTYPES[dtype]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = metadata
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, a, dtype in tensors:
            if dtype == "BF16":
                f.write(bf16_bytes(a))
            elif dtype == "I8":
                f.write(np.ascontiguousarray(a, dtype=np.int8).tobytes())
            else:
                f.write(np.ascontiguousarray(a, dtype=np.float32).tobytes())
        f.flush()
        os.fsync(f.fileno())


def base_projection(w, i, cfg):
    """As graft_init.base_projection: each head's rows [query | key | value], key and value of its group."""
    b = f"blocks.{i}.inner_mha_cls."
    W = w[b + "Wqkv.weight"]
    bias = w.get(b + "Wqkv.bias", np.zeros(W.shape[0], np.float32))
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = d // heads
    kv = heads // cfg.get("proj_groups", 1)
    rep = heads // kv
    order = []
    for h in range(heads):
        g = h // rep
        order += list(range(h * hd, (h + 1) * hd)) + list(range(d + g * hd, d + (g + 1) * hd)) + \
            list(range(d + kv * hd + g * hd, d + kv * hd + (g + 1) * hd))
    return W[order], bias[order]


def build(teacher_dir, graft_path, out_dir, name=None, expected_sha=None):
    graft_sha = sha256_of(graft_path)
    if expected_sha and graft_sha != expected_sha:
        raise GraftError(f"{graft_path}: SHA-256 is not the one expected ({expected_sha}): damaged or another graft")
    graft, meta = read_safetensors(graft_path)
    teacher_file = os.path.join(teacher_dir, "model.safetensors")
    teacher_sha = sha256_of(teacher_file)
    if meta.get("teacher_sha256") != teacher_sha:
        raise GraftError(f"{graft_path}: made for teacher weights {meta.get('teacher_sha256')}, "
                         f"but {teacher_file} is {teacher_sha}")
    cfg = json.load(open(os.path.join(teacher_dir, "config.json")))
    hyena = json.loads(meta["hyena_layer_idxs"])
    w, _ = read_safetensors(teacher_file)
    for i in hyena:
        proj, _ = base_projection(w, i, cfg)  # the bias is trained in full and stored
        b = f"blocks.{i}."
        try:
            w[b + "projections.weight"] = proj + graft[b + "projections.delta_b"] @ graft[b + "projections.delta_a"]
            w[b + "projections.bias"] = graft[b + "projections.bias"]
            w[b + "out_filter_dense.weight"] = (w[b + "inner_mha_cls.out_proj.weight"] +
                                                graft[b + "out_filter_dense.delta_b"] @ graft[b + "out_filter_dense.delta_a"])
            w[b + "out_filter_dense.bias"] = graft[b + "out_filter_dense.bias"]
            for t in ("short_filter_weight", "short_filter_bias", "poles", "residues", "D"):
                w[b + "filter." + t] = graft[b + "filter." + t]
        except KeyError as e:
            raise GraftError(f"{graft_path}: block {i} lacks {e}")
        for t in list(w):
            if t.startswith(b + "inner_mha_cls."):
                del w[t]
    # Low-rank updates of MLPs (distill.py --mlp-rank), folded into the weights.
    for key in sorted(k for k in graft if k.endswith(".delta_a") and ".mlp." in k):
        weight = key[:-len("delta_a")] + "weight"
        if weight not in w or key[:-1] + "b" not in graft:
            raise GraftError(f"{graft_path}: {key} has no matching weight or delta_b")
        w[weight] = w[weight] + graft[key[:-1] + "b"] @ graft[key]
    cfg["hyena_layer_idxs"] = hyena
    cfg["attn_layer_idxs"] = [i for i in range(cfg["num_layers"]) if i not in hyena]
    cfg["_name_or_path"] = name or os.path.basename(out_dir.rstrip("/"))
    partial = out_dir.rstrip("/") + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        tensors = [(k, v.astype(np.float32), "F32" if (k.endswith("poles") or k.endswith("residues")) else "BF16")
                   for k, v in sorted(w.items())]
        write_safetensors(os.path.join(partial, "model.safetensors"), tensors,
                          {"format": "pt", "producer": "hyenadesk build_hybrid", "graft_sha256": graft_sha})
        with open(os.path.join(partial, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        for extra in ("tokenizer.json", "tokenizer_config.json", "LICENSE"):
            if os.path.exists(os.path.join(teacher_dir, extra)):
                shutil.copyfile(os.path.join(teacher_dir, extra), os.path.join(partial, extra))
        try:
            teacher_prov = json.load(open(os.path.join(teacher_dir, "PROVENANCE.json")))
        except (OSError, ValueError):
            teacher_prov = {}
        teacher_name = os.path.basename(teacher_dir.rstrip("/"))
        provenance = {"name": cfg["_name_or_path"], "licence": teacher_prov.get("licence", "see LICENSE"),
                      "upstream_model": f"{teacher_prov.get('upstream_model', teacher_name)} with Hyena blocks grafted "
                                        f"({meta.get('pattern', '?')}, HyenaDesk scripts/graft)",
                      "teacher": teacher_name, "teacher_sha256": teacher_sha, "graft_sha256": graft_sha,
                      "hyena_layer_idxs": hyena, "graft": {k: v for k, v in meta.items() if k != "format"}}
        with open(os.path.join(partial, "PROVENANCE.json"), "w") as f:
            json.dump(provenance, f, indent=2)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(partial, out_dir)  # complete or absent


def main():
    p = argparse.ArgumentParser()
    p.add_argument("teacher_dir")
    p.add_argument("graft")
    p.add_argument("--out", required=True)
    p.add_argument("--name")
    p.add_argument("--sha256")
    a = p.parse_args()
    try:
        build(a.teacher_dir, a.graft, a.out, a.name, a.sha256)
    except GraftError as e:
        sys.exit(f"build_hybrid: {e}")
    print(f"build_hybrid: {a.out}")


if __name__ == "__main__":
    main()
