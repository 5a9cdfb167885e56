"""A StripedHyena model in PyTorch, written from docs/stripedhyena.md for grafting: attention blocks
and Hyena blocks over a model folder in the Hugging Face layout the HyenaDesk engine loads
(config.json + model.safetensors). Our own code; nothing of the reference is copied.

Hyena blocks here are trainable: their projections and output matrix are a frozen base (derived from
the attention block they replace) plus a low-rank delta, so the file that ships is small; the filter
(short FIR, poles, residues, D) and the biases are trained in full. `materialize()` gives the plain
StripedHyena tensors the engine reads.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def rms_norm(x, scale, eps):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * scale.float()).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def rotary(x, base, position0=0):
    """x [B, heads, L, hd]: rotary over the whole head, halves rotated (the engine's convention)."""
    hd, length = x.shape[-1], x.shape[-2]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, device=x.device, dtype=torch.float64) / hd))
    t = torch.arange(position0, position0 + length, device=x.device, dtype=torch.float64)
    ang = torch.outer(t, inv)
    cos = torch.cat((ang.cos(), ang.cos()), -1).to(torch.float32)
    sin = torch.cat((ang.sin(), ang.sin()), -1).to(torch.float32)
    xf = x.float()
    return (xf * cos + rotate_half(xf) * sin).to(x.dtype)


class Config:
    def __init__(self, folder):
        c = json.load(open(os.path.join(folder, "config.json")))
        self.raw = c
        self.d = c["hidden_size"]
        self.layers = c["num_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = self.heads // c.get("proj_groups", 1)
        self.hd = self.d // self.heads
        self.eps = c.get("eps", 1e-5)
        self.base = c.get("rotary_emb_base", 10000.0)
        self.qkv_bias = c.get("qkv_proj_bias", True)
        self.out_bias = c.get("mha_out_proj_bias", True)
        self.tied = c.get("tie_embeddings", False)
        self.state_size = c["state_size"]
        self.taps = c["short_filter_length"]
        self.hyena = set(c.get("hyena_layer_idxs", []))


def load_teacher(folder, device, dtype=torch.bfloat16):
    w = load_file(os.path.join(folder, "model.safetensors"), device=str(device))
    return {k: (v if v.dtype == torch.float32 and ("poles" in k or "residues" in k) else v.to(dtype)) for k, v in w.items()}


def attention(w, i, cfg, x):
    """The attention mixer of block i on normed x [B, L, d] -> [B, L, d]."""
    b = f"blocks.{i}.inner_mha_cls."
    qkv = F.linear(x, w[b + "Wqkv.weight"], w.get(b + "Wqkv.bias") if cfg.qkv_bias else None)
    B, L, _ = x.shape
    q, k, v = torch.split(qkv, [cfg.d, cfg.kv_heads * cfg.hd, cfg.kv_heads * cfg.hd], dim=-1)
    q = rotary(q.view(B, L, cfg.heads, cfg.hd).transpose(1, 2), cfg.base)
    k = rotary(k.view(B, L, cfg.kv_heads, cfg.hd).transpose(1, 2), cfg.base)
    v = v.view(B, L, cfg.kv_heads, cfg.hd).transpose(1, 2)
    rep = cfg.heads // cfg.kv_heads
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    o = o.transpose(1, 2).reshape(B, L, cfg.d)
    return F.linear(o, w[b + "out_proj.weight"], w.get(b + "out_proj.bias") if cfg.out_bias else None)


def hyena(w, i, cfg, x):
    """The Hyena mixer of block i from plain StripedHyena tensors (a built hybrid folder)."""
    b = f"blocks.{i}."
    B, L, d = x.shape
    z = F.linear(x, w[b + "projections.weight"], w[b + "projections.bias"])
    zt = F.pad(z.transpose(1, 2), (cfg.taps - 1, 0))
    z = F.conv1d(zt, w[b + "filter.short_filter_weight"], w.get(b + "filter.short_filter_bias"), groups=3 * d).transpose(1, 2)
    z = z.reshape(B, L, cfg.heads, 3, cfg.hd)
    x2, x1, v = (z[:, :, :, j].reshape(B, L, d) for j in range(3))
    y = long_conv(x1 * v, modal_filter(w[b + "filter.poles"], w[b + "filter.residues"], L), w[b + "filter.D"])
    return F.linear(x2 * y, w[b + "out_filter_dense.weight"], w[b + "out_filter_dense.bias"])


def mlp(w, i, x, delta=None):
    b = f"blocks.{i}.mlp."
    if delta is not None:
        return delta(x, w[b + "l1.weight"], w[b + "l2.weight"], w[b + "l3.weight"])
    return F.linear(F.silu(F.linear(x, w[b + "l1.weight"])) * F.linear(x, w[b + "l2.weight"]), w[b + "l3.weight"])


class MlpDelta(torch.nn.Module):
    """Low-rank updates to a kept block's MLP (gate l1, up l2, down l3): W x + B (A x), B zero at
    the start so training starts from the teacher. They let the blocks around a graft adapt to it;
    build_hybrid.py folds W + B A into the weights, so the engine reads a plain checkpoint."""

    NAMES = ("l1", "l2", "l3")

    def __init__(self, d, inner, rank, device):
        super().__init__()
        shapes = {"l1": (inner, d), "l2": (inner, d), "l3": (d, inner)}
        for n, (rows, cols) in shapes.items():
            setattr(self, n + "_a", torch.nn.Parameter(torch.randn(rank, cols, device=device) / math.sqrt(cols)))
            setattr(self, n + "_b", torch.nn.Parameter(torch.zeros(rows, rank, device=device)))

    def linear(self, name, x, weight):
        a, b = getattr(self, name + "_a"), getattr(self, name + "_b")
        return F.linear(x, weight) + F.linear(F.linear(x, a.to(x.dtype)), b.to(x.dtype))

    def forward(self, x, l1, l2, l3):
        return self.linear("l3", F.silu(self.linear("l1", x, l1)) * self.linear("l2", x, l2), l3)


def modal_filter(poles, residues, length):
    """h [C, L] = Re(sum_s R_s p_s^t), poles/residues [C, S, 1, 2] (real, imag), in float32."""
    p = torch.complex(poles[..., 0, 0].float(), poles[..., 0, 1].float())      # [C, S]
    r = torch.complex(residues[..., 0, 0].float(), residues[..., 0, 1].float())
    t = torch.arange(length, device=poles.device, dtype=torch.float32)
    logp = torch.log(p)                                                         # |p| < 1 keeps it finite
    h = (r[..., None] * torch.exp(logp[..., None] * t)).sum(1)
    return h.real


def long_conv(u, h, D):
    """y = causal conv(u, h) + D u, u [B, L, C], h [C, L], by FFT in float32."""
    L = u.shape[1]
    n = 2 * L
    uf = torch.fft.rfft(u.float().transpose(1, 2), n=n)
    hf = torch.fft.rfft(h, n=n)
    y = torch.fft.irfft(uf * hf, n=n)[..., :L].transpose(1, 2)
    return (y + u.float() * D.float()).to(u.dtype)


class HyenaMixer(torch.nn.Module):
    """A Hyena mixer grafted in place of attention block i: projections = base + low-rank delta,
    short FIR, column split, u = x1 * v, modal long convolution, x2 * y, output dense (base + delta)."""

    def __init__(self, cfg, base_proj, base_proj_bias, base_out, rank, poles, residues):
        super().__init__()
        d = cfg.d
        self.cfg = cfg
        self.register_buffer("base_proj", base_proj)          # [3d, d], frozen
        self.register_buffer("base_out", base_out)            # [d, d], frozen
        dev = base_proj.device
        self.proj_bias = torch.nn.Parameter(base_proj_bias.float().clone())
        self.proj_a = torch.nn.Parameter(torch.randn(rank, d, device=dev) / math.sqrt(d))
        self.proj_b = torch.nn.Parameter(torch.zeros(3 * d, rank, device=dev))
        self.out_a = torch.nn.Parameter(torch.randn(rank, d, device=dev) / math.sqrt(d))
        self.out_b = torch.nn.Parameter(torch.zeros(d, rank, device=dev))
        self.out_bias = torch.nn.Parameter(torch.zeros(d, device=dev))
        fir = torch.zeros(3 * d, 1, cfg.taps, device=dev)
        fir[:, 0, -1] = 1.0  # identity: the current step alone
        self.fir_weight = torch.nn.Parameter(fir)
        self.fir_bias = torch.nn.Parameter(torch.zeros(3 * d, device=dev))
        self.poles = torch.nn.Parameter(poles)
        self.residues = torch.nn.Parameter(residues)
        self.D = torch.nn.Parameter(torch.zeros(d, device=dev))

    def proj_weight(self):
        return self.base_proj.float() + self.proj_b @ self.proj_a

    def out_weight(self):
        return self.base_out.float() + self.out_b @ self.out_a

    def forward(self, x):
        cfg, d = self.cfg, self.cfg.d
        B, L, _ = x.shape
        dt = x.dtype
        z = F.linear(x, self.proj_weight().to(dt), self.proj_bias.to(dt))              # [B, L, 3d]
        zt = F.pad(z.transpose(1, 2), (cfg.taps - 1, 0))
        z = F.conv1d(zt, self.fir_weight.to(dt), self.fir_bias.to(dt), groups=3 * d).transpose(1, 2)
        z = z.reshape(B, L, cfg.heads, 3, cfg.hd)                                        # column split
        x2, x1, v = (z[:, :, :, j].reshape(B, L, d) for j in range(3))
        u = x1 * v
        y = long_conv(u, modal_filter(self.poles, self.residues, L), self.D)
        return F.linear(x2 * y, self.out_weight().to(dt), self.out_bias.to(dt))

    def materialize(self, i):
        """The plain StripedHyena tensors of block i's mixer, as the engine reads them."""
        b = f"blocks.{i}."
        bf = torch.bfloat16
        return {b + "projections.weight": self.proj_weight().detach().to(bf),
                b + "projections.bias": self.proj_bias.detach().to(bf),
                b + "filter.short_filter_weight": self.fir_weight.detach().to(bf),
                b + "filter.short_filter_bias": self.fir_bias.detach().to(bf),
                b + "filter.poles": self.poles.detach().float().contiguous(),
                b + "filter.residues": self.residues.detach().float().contiguous(),
                b + "filter.D": self.D.detach().to(bf),
                b + "out_filter_dense.weight": self.out_weight().detach().to(bf),
                b + "out_filter_dense.bias": self.out_bias.detach().to(bf)}


def forward(w, cfg, ids, mixers=None, removed=(), collect=None, mlp_deltas=None):
    """Logits [B, L, V] of the teacher with `mixers` {i: HyenaMixer} replacing attention blocks
    (and blocks in `removed` losing their attention entirely: the floor a graft must beat) and
    `mlp_deltas` {i: MlpDelta} updating MLPs. With `collect` (a dict), stores each block's input
    residual stream and its attention output."""
    mixers = mixers or {}
    mlp_deltas = mlp_deltas or {}
    x = F.embedding(ids, w["embedding_layer.weight"])
    for i in range(cfg.layers):
        b = f"blocks.{i}."
        h = rms_norm(x, w[b + "pre_norm.scale"], cfg.eps)
        if collect is not None and i in collect:
            collect[i] = (h, attention(w, i, cfg, h))
            x = x + collect[i][1]
        elif i in mixers:
            x = x + mixers[i](h)
        elif i in cfg.hyena:
            x = x + hyena(w, i, cfg, h)
        elif i not in removed:
            x = x + attention(w, i, cfg, h)
        x = x + mlp(w, i, rms_norm(x, w[b + "post_norm.scale"], cfg.eps), mlp_deltas.get(i))
    x = rms_norm(x, w["norm.scale"], cfg.eps)
    return F.linear(x, w["embedding_layer.weight"] if cfg.tied else w["unembed.weight"])
