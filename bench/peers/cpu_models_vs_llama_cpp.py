#!/usr/bin/env python3
"""Imported instruct models on the CPU: our engine against llama.cpp on the same GGUF, in one run.

  cpu_models_vs_llama_cpp.py --build BUILD_DIR --models MODELS_DIR --gguf NAME=FILE... [--threads 2]

For each model: ours = `BUILD/bench/bench_imported_model` (float32 compute on the imported bf16
weights, checked against the transformers golden in tests/engine/fixtures/ as it runs); the peer =
llama.cpp through llama-cpp-python on the original quantized GGUF (PyPI llama-cpp-python, built
here with -DGGML_CPU_REPACK=OFF and the AMX options off, which this CPU needs). Same prompt ids
(the golden file's), prefill timed over the whole prompt, decode over 64 greedy tokens, the same
thread count. Prints a table and writes bench/results/cpu-models-vs-llama-cpp-<commit>.json.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

from safetensors.numpy import load_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = {
    "smollm2-135m-instruct": "tests/engine/fixtures/smollm2-golden/transformers-float32.safetensors",
    "qwen2.5-coder-0.5b-instruct": "tests/engine/fixtures/qwen-golden/qwen2.5-coder-0.5b-instruct-float32.safetensors",
    "qwen2.5-coder-1.5b-instruct": "tests/engine/fixtures/qwen-golden/qwen2.5-coder-1.5b-instruct-float32.safetensors",
}


def ours(build, models, name, threads):
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, HD_BENCH_RESULTS=out)
        subprocess.run([os.path.join(build, "bench/bench_imported_model"), "--model", os.path.join(models, name),
                        "--golden", os.path.join(ROOT, GOLDEN[name]), "--threads", str(threads)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        row = json.load(open(os.path.join(out, os.listdir(out)[0])))["rows"][0]
    return row


def peer(gguf, name, threads):
    from llama_cpp import Llama
    g = load_file(os.path.join(ROOT, GOLDEN[name]))
    prompt = [int(t) for t in g["prompt"]]
    llm = Llama(model_path=gguf, n_ctx=512, n_threads=threads, n_threads_batch=threads, n_batch=512, verbose=False,
                logits_all=False)
    llm.eval(prompt[:8])  # warm up (first-touch of the mapped weights)
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt)
    prefill = time.perf_counter() - t0
    t0 = time.perf_counter()
    for want in g["greedy"].astype(int):
        llm.eval([int(want)])  # teacher-forced on the golden path, like ours
    decode = time.perf_counter() - t0
    return {"prefill_tok_s": len(prompt) / prefill, "decode_tok_s": len(g["greedy"]) / decode, "prompt_tokens": len(prompt)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--models", required=True)
    p.add_argument("--gguf", action="append", required=True, help="NAME=FILE")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    rows = []
    for spec in a.gguf:
        name, gguf = spec.split("=", 1)
        o = ours(a.build, a.models, name, a.threads)
        l = peer(gguf, name, a.threads)
        rows.append({"model": name, "prompt_tokens": l["prompt_tokens"],
                     "ours_prefill_tok_s": o["prefill_tok_s"], "llama_cpp_prefill_tok_s": l["prefill_tok_s"],
                     "ours_decode_tok_s": o["decode_tok_s"], "llama_cpp_decode_tok_s": l["decode_tok_s"],
                     "decode_ratio_ours_over_peer": o["decode_tok_s"] / l["decode_tok_s"],
                     "ours_logits_rel_error": o["logits_rel_error_worst"], "ours_greedy_same": o["greedy_same"]})
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    out = os.path.join(ROOT, "bench/results", f"cpu-models-vs-llama-cpp-{commit}.json")
    cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": ")
    json.dump({"benchmark": "cpu_models_vs_llama_cpp", "commit": commit, "cpu": cpu, "threads": a.threads,
               "peer": "llama-cpp-python 0.3.36 (llama.cpp), GGML_CPU_REPACK=OFF, AMX off",
               "ours": "bench_imported_model: float32 compute on bf16 weights (OpenBLAS)", "rows": rows,
               "note": "ours_greedy_same: of 64 tokens, how many equal transformers' float32 greedy decode (teacher-forced)"},
              open(out, "w"), indent=1)
    print("results:", out)


if __name__ == "__main__":
    main()
