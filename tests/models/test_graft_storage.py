#!/usr/bin/env python3
"""8-bit graft storage (scripts/graft/quantize_graft.py) read back by the hybrid builder
(scripts/graft/build_hybrid.py): low-rank factors come back within half a quantization step of
their rank component's scale, everything else byte for byte, the file shrinks, and a damaged 8-bit tensor is
refused by name.

Run: scripts/models/python tests/models/test_graft_storage.py   (CTest: models.graft_storage)
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "graft"))
from build_hybrid import GraftError, read_safetensors, write_safetensors  # noqa: E402

QUANTIZE = os.path.join(ROOT, "scripts", "graft", "quantize_graft.py")


def bf16_round(a):
    """What a BF16 tensor holds: float32 with the low 16 bits rounded away (to nearest even)."""
    u = a.astype(np.float32).view(np.uint32)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


class GraftStorage(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        rng = np.random.default_rng(3)
        self.tensors = {
            "blocks.1.projections.delta_a": bf16_round(rng.standard_normal((4, 32)) * 0.02),
            "blocks.1.projections.delta_b": bf16_round(rng.standard_normal((96, 4)) * 0.5),
            "blocks.1.mlp.l1.delta_a": bf16_round(rng.standard_normal((2, 32)) * 0.01),
            "blocks.1.mlp.l1.delta_b": bf16_round(np.vstack([np.zeros((1, 2)), rng.standard_normal((63, 2))])),  # a zero row
            "blocks.1.projections.bias": bf16_round(rng.standard_normal(96)),
            "blocks.1.filter.poles": rng.standard_normal((32, 4, 1, 2)).astype(np.float32),
        }
        dtypes = {k: "F32" if k.endswith("poles") else "BF16" for k in self.tensors}
        self.src = os.path.join(self.dir.name, "graft.safetensors")
        write_safetensors(self.src, [(k, v, dtypes[k]) for k, v in self.tensors.items()],
                          {"teacher_sha256": "0" * 64, "hyena_layer_idxs": "[1]"})
        self.out = os.path.join(self.dir.name, "graft-q8.safetensors")
        subprocess.run([sys.executable, QUANTIZE, self.src, self.out], check=True, capture_output=True)

    def tearDown(self):
        self.dir.cleanup()

    def test_factors_come_back_within_half_a_step_and_the_rest_exactly(self):
        back, meta = read_safetensors(self.out)
        self.assertEqual(set(back), set(self.tensors))
        self.assertEqual(meta["hyena_layer_idxs"], "[1]")
        self.assertIn("int8", meta["storage"])
        for name, original in self.tensors.items():
            if ".delta_" in name:  # below rank 64 a scale for each rank component: rows of delta_a, columns of delta_b
                step = np.abs(original).max(axis=1 if name.endswith("delta_a") else 0, keepdims=True) / 127.0
                self.assertTrue(np.all(np.abs(back[name] - original) <= step / 2 + 1e-7), name)
            else:
                np.testing.assert_array_equal(back[name], original, err_msg=name)
        self.assertLess(os.path.getsize(self.out), os.path.getsize(self.src))

    def test_factors_of_rank_64_and_more_get_a_scale_for_each_rank_long_vector(self):
        # An SVD's factors (graft_from_hybrid.py) have spiky singular vectors: from rank 64 a scale
        # covers one column of delta_a or one row of delta_b, each 64 values or more long.
        rng = np.random.default_rng(4)
        a = bf16_round(rng.standard_normal((64, 40)) * np.geomspace(1e-3, 1, 40))  # columns of very different size
        b = bf16_round(rng.standard_normal((50, 64)) * np.geomspace(1e-3, 1, 50)[:, None])  # and rows
        src, out = os.path.join(self.dir.name, "wide.safetensors"), os.path.join(self.dir.name, "wide-q8.safetensors")
        write_safetensors(src, [("blocks.1.projections.delta_a", a, "BF16"), ("blocks.1.projections.delta_b", b, "BF16")],
                          {"teacher_sha256": "0" * 64})
        subprocess.run([sys.executable, QUANTIZE, src, out], check=True, capture_output=True)
        with open(out, "rb") as f:
            header = f.read(8 + int.from_bytes(f.read(8), "little"))
        self.assertIn(b"blocks.1.projections.delta_a.scale_columns", header)
        self.assertIn(b"blocks.1.projections.delta_b.scale_rows", header)
        back, _ = read_safetensors(out)
        for name, original, axis in (("blocks.1.projections.delta_a", a, 0), ("blocks.1.projections.delta_b", b, 1)):
            step = np.abs(original).max(axis=axis, keepdims=True) / 127.0
            self.assertTrue(np.all(np.abs(back[name] - original) <= step * (0.5 + 1e-4)), name)  # + float32 rounding

    def test_an_8_bit_tensor_without_its_scales_is_refused_by_name(self):
        tensors, meta = read_safetensors(self.out)
        damaged = os.path.join(self.dir.name, "damaged.safetensors")
        rows = []
        for name, v in tensors.items():
            if name == "blocks.1.projections.delta_b":
                rows.append((name, np.rint(v / (np.abs(v).max() / 127)).astype(np.int8), "I8"))  # its scales left out
            else:
                rows.append((name, v, "F32"))
        write_safetensors(damaged, rows, meta)
        with self.assertRaises(GraftError) as e:
            read_safetensors(damaged)
        self.assertIn("blocks.1.projections.delta_b", str(e.exception))
        self.assertIn("no scales", str(e.exception))


if __name__ == "__main__":
    unittest.main()
