#!/usr/bin/env python3
"""Graft Hyena blocks into an all-attention teacher and train them by distillation (GPU machine).

  distill.py --teacher DIR --train TOKENS.npy --heldout TOKENS.npy --pattern every-other \
             --out GRAFT.safetensors --report REPORT.json [--rank 64] [--seq 2048] [--batch 8]
             [--stage1-steps 300] [--stage2-steps N] [--seconds 420] [--mlp-rank 8] [--resume GRAFT]

Stage 1: every new block alone learns to reproduce the output of the attention block it replaces,
on the teacher's own hidden states (one teacher pass feeds all blocks; each block has its own loss:
squared error relative to the target's power). Stage 2: all new blocks together, in the hybrid,
learn the teacher's next-token distribution (KL divergence, teacher -> hybrid). The Hyena blocks
train, and with --mlp-rank every block's MLP gets a low-rank update in stage 2 (the blocks around a
graft adapt to it); the teacher's weights themselves stay as they are. Writes the graft file (low-rank deltas,
filters, biases; metadata: teacher SHA-256, pattern, training facts) and a JSON report with the
losses along the way. Perplexities are measured by evaluate.py on the built hybrid folder.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import graft_init
import hybrid_model as hm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from file_hash import sha256_of  # noqa: E402


class Batches:
    """Random windows of `seq` tokens (+1 for the targets) from a token file."""

    def __init__(self, path, seq, batch, seed, device):
        self.tokens = torch.from_numpy(np.load(path).astype(np.int64))
        self.seq, self.batch, self.device = seq, batch, device
        self.gen = torch.Generator().manual_seed(seed)
        if len(self.tokens) < seq + 2:
            raise SystemExit(f"{path}: {len(self.tokens)} tokens, fewer than one window of {seq}")

    def next(self):
        starts = torch.randint(0, len(self.tokens) - self.seq - 1, (self.batch,), generator=self.gen)
        rows = torch.stack([self.tokens[s:s + self.seq] for s in starts.tolist()])
        return rows.to(self.device, non_blocking=True)


class ChatBatches:
    """Rows of `seq` tokens from make_chat_data.py's conversations, each row starting where a
    conversation starts (the rest of the row is the conversations after it, as text windows run on
    across documents)."""

    def __init__(self, paths, seq, batch, seed, device):
        """paths: one or more make_chat_data.py files (e.g. a kept one and a summary-heavy one)."""
        files = [np.load(path) for path in paths]
        tokens = np.concatenate([f["tokens"] for f in files])
        lengths = np.concatenate([f["lengths"] for f in files])
        path = ", ".join(paths)
        self.tokens = torch.from_numpy(tokens.astype(np.int64))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.starts = torch.from_numpy(starts[starts + seq <= len(self.tokens)])
        self.seq, self.batch, self.device = seq, batch, device
        self.gen = torch.Generator().manual_seed(seed + 1)
        if len(self.starts) == 0:
            raise SystemExit(f"{path}: fewer tokens than one row of {seq}")

    def next(self):
        pick = self.starts[torch.randint(0, len(self.starts), (self.batch,), generator=self.gen)]
        rows = torch.stack([self.tokens[s:s + self.seq] for s in pick.tolist()])
        return rows.to(self.device, non_blocking=True)


def make_mixers(w, cfg, layers, rank, seed, device):
    gen = torch.Generator().manual_seed(seed)
    mixers = {}
    for i in layers:
        proj, proj_bias = graft_init.base_projection(w, i, cfg)
        poles, residues = graft_init.modal_init(cfg, gen, device)
        mixers[i] = hm.HyenaMixer(cfg, proj.to(device), proj_bias.to(device), graft_init.base_output(w, i).to(device),
                                  rank, poles, residues).to(device)
    return mixers


def match_scale(mixers, collected):
    """Residues scaled once by the least-squares factor between each block's first output and its
    target (an uncorrelated start then outputs little, instead of noise as loud as the target)."""
    with torch.no_grad():
        for i, m in mixers.items():
            h, target = collected[i]
            got, want = m(h).float(), target.float()
            m.residues.mul_((got * want).sum() / got.pow(2).sum().clamp_min(1e-12))


def train_step(opt, sched, loss, params, mixers):
    """One optimizer step; poles that left the unit disc are pulled back inside."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if sched is not None:
        sched.step()
    for m in mixers.values():
        graft_init.keep_poles_stable(m)


def make_mlp_deltas(w, cfg, rank, device):
    if rank <= 0:
        return {}
    inner = w["blocks.0.mlp.l1.weight"].shape[0]
    return {i: hm.MlpDelta(cfg.d, inner, rank, device) for i in range(cfg.layers)}


def load_graft(path, mixers, mlp_deltas):
    """Continues from a graft file written by save_graft or its 8-bit copy (quantize_graft.py; the
    factors come back as values times scales, the loss the 8-bit file measured), the same pattern
    and ranks; MLP updates the file lacks start from zero."""
    import build_hybrid  # reads bf16, float32 and 8-bit graft files alike
    arrays, _ = build_hybrid.read_safetensors(path)
    t = {name: torch.from_numpy(a) for name, a in arrays.items()}
    with torch.no_grad():
        for i, m in mlp_deltas.items():
            for n in hm.MlpDelta.NAMES:
                for part in ("a", "b"):
                    key = f"blocks.{i}.mlp.{n}.delta_{part}"
                    if key in t:
                        getattr(m, f"{n}_{part}").copy_(t[key].float())
    names = {"proj_a": "projections.delta_a", "proj_b": "projections.delta_b", "proj_bias": "projections.bias",
             "out_a": "out_filter_dense.delta_a", "out_b": "out_filter_dense.delta_b", "out_bias": "out_filter_dense.bias",
             "fir_weight": "filter.short_filter_weight", "fir_bias": "filter.short_filter_bias",
             "poles": "filter.poles", "residues": "filter.residues", "D": "filter.D"}
    with torch.no_grad():
        for i, m in mixers.items():
            for attr, key in names.items():
                getattr(m, attr).copy_(t[f"blocks.{i}.{key}"].float())


def time_based_lr(peak, frac):
    """Stage 2 runs until its time is up: warm up over the first 5%, then a cosine down to zero at
    the end, so a run cut by its budget still ends at a small learning rate."""
    return peak * min(1.0, frac / 0.05) * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0)))


def save_graft(path, mixers, mlp_deltas, meta):
    t = {}
    bf = torch.bfloat16
    for i, m in mlp_deltas.items():
        for n in hm.MlpDelta.NAMES:
            t[f"blocks.{i}.mlp.{n}.delta_a"] = getattr(m, n + "_a").detach().to(bf)
            t[f"blocks.{i}.mlp.{n}.delta_b"] = getattr(m, n + "_b").detach().to(bf)
    for i, m in mixers.items():
        b = f"blocks.{i}."
        t.update({b + "projections.delta_a": m.proj_a.detach().to(bf), b + "projections.delta_b": m.proj_b.detach().to(bf),
                  b + "projections.bias": m.proj_bias.detach().to(bf),
                  b + "out_filter_dense.delta_a": m.out_a.detach().to(bf), b + "out_filter_dense.delta_b": m.out_b.detach().to(bf),
                  b + "out_filter_dense.bias": m.out_bias.detach().to(bf),
                  b + "filter.short_filter_weight": m.fir_weight.detach().to(bf),
                  b + "filter.short_filter_bias": m.fir_bias.detach().to(bf),
                  b + "filter.poles": m.poles.detach().float(), b + "filter.residues": m.residues.detach().float(),
                  b + "filter.D": m.D.detach().to(bf)})
    save_file({k: v.contiguous().cpu() for k, v in t.items()}, path, metadata={k: str(v) for k, v in meta.items()})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--teacher", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--pattern", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--rank", type=int, default=64)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--stage1-steps", type=int, default=300)
    p.add_argument("--stage2-steps", type=int, default=100000, help="at most this many; the time budget usually ends it")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seconds", type=float, default=420, help="time for both stages: stage 2 takes what stage 1 leaves")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda")
    p.add_argument("--resume", help="a graft file of this pattern to continue from (use --stage1-steps 0)")
    p.add_argument("--mlp-rank", type=int, default=0, help="rank of stage 2's updates to every block's MLP (0: none)")
    p.add_argument("--chat", action="append", help="make_chat_data.py's conversations, mixed into stage 2 (repeatable)")
    p.add_argument("--chat-fraction", type=float, default=0.3, help="share of stage 2's batches taken from --chat")
    a = p.parse_args()
    t0 = time.time()
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    cfg = hm.Config(a.teacher)
    w = hm.load_teacher(a.teacher, device, dtype)
    layers = graft_init.pattern(a.pattern, cfg.layers)
    mixers = make_mixers(w, cfg, layers, a.rank, a.seed, device)
    mlp_deltas = make_mlp_deltas(w, cfg, a.mlp_rank, device)
    if a.resume:
        load_graft(a.resume, mixers, mlp_deltas)
    params = [q for m in mixers.values() for q in m.parameters()]
    params2 = params + [q for m in mlp_deltas.values() for q in m.parameters()]
    data = Batches(a.train, a.seq, a.batch, a.seed, device)
    chat = ChatBatches(a.chat, a.seq, a.batch, a.seed, device) if a.chat else None
    pick = torch.Generator().manual_seed(a.seed + 2)
    report = {"pattern": a.pattern, "hyena_layer_idxs": layers, "rank": a.rank, "mlp_rank": a.mlp_rank, "seq": a.seq, "batch": a.batch,
              "stage1": [], "stage2": [], "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu"}
    print(f"distill: {a.pattern}: Hyena at {layers} ({len(layers)} of {cfg.layers}), rank {a.rank}", flush=True)

    # Stage 1: each block alone, on the teacher's hidden states.
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    sched = (torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.stage1_steps, pct_start=0.1)
             if a.stage1_steps > 0 else None)
    tokens1 = 0
    for step in range(a.stage1_steps):
        ids = data.next()
        collected = {i: None for i in layers}
        with torch.no_grad():
            hm.forward(w, cfg, ids, collect=collected)
        if step == 0:
            match_scale(mixers, collected)
        losses = {}
        for i, m in mixers.items():
            h, target = collected[i]
            tf = target.float()
            losses[i] = (m(h).float() - tf).pow(2).mean() / tf.pow(2).mean()
        loss = sum(losses.values())
        train_step(opt, sched, loss, params, mixers)
        tokens1 += ids.numel()
        if step % 25 == 0 or step == a.stage1_steps - 1:
            row = {"step": step, "tokens": tokens1, "relative_error_mean": float(loss.detach()) / len(layers),
                   "worst_block": max(losses, key=lambda i: float(losses[i].detach())), "worst": max(float(v.detach()) for v in losses.values()),
                   "seconds": time.time() - t0}
            report["stage1"].append(row)
            print(f"stage1 {row}", flush=True)

    # Stage 2: all blocks together, on the teacher's logits, for the time left (or --stage2-steps).
    opt = torch.optim.AdamW(params2, lr=a.lr / 4, weight_decay=0.0)
    started = time.time()
    budget = max(a.seconds - (started - t0), 1.0)
    tokens2, steps2, chat_tokens = 0, 0, 0
    for step in range(a.stage2_steps):
        frac = max((time.time() - started) / budget, step / a.stage2_steps)
        if frac >= 1.0:
            print(f"stage2: time budget reached after {step} steps", flush=True)
            break
        for g in opt.param_groups:
            g["lr"] = time_based_lr(a.lr / 4, frac)
        from_chat = chat is not None and float(torch.rand((), generator=pick)) < a.chat_fraction
        ids = chat.next() if from_chat else data.next()
        chat_tokens += ids.numel() if from_chat else 0
        with torch.no_grad():
            teacher = F.log_softmax(hm.forward(w, cfg, ids).float(), -1)
        student = F.log_softmax(hm.forward(w, cfg, ids, mixers=mixers, mlp_deltas=mlp_deltas).float(), -1)
        kl = F.kl_div(student.flatten(0, 1), teacher.flatten(0, 1), log_target=True, reduction="batchmean")
        del teacher
        train_step(opt, None, kl, params2, mixers)
        tokens2 += ids.numel()
        steps2 = step + 1
        if step % 25 == 0:
            row = {"step": step, "tokens": tokens2, "kl": float(kl.detach()), "lr": opt.param_groups[0]["lr"],
                   "seconds": time.time() - t0}
            report["stage2"].append(row)
            print(f"stage2 {row}", flush=True)
    report["stage1_tokens"], report["stage2_tokens"], report["stage2_steps"] = tokens1, tokens2, steps2
    report["stage2_chat_tokens"] = chat_tokens
    report["seconds"] = time.time() - t0
    meta = {"teacher_sha256": sha256_of(os.path.join(a.teacher, "model.safetensors")),
            "teacher": os.path.basename(a.teacher.rstrip("/")), "pattern": a.pattern,
            "hyena_layer_idxs": json.dumps(layers), "rank": a.rank, "mlp_rank": a.mlp_rank, "stage1_tokens": tokens1, "stage2_tokens": tokens2,
            "train_tokens_file": os.path.basename(a.train), "resumed_from": os.path.basename(a.resume or ""),
            "chat_file": ",".join(os.path.basename(c) for c in a.chat or []), "stage2_chat_tokens": chat_tokens}
    save_graft(a.out, mixers, mlp_deltas, meta)
    report["graft_bytes"] = os.path.getsize(a.out)
    json.dump(report, open(a.report, "w"), indent=1)
    print(f"distill: wrote {a.out} ({report['graft_bytes'] / 2**20:.1f} MiB) in {report['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
