#!/usr/bin/env python3
"""Golden outputs of our PyTorch StripedHyena (hybrid_model.py) for a model folder with Hyena blocks,
in the format of scripts/fixtures/make_imported_model_golden.py, so bench_imported_model checks the
engine on a grafted model exactly as on the imported transformers:

  golden.py MODEL_DIR OUT.safetensors [--steps 64] [--device cpu|cuda]   (float32)
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file
from tokenizers import Tokenizer

import hybrid_model as hm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_imported_model_golden import chatml_prompt  # noqa: E402  (the same prompt)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    device = torch.device(a.device)
    # A golden file is true float32: on a GPU, TF32 in matrix products and convolutions would move the
    # logits by about 1e-3, far past the 1e-4 the engine is held to.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cfg = hm.Config(a.model_dir)
    w = hm.load_teacher(a.model_dir, device, torch.float32)
    tok = Tokenizer.from_file(os.path.join(a.model_dir, "tokenizer.json"))
    prompt = chatml_prompt(tok, json.load(open(os.path.join(a.model_dir, "tokenizer_config.json"))))
    n = len(prompt)
    vocab = w["embedding_layer.weight"].shape[0]
    positions = sorted(set([0, 1, n // 4, n // 2, (3 * n) // 4, n - 2, n - 1] if vocab < 100000 else [0, n // 2, n - 1]))
    with torch.no_grad():
        logits = hm.forward(w, cfg, torch.tensor([prompt], device=device))[0]
        seq, greedy, margins = list(prompt), [], []
        for _ in range(a.steps):
            row = hm.forward(w, cfg, torch.tensor([seq], device=device))[0, -1]
            top = torch.topk(row, 2)
            greedy.append(int(top.indices[0]))
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(greedy[-1])
        last = hm.forward(w, cfg, torch.tensor([seq], device=device))[0, -1]
    sha = hashlib.sha256(open(os.path.join(a.model_dir, "model.safetensors"), "rb").read()).hexdigest()
    save_file({"prompt": np.array(prompt, np.float32), "positions": np.array(positions, np.float32),
               "logits": logits[positions].cpu().numpy().astype(np.float32),
               "greedy": np.array(greedy, np.float32), "greedy_margin": np.array(margins, np.float32),
               "greedy_logits_last": last.cpu().numpy().astype(np.float32)},
              a.out, metadata={"model_sha256": sha, "torch": torch.__version__, "dtype": "float32", "device": a.device,
                               "model": os.path.basename(a.model_dir.rstrip("/")), "producer": "scripts/graft/golden.py"})
    print(f"{a.out}: prompt {n} tokens, greedy {tok.decode(greedy)!r}; smallest margin {min(margins):.4f}")


if __name__ == "__main__":
    main()
