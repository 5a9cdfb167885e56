#!/usr/bin/env python3
"""Peers of bench_gpu_engine, measured on the same GPU: batch 1, random weights, bf16.

  torch_peers.py --lengths 8192,32768,65536,131072 --decode 32 --out peers.json
                 [--model DIR --ref-path REF]   # also the StripedHyena reference on our weights

(a) A Mistral-7B-shaped transformer (32 layers, hidden 4096, 32 heads, 8 kv heads, MLP 14336)
    from transformers with random weights, SDPA forced to its FlashAttention-2 backend and
    then to its cuDNN backend. Prefill = forward over the prompt building the KV cache,
    last-token logits only; decode = 32 cached steps, eager.
(b) With --model/--ref-path: the public StripedHyena reference (imported from REF, never
    copied) with the weights of MODEL_DIR (our safetensors files), bf16 except poles and
    residues, with the flash_attn stand-in of scripts/fixtures/make_reference_golden.py
    (SDPA). Its plain forward (no state) and its prefill that builds the decode state
    (prefill_style fft), last-token logits only; then 32 cached decode steps.
Out-of-memory is recorded as such. Timings: torch.cuda.synchronize around each call, one
warm-up at 1024 tokens per model.
"""
import argparse
import gc
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(fn):
    torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    torch.cuda.synchronize()
    return out, time.perf_counter() - t


def free():
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()


def run_guarded(row, fn):
    try:
        fn(row)
    except torch.cuda.OutOfMemoryError:
        row["error"] = "out of memory"
    free()


# ----------------------------------------------------------------------------- Mistral-shaped
def mistral_rows(lengths, decode_steps):
    from transformers import MistralConfig, MistralForCausalLM
    from torch.nn.attention import SDPBackend, sdpa_kernel

    config = MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                           num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=262144,
                           rope_theta=1e6, sliding_window=None, attn_implementation="sdpa")
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = MistralForCausalLM(config).eval()
    torch.set_default_dtype(torch.float32)
    rows = []
    for name, backend in [("mistral7b-sdpa-flash2", SDPBackend.FLASH_ATTENTION),
                          ("mistral7b-sdpa-cudnn", SDPBackend.CUDNN_ATTENTION)]:
        with torch.no_grad(), sdpa_kernel(backend):
            model(torch.randint(0, 32000, (1, 1024), device="cuda"), use_cache=True, logits_to_keep=1)
            for L in lengths:
                row = {"peer": name, "prompt_tokens": L}

                def measure(row, L=L):
                    ids = torch.randint(0, 32000, (1, L), device="cuda")
                    out, row["prefill_s"] = timed(lambda: model(ids, use_cache=True, logits_to_keep=1))
                    cache = out.past_key_values
                    tok = out.logits[:, -1].argmax(-1, keepdim=True)
                    steps = []
                    for _ in range(decode_steps):
                        (out, dt) = timed(lambda: model(tok, past_key_values=cache, use_cache=True))
                        cache = out.past_key_values
                        tok = out.logits[:, -1].argmax(-1, keepdim=True)
                        steps.append(dt)
                    steps.sort()
                    row["decode_tok_per_s"] = 1.0 / steps[len(steps) // 2]
                    row["cache_gib"] = 2 * 32 * 8 * 128 * L * 2 / 2**30
                    row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30

                run_guarded(row, measure)
                print(json.dumps(row), flush=True)
                rows.append(row)
    del model
    free()
    return rows


# ----------------------------------------------------------------------------- reference
def reference_rows(lengths, decode_steps, model_dir, ref_path):
    sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "fixtures"))
    import make_reference_golden as golden  # the flash_attn stand-in and the loader

    model, config = golden.load_reference(ref_path, model_dir, "cuda", torch.bfloat16)
    model.to_bfloat16_except_poles_residues()
    rows = []

    def last_logits(x):
        return model.unembed.unembed(model.norm(x[:, -1:]))

    def plain(ids):
        x, _ = model.stateless_forward(model.embedding_layer.embed(ids))
        return last_logits(x)

    def stateful(ids, params):
        x, params = model.stateful_forward(model.embedding_layer.embed(ids), inference_params_dict=params)
        return last_logits(x), params

    with torch.no_grad():
        plain(torch.randint(0, 32000, (1, 1024), device="cuda"))
        for L in lengths:
            ids = torch.randint(0, 32000, (1, L), device="cuda")
            row = {"peer": "reference-forward", "prompt_tokens": L}

            def measure_plain(row):
                _, row["prefill_s"] = timed(lambda: plain(ids))
                row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30

            run_guarded(row, measure_plain)
            print(json.dumps(row), flush=True)
            rows.append(row)

            row = {"peer": "reference-prefill-with-state", "prompt_tokens": L}

            def measure_state(row):
                params = model.initialize_inference_params()
                params["mha"].max_seqlen = L + decode_steps + 1
                (logits, params), row["prefill_s"] = timed(lambda: stateful(ids, params))
                tok = logits[:, -1].argmax(-1, keepdim=True)
                steps, pos = [], L
                for _ in range(decode_steps):
                    params["mha"].seqlen_offset = pos
                    params["hyena"].seqlen_offset = pos
                    (out, dt) = timed(lambda: stateful(tok, params))
                    logits, params = out
                    tok = logits[:, -1].argmax(-1, keepdim=True)
                    pos += 1
                    steps.append(dt)
                steps.sort()
                row["decode_tok_per_s"] = 1.0 / steps[len(steps) // 2]
                row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30

            run_guarded(row, measure_state)
            print(json.dumps(row), flush=True)
            rows.append(row)
    del model
    free()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="8192,32768,65536,131072")
    ap.add_argument("--decode", type=int, default=32)
    ap.add_argument("--out", required=True)
    ap.add_argument("--model")
    ap.add_argument("--ref-path")
    ap.add_argument("--only", choices=["mistral", "reference"], default=None)
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    report = {"torch": torch.__version__, "device": torch.cuda.get_device_name(), "rows": []}
    if args.only in (None, "mistral"):
        report["rows"] += mistral_rows(lengths, args.decode)
    if args.model and args.ref_path and args.only in (None, "reference"):
        report["rows"] += reference_rows(lengths, args.decode, args.model, args.ref_path)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
