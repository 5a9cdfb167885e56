#!/usr/bin/env python3
"""The strong decode peer of bench_gpu_engine (issue 14): a Mistral-7B-shaped transformer decoding
from a static KV cache, its one-token step compiled by torch.compile with CUDA-graph replay (the
approach of PyTorch's gpt-fast), batch 1, random bf16 weights.

  compiled_decode_peer.py --lengths 8192,32768,65536,131072 --decode 64 --out PEER.json
                          [--mode reduce-overhead] [--device cuda] [--small]

Why a second decode peer: eager transformers `generate` pays Python and kernel-launch overhead on
every token, so beating it says little. Here the whole step (32 layers: RMSNorm, fused QKV, rotary,
cache write, GQA attention over the cache, output projection, SwiGLU MLP, final norm, logits,
argmax) is one compiled graph replayed from a CUDA graph; what is left is the bytes it reads.

Written for this benchmark (gpt-fast's structure, none of its code). The cache is sized to each
length plus the decode steps (one compilation per length), filled with random values for the
prompt's positions: a decode step's cost does not depend on how the cache was filled. Attention
sees positions <= the current one through a mask over the static cache. Reported per length: the
median step time of `--decode` steps after two warm-up steps, tokens/s, cache and weight bytes, and
the bytes a step must read divided by its time (effective bandwidth). --small runs a tiny shape (CPU
check of the code path).
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


class Shape:
    def __init__(self, small):
        if small:
            self.layers, self.d, self.heads, self.kv_heads, self.ffn, self.vocab = 2, 256, 4, 2, 512, 1000
        else:  # Mistral-7B
            self.layers, self.d, self.heads, self.kv_heads, self.ffn, self.vocab = 32, 4096, 32, 8, 14336, 32000
        self.hd = self.d // self.heads
        self.theta = 1e6


class Decoder(torch.nn.Module):
    """Weights as parameters and the cache as buffers: what the CUDA-graph replay of
    torch.compile treats as static (plain tensor arguments would be copied in on every replay)."""

    def __init__(self, s, device, dtype):
        super().__init__()
        self.s = s
        g = torch.Generator(device=device).manual_seed(0)

        def r(*shape, scale):
            t = (torch.randn(*shape, generator=g, device=device, dtype=torch.float32) * scale).to(dtype)
            return torch.nn.Parameter(t, requires_grad=False)

        def ones():
            return torch.nn.Parameter(torch.ones(s.d, device=device, dtype=dtype), requires_grad=False)

        qkv = (s.heads + 2 * s.kv_heads) * s.hd
        self.emb, self.norm, self.lm_head = r(s.vocab, s.d, scale=0.02), ones(), r(s.vocab, s.d, scale=s.d ** -0.5)
        self.n1 = torch.nn.ParameterList([ones() for _ in range(s.layers)])
        self.n2 = torch.nn.ParameterList([ones() for _ in range(s.layers)])
        self.wqkv = torch.nn.ParameterList([r(qkv, s.d, scale=s.d ** -0.5) for _ in range(s.layers)])
        self.wo = torch.nn.ParameterList([r(s.d, s.heads * s.hd, scale=s.d ** -0.5) for _ in range(s.layers)])
        self.w13 = torch.nn.ParameterList([r(2 * s.ffn, s.d, scale=s.d ** -0.5) for _ in range(s.layers)])
        self.w2 = torch.nn.ParameterList([r(s.d, s.ffn, scale=s.ffn ** -0.5) for _ in range(s.layers)])
        # One buffer per layer and per K/V, as gpt-fast keeps them. A single [layers, ...] buffer
        # written through `cache[i].index_copy_` was functionalized into a copy of the whole cache
        # for every layer of every step (the 2ca5c0c/ac7d2c0 GPU runs: a step cost 18.7 ms per GiB
        # of cache, 32 copies of it); a write into a whole buffer is done in place.
        for i in range(s.layers):
            self.register_buffer(f"k_cache_{i}", torch.empty(0, device=device, dtype=dtype), persistent=False)
            self.register_buffer(f"v_cache_{i}", torch.empty(0, device=device, dtype=dtype), persistent=False)

    def caches(self, i):
        return getattr(self, f"k_cache_{i}"), getattr(self, f"v_cache_{i}")

    def new_cache(self, slots):
        """A cache of `slots` positions, random values (a step's cost does not depend on them)."""
        s, p = self.s, self.emb
        shape = (1, s.kv_heads, slots, s.hd)
        for i in range(s.layers):
            for name in (f"k_cache_{i}", f"v_cache_{i}"):
                setattr(self, name, torch.empty(0, device=p.device, dtype=p.dtype))  # free the old one first
                setattr(self, name, torch.randn(shape, device=p.device, dtype=p.dtype) * 0.5)

    def forward(self, tok, pos):
        """One token: tok [1] ids, pos [1] its position; writes its K/V at pos, returns the next id."""
        s = self.s
        x = F.embedding(tok, self.emb)[None]  # [1, 1, d]
        visible = torch.arange(self.k_cache_0.shape[2], device=tok.device) <= pos
        for i in range(s.layers):
            k_cache, v_cache = self.caches(i)
            h = rms_norm(x, self.n1[i])
            q, k, v = F.linear(h, self.wqkv[i]).split([s.heads * s.hd, s.kv_heads * s.hd, s.kv_heads * s.hd], -1)
            q = rotary(q.view(1, 1, s.heads, s.hd).transpose(1, 2), pos, s)
            k = rotary(k.view(1, 1, s.kv_heads, s.hd).transpose(1, 2), pos, s)
            k_cache.index_copy_(2, pos, k)
            v_cache.index_copy_(2, pos, v.view(1, 1, s.kv_heads, s.hd).transpose(1, 2))
            o = gqa_attention(q, k_cache, v_cache, visible, s)
            x = x + F.linear(o.reshape(1, 1, s.heads * s.hd), self.wo[i])
            gate, up = F.linear(rms_norm(x, self.n2[i]), self.w13[i]).chunk(2, -1)
            x = x + F.linear(F.silu(gate) * up, self.w2[i])
        logits = F.linear(rms_norm(x, self.norm), self.lm_head)[0, -1]
        return logits.argmax(-1, keepdim=True), logits


def gqa_attention(q, k_cache, v_cache, visible, s):
    """One query token against the static cache, written so that inductor fuses it into kernels that
    read each cached K and V once: the query heads of a group share their KV head by a reshape,
    not by copying the cache four times. (The first GPU run used SDPA with a boolean mask and
    enable_gqa: FlashAttention takes no mask, so PyTorch picks another path, and the step ran at
    54 tokens/s at 8k and 17 at 32k, 833 and 322 GB/s of needed bytes: far too slow to be a strong
    peer.) q [1, heads, 1, hd], caches [1, kv_heads, slots, hd]."""
    group = s.heads // s.kv_heads
    qg = q.reshape(s.kv_heads, group, s.hd)  # products in the cache's type, fp32 accumulation
    scores = torch.bmm(qg, k_cache[0].transpose(1, 2)).float() * s.hd ** -0.5
    scores = scores.masked_fill(~visible.view(1, 1, -1), float("-inf"))
    p = torch.softmax(scores, -1).to(q.dtype)
    return torch.bmm(p, v_cache[0]).view(1, 1, s.heads, s.hd)


def rms_norm(x, scale, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * scale


def rotary(x, pos, s):
    """x [1, heads, 1, hd] at position pos (a 1-element tensor): halves rotated."""
    inv = 1.0 / (s.theta ** (torch.arange(0, s.hd, 2, device=x.device, dtype=torch.float32) / s.hd))
    ang = pos.float()[:, None] * inv[None, :]
    cos, sin = torch.cat((ang.cos(), ang.cos()), -1), torch.cat((ang.sin(), ang.sin()), -1)
    a, b = x.float().chunk(2, -1)
    return (x.float() * cos + torch.cat((-b, a), -1) * sin).to(x.dtype)


def measure(model, step, length, steps, device):
    s = model.s
    model.new_cache(length + steps + 2)
    tok = torch.tensor([1], device=device)
    times, first_call_s, matches_eager, eager_rel_error = [], None, None, None
    for t in range(steps + 2):
        pos = torch.tensor([length + t], device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if t == 0:  # the compiled step must compute what the eager step does (the cache write is the same)
            eager = model(tok, pos)[1].float().clone()
            if device.type == "cuda":
                torch.cuda.synchronize()
        t0 = time.perf_counter()
        nxt, logits = step(tok, pos)
        tok = nxt.clone()
        if t == 0:
            # Random weights give near-ties among the top logits, so a bf16 argmax may differ where
            # the computation agrees: compare the logits themselves.
            eager_rel_error = float((logits.float() - eager).norm() / eager.norm())
            matches_eager = eager_rel_error < 2e-2
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if t == 0:
            first_call_s = dt  # includes compiling for this cache size
        if t >= 2:
            times.append(dt)
    times.sort()
    median = times[len(times) // 2]
    el = model.k_cache_0.element_size()
    cache_bytes = 2 * s.layers * s.kv_heads * (length + 1) * s.hd * el  # the part a step must read
    weight_bytes = sum(p.numel() * p.element_size() for name, p in model.named_parameters() if name != "emb")
    return {"prompt_tokens": length, "decode_steps": steps, "step_s_median": median, "decode_tok_per_s": 1.0 / median,
            "first_call_s": first_call_s, "matches_eager": matches_eager, "eager_logits_rel_error": eager_rel_error, "cache_gib": cache_bytes / 2**30, "weights_gib": weight_bytes / 2**30,
            "read_gb_per_s": (cache_bytes + weight_bytes) / median / 1e9}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="8192,32768,65536,131072")
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="reduce-overhead", help="torch.compile mode (reduce-overhead replays CUDA graphs)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--small", action="store_true")
    a = ap.parse_args()
    device = torch.device(a.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    s = Shape(a.small)
    torch._dynamo.config.cache_size_limit = 64
    model = Decoder(s, device, dtype)
    step = torch.compile(model, mode=a.mode, fullgraph=True)
    rows = []
    report = {"torch": torch.__version__, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
              "shape": vars(s), "dtype": str(dtype), "rows": rows}

    def write_report():
        # After every row: each length compiles for about a minute, and a GPU call that reaches
        # its time limit mid-run keeps the rows it finished.
        with open(a.out, "w") as f:
            json.dump(report, f, indent=2)

    with torch.no_grad():
        for length in [int(x) for x in a.lengths.split(",")]:
            row = {"peer": f"mistral7b-static-cache-compiled-{a.mode}"}
            try:
                row.update(measure(model, step, length, a.decode, device))
            except torch.cuda.OutOfMemoryError:
                row.update({"prompt_tokens": length, "error": "out of memory"})
            print(json.dumps(row), flush=True)
            rows.append(row)
            write_report()
            if device.type == "cuda":
                torch.cuda.empty_cache()
    write_report()
    print(f"{'prompt':>8} {'tok/s':>8} {'step ms':>8} {'GB/s read':>10} {'cache GiB':>10}")
    for r in rows:
        if "error" not in r:
            print(f"{r['prompt_tokens']:>8} {r['decode_tok_per_s']:>8.1f} {1e3 * r['step_s_median']:>8.2f} "
                  f"{r['read_gb_per_s']:>10.0f} {r['cache_gib']:>10.3f}")


if __name__ == "__main__":
    main()
