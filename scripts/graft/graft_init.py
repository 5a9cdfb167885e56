"""Which attention blocks become Hyena blocks, and how a Hyena block starts from the attention block
it replaces.

Patterns keep the first and the last block as attention (the model's first look at the prompt and
its last word before the logits stay exact):
  every-other     Hyena at odd indices below the last: half the attention cache goes
  three-of-four   attention at every fourth block (and the last), Hyena elsewhere

Initialisation: in Hyena's y = x2 * (h * (x1 * v)), x2 plays the query, x1 the key and v the value
(a diagonal, decaying linear attention), so each head's [x2 | x1 | v] rows of the projection start
as that head's query, key and value rows (key and value from the head's GQA group), with their
biases; the output dense starts as the attention's output projection. The short FIR starts as the
identity; each channel has poles with time scales spread log-uniformly from 2 to 2048 tokens (small
angles), residues (1 - |p|) so every pole is a normalised moving average, and D = 0.
"""
import math

import torch


def pattern(name, layers):
    """Indices of the blocks that become Hyena blocks. `layers:3,5,9` names them (rank_layers.py
    chooses such a set by measurement); block 0 and the last block always stay attention."""
    last = layers - 1
    if name.startswith("layers:"):
        chosen = sorted({int(t) for t in name[len("layers:"):].split(",") if t.strip()})
        if not chosen or chosen[0] < 1 or chosen[-1] >= last:
            raise ValueError(f"pattern {name!r}: blocks must lie in 1..{last - 1} (first and last stay attention)")
        return chosen
    if name == "every-other":
        return [i for i in range(1, last) if i % 2 == 1]
    if name == "three-of-four":
        return [i for i in range(1, last) if i % 4 != 0]
    raise ValueError(f"unknown pattern {name!r}: every-other, three-of-four or layers:I,J,...")


def base_projection(w, i, cfg):
    """[3d, d] projection and [3d] bias with each head's rows [query | key | value]."""
    b = f"blocks.{i}.inner_mha_cls."
    W = w[b + "Wqkv.weight"].float()
    bias = w[b + "Wqkv.bias"].float() if cfg.qkv_bias else torch.zeros(W.shape[0], device=W.device)
    d, hd, kvw = cfg.d, cfg.hd, cfg.kv_heads * cfg.hd
    rep = cfg.heads // cfg.kv_heads
    rows = []
    for h in range(cfg.heads):
        g = h // rep
        rows += [torch.arange(h * hd, (h + 1) * hd), d + torch.arange(g * hd, (g + 1) * hd),
                 d + kvw + torch.arange(g * hd, (g + 1) * hd)]
    order = torch.cat(rows).to(W.device)
    return W[order].contiguous(), bias[order].contiguous()


def base_output(w, i):
    return w[f"blocks.{i}.inner_mha_cls.out_proj.weight"].float().contiguous()


def modal_init(cfg, generator, device):
    """Poles and residues [d, S, 1, 2], time scales log-uniform in [2, 2048] tokens."""
    d, S = cfg.d, cfg.state_size
    tau = torch.exp(torch.empty(d, S).uniform_(math.log(2.0), math.log(2048.0), generator=generator))
    mag = 1.0 - 1.0 / tau
    ang = torch.empty(d, S).uniform_(0.0, math.pi / 16, generator=generator)
    poles = torch.stack((mag * torch.cos(ang), mag * torch.sin(ang)), -1)[:, :, None, :]
    residues = torch.stack(((1.0 - mag) / S, torch.zeros(d, S)), -1)[:, :, None, :]
    return poles.to(device).contiguous(), residues.to(device).contiguous()


def keep_poles_stable(mixer, most=0.9995):
    """After an optimizer step: a pole that left the unit disc is pulled back inside."""
    with torch.no_grad():
        p = mixer.poles
        mag = p.pow(2).sum(-1, keepdim=True).sqrt()
        p.mul_(torch.where(mag > most, most / mag, torch.ones_like(mag)))
