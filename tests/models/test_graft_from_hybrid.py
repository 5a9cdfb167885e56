#!/usr/bin/env python3
"""A graft recovered from hybrid folders (scripts/graft/graft_from_hybrid.py) against the grafts
that made them: a tiny teacher in the layout build_hybrid.py reads, two rank-2 grafts built into
hybrids, the mean of those folders (average_hybrids.py) factored back at rank 4. The recovered
graft's updates must be the mean of the two grafts' updates (within the hybrids' bf16 rounding),
its other tensors the mean of theirs, and the hybrid rebuilt from it the averaged folder.

Run: scripts/models/python tests/models/test_graft_from_hybrid.py   (CTest: models.graft_from_hybrid)
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GRAFT = os.path.join(ROOT, "scripts", "graft")
sys.path.insert(0, GRAFT)
from build_hybrid import read_safetensors, write_safetensors  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
from file_hash import sha256_of  # noqa: E402

D, HEADS, INNER, LAYERS, HYENA = 16, 2, 24, 2, [1]
CFG = {"hidden_size": D, "num_attention_heads": HEADS, "proj_groups": 1, "num_layers": LAYERS, "inner_mlp_size": INNER}


def run(script, *args):
    subprocess.run([sys.executable, os.path.join(GRAFT, script), *args], check=True, capture_output=True)


def make_teacher(folder, rng):
    os.makedirs(folder)
    w = {}
    for i in range(LAYERS):
        b = f"blocks.{i}."
        w[b + "inner_mha_cls.Wqkv.weight"] = rng.standard_normal((3 * D, D)) * 0.1
        w[b + "inner_mha_cls.out_proj.weight"] = rng.standard_normal((D, D)) * 0.1
        for name, shape in (("l1", (INNER, D)), ("l2", (INNER, D)), ("l3", (D, INNER))):
            w[b + f"mlp.{name}.weight"] = rng.standard_normal(shape) * 0.1
    write_safetensors(os.path.join(folder, "model.safetensors"),
                      [(k, v.astype(np.float32), "BF16") for k, v in sorted(w.items())], {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(CFG, f)


def make_graft(path, teacher_sha, rng, rank=2):
    t = {}
    for i in HYENA:
        b = f"blocks.{i}."
        for name, (out, inp) in (("projections", (3 * D, D)), ("out_filter_dense", (D, D))):
            t[b + name + ".delta_a"] = rng.standard_normal((rank, inp)) * 0.3
            t[b + name + ".delta_b"] = rng.standard_normal((out, rank)) * 0.3
            t[b + name + ".bias"] = rng.standard_normal(out) * 0.1
        t[b + "filter.short_filter_weight"] = rng.standard_normal((3 * D, 1, 3))
        t[b + "filter.short_filter_bias"] = rng.standard_normal(3 * D)
        t[b + "filter.poles"] = rng.standard_normal((D, 2, 1, 2))
        t[b + "filter.residues"] = rng.standard_normal((D, 2, 1, 2))
        t[b + "filter.D"] = rng.standard_normal(D)
    for i in range(LAYERS):
        for name, (out, inp) in (("l1", (INNER, D)), ("l2", (INNER, D)), ("l3", (D, INNER))):
            t[f"blocks.{i}.mlp.{name}.delta_a"] = rng.standard_normal((rank, inp)) * 0.2
            t[f"blocks.{i}.mlp.{name}.delta_b"] = rng.standard_normal((out, rank)) * 0.2
    rows = [(k, v.astype(np.float32), "F32" if k.endswith(("poles", "residues")) else "BF16") for k, v in sorted(t.items())]
    write_safetensors(path, rows, {"teacher_sha256": teacher_sha, "hyena_layer_idxs": json.dumps(HYENA),
                                   "pattern": "layers:1", "rank": str(rank), "mlp_rank": str(rank)})


class GraftFromHybrid(unittest.TestCase):
    def test_the_mean_of_two_hybrids_comes_back_as_the_mean_of_their_grafts(self):
        rng = np.random.default_rng(5)
        with tempfile.TemporaryDirectory() as tmp:
            teacher = os.path.join(tmp, "teacher")
            make_teacher(teacher, rng)
            sha = sha256_of(os.path.join(teacher, "model.safetensors"))
            grafts = [os.path.join(tmp, f"graft{k}.safetensors") for k in (0, 1)]
            for path in grafts:
                make_graft(path, sha, rng)
                run("build_hybrid.py", teacher, path, "--out", path + ".hybrid")
            mean_dir, recovered = os.path.join(tmp, "mean"), os.path.join(tmp, "recovered.safetensors")
            run("average_hybrids.py", grafts[0] + ".hybrid", grafts[1] + ".hybrid", "--out", mean_dir, "--name", "mean")
            run("graft_from_hybrid.py", teacher, mean_dir, grafts[0], "--out", recovered, "--rank", "4", "--mlp-rank", "4")

            back, meta = read_safetensors(recovered)
            originals = [read_safetensors(path)[0] for path in grafts]
            self.assertEqual(set(back), set(originals[0]))
            self.assertEqual((meta["rank"], meta["mlp_rank"], meta["recovered_from"]), ("4", "4", "mean"))
            for name in back:
                if name.endswith(".delta_b"):
                    continue
                if name.endswith(".delta_a"):
                    stem = name[:-len("delta_a")]
                    got = back[stem + "delta_b"] @ back[name]
                    want = sum(g[stem + "delta_b"] @ g[name] for g in originals) / 2
                else:
                    got, want = back[name], sum(g[name] for g in originals) / 2
                # The hybrids hold bf16 (8 significant bits) of base + update.
                err = np.linalg.norm(got - want) / np.linalg.norm(want)
                self.assertLess(err, 0.02, name)

            rebuilt = os.path.join(tmp, "rebuilt")
            run("build_hybrid.py", teacher, recovered, "--out", rebuilt)
            a, _ = read_safetensors(os.path.join(mean_dir, "model.safetensors"))
            b, _ = read_safetensors(os.path.join(rebuilt, "model.safetensors"))
            self.assertEqual(set(a), set(b))
            for name in a:
                self.assertLess(np.linalg.norm(a[name] - b[name]) / np.linalg.norm(a[name]), 0.01, name)


if __name__ == "__main__":
    unittest.main()
