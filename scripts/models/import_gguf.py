#!/usr/bin/env python3
"""Import a Llama- or Qwen2-family GGUF (an all-attention transformer) as a StripedHyena model
folder in the Hugging Face layout, which the HyenaDesk engine runs unchanged:

  import_gguf.py FILE.gguf --out DIR [--name NAME] [--provenance JSON]

An all-attention transformer of these families is a StripedHyena checkpoint whose every block is
attention: RMSNorm, fused QKV (optional bias), rotary over the whole head (rotate halves), GQA,
gated SiLU MLP. Written into DIR (complete or absent: built in DIR.partial, then renamed):

  config.json             all-attention layer pattern, proj_groups, rotary base, eps, MLP size, biases, tying
  model.safetensors       bf16, dequantized from the GGUF (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, F16, F32)
  tokenizer.json          byte-level BPE in the HF `tokenizers` format, with the model's pre-tokenizer rules
  tokenizer_config.json   the GGUF's chat template, plus a "hyenadesk" section: chat format, default
                          system prompt, special tokens, normalization
  LICENSE, PROVENANCE.json  when --provenance is given (setup passes the package facts)

Why Python and the `gguf` package: the dequantizers are llama.cpp's own reference code, kept with
the format; the import runs once per model at setup, so its speed does not matter.
Refused, with the reason and nothing written: unknown architectures, quantization types with no
mapping, truncated or damaged files, shapes that do not fit the architecture.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as Q
except ImportError:  # pragma: no cover - setup installs it
    sys.exit("import_gguf: the Python package 'gguf' is missing (scripts/setup installs it)")

IMPORTER_VERSION = 1
SUPPORTED_ARCHS = ("llama", "qwen2")
SUPPORTED_TYPES = {Q.F32, Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q8_0, Q.Q4_K, Q.Q5_K, Q.Q6_K}

# Default system prompts of the chat templates we know: the one found in the GGUF's template is
# the model's default (ChatML adds it when the conversation has no system message).
KNOWN_DEFAULT_SYSTEM_PROMPTS = (
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
)

# Pre-tokenizers of the tokenizer.json we write, per llama.cpp `tokenizer.ggml.pre` name.
GPT2_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")
PRE_TOKENIZERS = {
    # SmolLM: digits one by one (\p{N}), then GPT-2's byte-level regex. transformers' own GGUF
    # conversion writes plain ByteLevel here, which differs from llama.cpp (the model's rule)
    # wherever spaces precede a digit.
    "smollm": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, GPT2_BYTE_LEVEL]},
    "qwen2": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
    "gpt2": {"type": "Sequence", "pretokenizers": [GPT2_BYTE_LEVEL]},
}
# Qwen's own tokenizer.json normalizes to NFC before splitting; llama.cpp does not. We follow the
# model's original tokenizer (what it was trained on), so composed and decomposed accents give
# the same ids.
NORMALIZERS = {"qwen2": {"type": "NFC"}}


class ImportError_(Exception):
    pass


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def bf16_bytes(a):
    """float32 -> bfloat16 bytes, round to nearest even (what torch's .to(bfloat16) does)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a.astype(np.float32, copy=False)).reshape(u.shape)
    rounded[nan] = 0x7FC0
    return rounded.tobytes()


def dequantize(t):
    if t.tensor_type not in SUPPORTED_TYPES:
        raise ImportError_(f"tensor {t.name}: quantization type {t.tensor_type.name} has no mapping "
                           f"(supported: {', '.join(sorted(q.name for q in SUPPORTED_TYPES))})")
    shape = tuple(int(n) for n in reversed(t.shape.tolist()))  # GGUF lists ne0 (innermost) first
    try:
        values = gguf.quants.dequantize(t.data, t.tensor_type)
    except Exception as e:  # damaged block data
        raise ImportError_(f"tensor {t.name}: cannot dequantize {t.tensor_type.name}: {e}")
    values = np.asarray(values, dtype=np.float32)
    if values.size != int(np.prod(shape)):
        raise ImportError_(f"tensor {t.name}: {values.size} values for shape {list(shape)}")
    return values.reshape(shape)


def unpermute_rope_rows(w, n_head):
    """llama.cpp's converter permutes the rows of attn_q/attn_k of Llama models for its rope
    layout; undo it (what transformers' GGUF loader does)."""
    out_dim, in_dim = w.shape
    return w.reshape(n_head, out_dim // n_head // 2, 2, in_dim).swapaxes(1, 2).reshape(out_dim, in_dim)


class Model:
    def __init__(self, path):
        try:
            self.reader = gguf.GGUFReader(path)
        except Exception as e:
            raise ImportError_(f"not a readable GGUF file (truncated or damaged?): {e}")
        r = self.reader
        self.arch = field(r, "general.architecture")
        if self.arch not in SUPPORTED_ARCHS:
            raise ImportError_(f"architecture '{self.arch}' cannot be mapped onto StripedHyena blocks "
                               f"(supported: {', '.join(SUPPORTED_ARCHS)})")
        a = self.arch

        def need(key):
            v = field(r, f"{a}.{key}")
            if v is None:
                raise ImportError_(f"metadata key {a}.{key} is missing")
            return v
        self.layers = int(need("block_count"))
        self.hidden = int(need("embedding_length"))
        self.ffn = int(need("feed_forward_length"))
        self.heads = int(need("attention.head_count"))
        self.kv_heads = int(field(r, f"{a}.attention.head_count_kv", self.heads))
        self.context = int(need("context_length"))
        self.rope_base = float(field(r, f"{a}.rope.freq_base", 10000.0))
        self.eps = float(str(np.float32(need("attention.layer_norm_rms_epsilon"))))
        self.head_dim = self.hidden // self.heads
        rope_dims = int(field(r, f"{a}.rope.dimension_count", self.head_dim))
        if rope_dims != self.head_dim:
            raise ImportError_(f"rotary over {rope_dims} of {self.head_dim} head dimensions is not supported")
        if field(r, f"{a}.rope.scaling.type") not in (None, "none"):
            raise ImportError_(f"rope scaling '{field(r, f'{a}.rope.scaling.type')}' is not supported")
        if self.heads % self.kv_heads:
            raise ImportError_(f"{self.heads} heads do not divide into {self.kv_heads} key/value heads")
        self.tensors = {t.name: t for t in r.tensors}
        # Every tensor's bytes must lie inside the file (a truncated download fails here).
        size = os.path.getsize(path)
        for t in r.tensors:
            if t.data_offset + t.n_bytes > size:
                raise ImportError_(f"truncated: tensor {t.name} ends at byte {t.data_offset + t.n_bytes}, "
                                   f"the file has {size}")
        self.tied = "output.weight" not in self.tensors
        self.qkv_bias = f"blk.0.attn_q.bias" in self.tensors
        self.vocab = int(self.tensors["token_embd.weight"].shape[1]) if "token_embd.weight" in self.tensors else 0
        if not self.vocab:
            raise ImportError_("tensor token_embd.weight is missing")

    def tensor(self, name):
        t = self.tensors.get(name)
        if t is None:
            raise ImportError_(f"tensor {name} is missing")
        return t

    def config(self):
        return {
            "architectures": ["StripedHyenaModelForCausalLM"],
            "model_type": "stripedhyena",
            "torch_dtype": "bfloat16",
            "vocab_size": self.vocab,
            "hidden_size": self.hidden,
            "num_filters": self.hidden,
            "num_layers": self.layers,
            "attn_layer_idxs": list(range(self.layers)),
            "hyena_layer_idxs": [],
            "num_attention_heads": self.heads,
            "proj_groups": self.heads // self.kv_heads,
            "qkv_proj_bias": self.qkv_bias,
            "mha_out_proj_bias": False,
            "rotary_emb_base": self.rope_base,
            "inner_mlp_size": self.ffn,
            "mlp_activation": "silu",
            "eps": self.eps,
            "tie_embeddings": self.tied,
            "final_norm": True,
            "max_seqlen": self.context,
            "short_filter_length": 3,
            "state_size": 2,
            "column_split_hyena": True,
        }

    def planned_tensors(self):
        """(name, shape, producer) in file order; producer() returns float32 values."""
        D, F, kv = self.hidden, self.ffn, self.kv_heads * self.head_dim
        plan = [("embedding_layer.weight", (self.vocab, D), lambda: dequantize(self.tensor("token_embd.weight")))]
        for i in range(self.layers):
            b, g = f"blocks.{i}.", f"blk.{i}."

            def qkv(g=g):
                q = dequantize(self.tensor(g + "attn_q.weight"))
                k = dequantize(self.tensor(g + "attn_k.weight"))
                if self.arch == "llama":
                    q, k = unpermute_rope_rows(q, self.heads), unpermute_rope_rows(k, self.kv_heads)
                return np.concatenate([q, k, dequantize(self.tensor(g + "attn_v.weight"))])
            plan += [
                (b + "pre_norm.scale", (D,), lambda g=g: dequantize(self.tensor(g + "attn_norm.weight"))),
                (b + "inner_mha_cls.Wqkv.weight", (D + 2 * kv, D), qkv),
            ]
            if self.qkv_bias:
                plan.append((b + "inner_mha_cls.Wqkv.bias", (D + 2 * kv,), lambda g=g: np.concatenate(
                    [dequantize(self.tensor(g + f"attn_{x}.bias")) for x in "qkv"])))
            plan += [
                (b + "inner_mha_cls.out_proj.weight", (D, D), lambda g=g: dequantize(self.tensor(g + "attn_output.weight"))),
                (b + "post_norm.scale", (D,), lambda g=g: dequantize(self.tensor(g + "ffn_norm.weight"))),
                (b + "mlp.l1.weight", (F, D), lambda g=g: dequantize(self.tensor(g + "ffn_gate.weight"))),
                (b + "mlp.l2.weight", (F, D), lambda g=g: dequantize(self.tensor(g + "ffn_up.weight"))),
                (b + "mlp.l3.weight", (D, F), lambda g=g: dequantize(self.tensor(g + "ffn_down.weight"))),
            ]
        plan.append(("norm.scale", (D,), lambda: dequantize(self.tensor("output_norm.weight"))))
        if not self.tied:
            plan.append(("unembed.weight", (self.vocab, D), lambda: dequantize(self.tensor("output.weight"))))
        return plan

    def check_shapes(self):
        """Every GGUF tensor the plan reads has the shape the architecture implies (before writing)."""
        D, F, kv = self.hidden, self.ffn, self.kv_heads * self.head_dim
        want = {"token_embd.weight": (self.vocab, D), "output_norm.weight": (D,)}
        if not self.tied:
            want["output.weight"] = (self.vocab, D)
        for i in range(self.layers):
            g = f"blk.{i}."
            want.update({g + "attn_norm.weight": (D,), g + "attn_q.weight": (D, D), g + "attn_k.weight": (kv, D),
                         g + "attn_v.weight": (kv, D), g + "attn_output.weight": (D, D), g + "ffn_norm.weight": (D,),
                         g + "ffn_gate.weight": (F, D), g + "ffn_up.weight": (F, D), g + "ffn_down.weight": (D, F)})
            if self.qkv_bias:
                want.update({g + "attn_q.bias": (D,), g + "attn_k.bias": (kv,), g + "attn_v.bias": (kv,)})
        for name, shape in want.items():
            t = self.tensor(name)
            got = tuple(int(n) for n in reversed(t.shape.tolist()))
            if got != shape:
                raise ImportError_(f"tensor {name} has shape {list(got)}, the architecture implies {list(shape)}")
            if t.tensor_type not in SUPPORTED_TYPES:
                raise ImportError_(f"tensor {name}: quantization type {t.tensor_type.name} has no mapping "
                                   f"(supported: {', '.join(sorted(q.name for q in SUPPORTED_TYPES))})")

    def tokenizer(self):
        r = self.reader
        if field(r, "tokenizer.ggml.model") != "gpt2":
            raise ImportError_(f"tokenizer model '{field(r, 'tokenizer.ggml.model')}' is not byte-level BPE (gpt2)")
        pre = field(r, "tokenizer.ggml.pre", "gpt2")
        if pre not in PRE_TOKENIZERS:
            raise ImportError_(f"pre-tokenizer '{pre}' has no known rule (known: {', '.join(PRE_TOKENIZERS)})")
        tokens = field(r, "tokenizer.ggml.tokens")
        types = field(r, "tokenizer.ggml.token_type")
        merges = field(r, "tokenizer.ggml.merges")
        if not tokens or not merges or len(types) != len(tokens):
            raise ImportError_("tokenizer vocabulary or merges missing")
        # llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte.
        added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": types[i] == 3}
                 for i, t in enumerate(tokens) if types[i] in (3, 4)]
        tok = {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": added,
            "normalizer": NORMALIZERS.get(pre),
            "pre_tokenizer": PRE_TOKENIZERS[pre],
            "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": {t: i for i, t in enumerate(tokens)}, "merges": list(merges)},
        }
        template = field(r, "tokenizer.chat_template", "")
        ids = {k: field(r, f"tokenizer.ggml.{k}_token_id") for k in ("bos", "eos", "padding", "unknown")}
        name = lambda i: tokens[int(i)] if i is not None else None
        system = next((s for s in KNOWN_DEFAULT_SYSTEM_PROMPTS if s in template), None)
        chat_format = "chatml" if "<|im_start|>" in template else None
        if chat_format is None:
            raise ImportError_("the chat template is not ChatML, the one family HyenaDesk imports")
        config = {
            "chat_template": template,
            "bos_token": name(ids["bos"]), "eos_token": name(ids["eos"]), "pad_token": name(ids["padding"]),
            "unk_token": name(ids["unknown"]),
            "add_bos_token": bool(field(r, "tokenizer.ggml.add_bos_token", False)),
            "hyenadesk": {
                "chat_format": chat_format,
                "default_system_prompt": system,
                "end_of_turn": "<|im_end|>",
                "pre_tokenizer": pre,
                "normalization": NORMALIZERS.get(pre, {}).get("type", "none"),
                "importer_version": IMPORTER_VERSION,
            },
        }
        return tok, config


def write_safetensors(path, plan):
    header, offset = {}, 0
    for name, shape, _ in plan:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt", "producer": f"hyenadesk import_gguf {IMPORTER_VERSION}"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape, produce in plan:
            values = produce()
            if tuple(values.shape) != tuple(shape):
                raise ImportError_(f"{name}: produced shape {list(values.shape)}, planned {list(shape)}")
            f.write(bf16_bytes(values))
        f.flush()
        os.fsync(f.fileno())


def import_gguf(gguf_path, out_dir, name=None, provenance=None, license_file=None):
    model = Model(gguf_path)
    model.check_shapes()
    tok, tok_config = model.tokenizer()
    partial = out_dir.rstrip("/") + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    try:
        config = model.config()
        if name:
            config["_name_or_path"] = name
        with open(os.path.join(partial, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(partial, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False)
        with open(os.path.join(partial, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(tok_config, f, ensure_ascii=False, indent=2)
        write_safetensors(os.path.join(partial, "model.safetensors"), model.planned_tensors())
        if provenance:
            with open(os.path.join(partial, "PROVENANCE.json"), "w") as f:
                json.dump(provenance, f, indent=2)
        if license_file:
            shutil.copyfile(license_file, os.path.join(partial, "LICENSE"))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(partial, out_dir)  # complete or absent, never half
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("gguf")
    p.add_argument("--out", required=True)
    p.add_argument("--name")
    p.add_argument("--provenance", help="JSON file with the package facts to write as PROVENANCE.json")
    p.add_argument("--license", help="licence text to copy as LICENSE")
    a = p.parse_args()
    provenance = json.load(open(a.provenance)) if a.provenance else None
    try:
        m = import_gguf(a.gguf, a.out, a.name, provenance, a.license)
    except ImportError_ as e:
        sys.exit(f"import_gguf: {a.gguf}: {e}; nothing written")
    print(f"import_gguf: {a.gguf} -> {a.out}: {m.arch}, {m.layers} attention blocks, hidden {m.hidden}, "
          f"{m.heads}/{m.kv_heads} heads, vocab {m.vocab}, {'tied' if m.tied else 'untied'} head")


if __name__ == "__main__":
    main()
