#!/usr/bin/env python3
"""Peers of bench_attention: PyTorch's fused attention on the same shape and GPU.

  attention_peers.py --lengths 8192,32768,131072 --out attention-peers.json

Causal attention over a whole prompt of L tokens ("full" mode of bench_attention): 32 query
heads, 8 kv heads (expanded to 32, as transformers' Mistral does), head dim 128, bf16, batch 1,
with scaled_dot_product_attention forced to its FlashAttention-2 backend and to its cuDNN
backend. Median of --reps timed calls after one warm-up, CUDA events around each call.
"""
import argparse
import json

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

HEADS, KV_HEADS, HEAD_DIM = 32, 8, 128


def flops(L):
    return 4.0 * (L * (L + 1) / 2) * HEAD_DIM * HEADS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="8192,32768,131072")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = []
    for L in [int(x) for x in args.lengths.split(",")]:
        g = torch.Generator(device="cuda").manual_seed(L)
        q = torch.randn(1, HEADS, L, HEAD_DIM, device="cuda", dtype=torch.bfloat16, generator=g)
        k = torch.randn(1, KV_HEADS, L, HEAD_DIM, device="cuda", dtype=torch.bfloat16, generator=g)
        v = torch.randn_like(k)
        k = k.repeat_interleave(HEADS // KV_HEADS, dim=1)
        v = v.repeat_interleave(HEADS // KV_HEADS, dim=1)
        for name, backend in [("torch-sdpa-flash2", SDPBackend.FLASH_ATTENTION),
                              ("torch-sdpa-cudnn", SDPBackend.CUDNN_ATTENTION)]:
            row = {"kernel": name, "mode": "full", "tokens": L, "query_rows": L}
            try:
                with sdpa_kernel(backend):
                    torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                    times = []
                    for _ in range(args.reps):
                        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                        a.record()
                        torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                        b.record()
                        torch.cuda.synchronize()
                        times.append(a.elapsed_time(b))
                times.sort()
                ms = times[len(times) // 2]
                row.update(ms=ms, tflops=flops(L) / (ms / 1e3) / 1e12)
            except (RuntimeError, torch.cuda.OutOfMemoryError) as e:
                row["error"] = str(e).splitlines()[0][:200]
            print(row, flush=True)
            rows.append(row)
        del q, k, v
        torch.cuda.empty_cache()
    env = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "cudnn": torch.backends.cudnn.version()}
    with open(args.out, "w") as f:
        json.dump({"environment": env, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
