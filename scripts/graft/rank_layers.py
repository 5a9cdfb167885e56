#!/usr/bin/env python3
"""Chooses which attention blocks to turn into Hyena blocks, by measurement on training text
(never the held-out text):

  rank_layers.py --teacher DIR --train TOKENS.npy --count 13 --out CHOICE.json [--window 64]
                 [--sinks 4] [--windows 8] [--seq 2048] [--batch 4]

Why: a fixed pattern such as every-other block ignores that blocks differ. A Hyena block mixes
tokens by position (a short FIR and long decaying filters, gated by the input); what it cannot do
is look tokens up by their content far back. So each attention block is probed by confining it to
its last `window` tokens plus the first `sinks` tokens (the attention sinks a softmax leans on):
the teacher's KL divergence under that confinement is the damage a Hyena block could not undo.
The blocks are chosen greedily: each round confines one more block, the one whose confinement
together with the blocks already chosen costs least. Block 0 and the last block stay attention.

Writes the per-block damages (confined alone, removed alone), the greedy rounds, the chosen set as
a `layers:...` pattern for distill.py, and the same proxy for the every-other set of the same size
for comparison. The last line printed is the pattern.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

import graft_init
import hybrid_model as hm


def confined_attention(w, i, cfg, x, mask):
    """Block i's attention with each query seeing only the keys `mask` allows ([L, L] bool)."""
    b = f"blocks.{i}.inner_mha_cls."
    qkv = F.linear(x, w[b + "Wqkv.weight"], w.get(b + "Wqkv.bias") if cfg.qkv_bias else None)
    B, L, _ = x.shape
    q, k, v = torch.split(qkv, [cfg.d, cfg.kv_heads * cfg.hd, cfg.kv_heads * cfg.hd], dim=-1)
    q = hm.rotary(q.view(B, L, cfg.heads, cfg.hd).transpose(1, 2), cfg.base)
    k = hm.rotary(k.view(B, L, cfg.kv_heads, cfg.hd).transpose(1, 2), cfg.base)
    v = v.view(B, L, cfg.kv_heads, cfg.hd).transpose(1, 2)
    rep = cfg.heads // cfg.kv_heads
    o = F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), attn_mask=mask)
    o = o.transpose(1, 2).reshape(B, L, cfg.d)
    return F.linear(o, w[b + "out_proj.weight"], w.get(b + "out_proj.bias") if cfg.out_bias else None)


def local_mask(length, window, sinks, device):
    q = torch.arange(length, device=device)[:, None]
    k = torch.arange(length, device=device)[None, :]
    return (k <= q) & ((q - k < window) | (k < sinks))


class Probe:
    """Mean KL (teacher -> modified teacher) per token over fixed training windows."""

    def __init__(self, w, cfg, batches, mask):
        self.w, self.cfg, self.batches, self.mask = w, cfg, batches, mask
        with torch.no_grad():
            self.teacher = [F.log_softmax(hm.forward(w, cfg, ids).float(), -1) for ids in batches]

    def kl(self, confined=(), removed=()):
        mixers = {i: (lambda h, i=i: confined_attention(self.w, i, self.cfg, h, self.mask)) for i in confined}
        total, count = 0.0, 0
        with torch.no_grad():
            for ids, t in zip(self.batches, self.teacher):
                s = F.log_softmax(hm.forward(self.w, self.cfg, ids, mixers=mixers, removed=set(removed)).float(), -1)
                total += float(F.kl_div(s.flatten(0, 1), t.flatten(0, 1), log_target=True, reduction="sum"))
                count += ids.numel()
        return total / count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--teacher", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--count", type=int, required=True, help="how many blocks become Hyena blocks")
    p.add_argument("--out", required=True)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--sinks", type=int, default=4)
    p.add_argument("--windows", type=int, default=8, help="training windows scored")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--device", default="cuda")
    a = p.parse_args()
    t0 = time.time()
    device = torch.device(a.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    cfg = hm.Config(a.teacher)
    w = hm.load_teacher(a.teacher, device, dtype)
    tokens = torch.from_numpy(np.load(a.train).astype(np.int64))
    gen = torch.Generator().manual_seed(a.seed)
    starts = torch.randint(0, len(tokens) - a.seq, (a.windows,), generator=gen).tolist()
    rows = torch.stack([tokens[s:s + a.seq] for s in starts]).to(device)
    batches = list(rows.split(a.batch))
    probe = Probe(w, cfg, batches, local_mask(a.seq, a.window, a.sinks, device))
    candidates = list(range(1, cfg.layers - 1))
    if a.count > len(candidates):
        raise SystemExit(f"--count {a.count}: only {len(candidates)} blocks may become Hyena blocks")

    alone = {i: {"confined": probe.kl(confined=[i]), "removed": probe.kl(removed=[i])} for i in candidates}
    for i in candidates:
        print(f"block {i:>2}: KL confined to {a.window}+{a.sinks} tokens {alone[i]['confined']:.4f}, "
              f"removed {alone[i]['removed']:.4f}", flush=True)
    chosen, rounds = [], []
    for _ in range(a.count):
        costs = {i: probe.kl(confined=chosen + [i]) for i in candidates if i not in chosen}
        best = min(costs, key=costs.get)
        chosen.append(best)
        rounds.append({"added": best, "kl_confined_together": costs[best]})
        print(f"round {len(chosen):>2}: + block {best} -> KL {costs[best]:.4f}", flush=True)
    chosen.sort()
    every_other = graft_init.pattern("every-other", cfg.layers)[:a.count]
    result = {"teacher": a.teacher.rstrip("/").split("/")[-1], "train": a.train.split("/")[-1],
              "windows": a.windows, "seq": a.seq, "window": a.window, "sinks": a.sinks, "count": a.count,
              "alone": {str(i): v for i, v in alone.items()}, "rounds": rounds, "chosen": chosen,
              "pattern": "layers:" + ",".join(map(str, chosen)),
              "chosen_kl_confined": probe.kl(confined=chosen), "chosen_kl_removed": probe.kl(removed=chosen),
              "every_other": every_other, "every_other_kl_confined": probe.kl(confined=every_other),
              "every_other_kl_removed": probe.kl(removed=every_other), "seconds": None,
              "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu"}
    result["seconds"] = time.time() - t0
    print(f"chosen {chosen}: KL confined {result['chosen_kl_confined']:.4f}, removed {result['chosen_kl_removed']:.4f}; "
          f"every-other {every_other}: confined {result['every_other_kl_confined']:.4f}, "
          f"removed {result['every_other_kl_removed']:.4f} ({result['seconds']:.0f} s)", flush=True)
    json.dump(result, open(a.out, "w"), indent=1)
    print(result["pattern"])


if __name__ == "__main__":
    main()
