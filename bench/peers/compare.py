#!/usr/bin/env python3
"""Side-by-side table and plot of bench_gpu_engine against its PyTorch peers.

  compare.py OURS.json PEERS.json [MORE_PEERS.json ...] OUT_PREFIX   -> OUT_PREFIX.md and OUT_PREFIX.png

(MORE_PEERS: e.g. compiled_decode_peer.py's file, whose peer has decode rows only.)

Ratios are ours / peer (for times: < 1 means we are faster; for tokens/s: > 1 means faster).
"""
import json
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: compare.py OURS.json PEERS.json [MORE_PEERS.json ...] OUT_PREFIX")
    ours_path, peer_paths, prefix = sys.argv[1], sys.argv[2:-1], sys.argv[-1]
    ours = json.load(open(ours_path))
    peers = json.load(open(peer_paths[0]))
    for extra in peer_paths[1:]:
        peers["rows"] += json.load(open(extra))["rows"]
    env = ours["environment"]
    ours_rows = {r["prompt_tokens"]: r for r in ours["rows"]}
    names = []
    by_peer = {}
    for r in peers["rows"]:
        if r["peer"] not in by_peer:
            names.append(r["peer"])
            by_peer[r["peer"]] = {}
        by_peer[r["peer"]][r["prompt_tokens"]] = r
    lengths = sorted(ours_rows)

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    lines = [f"# HyenaDesk CUDA backend vs peers, {env.get('device')} (commit {env.get('commit')})", "",
             f"StripedHyena-7B shape, random bf16 weights, batch 1. Peers: torch {peers['torch']}. "
             f"Measured bf16 GEMM {ours['sizes']['measured_bf16_gemm_tflops']:.0f} TFLOP/s, copy "
             f"{ours['sizes']['measured_copy_tbps']:.2f} TB/s.", "",
             "## Prefill (seconds; ours builds the full decode state)", "",
             "| tokens | ours | " + " | ".join(names) + " | " + " | ".join(f"ours/{n}" for n in names) + " |",
             "|---" * (2 + 2 * len(names)) + "|"]
    for L in lengths:
        o = ours_rows[L].get("prefill_s")
        cells, ratios = [], []
        for n in names:
            r = by_peer[n].get(L, {})
            p = r.get("prefill_s")
            cells.append(r.get("error", fmt(p, ".2f")))
            ratios.append(fmt(o / p if (o and p) else None, ".2f"))
        lines.append(f"| {L} | {fmt(o, '.2f')} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    lines += ["", "## Decode (tokens/s after the prefill)", "",
              "| tokens | ours | " + " | ".join(names) + " | " + " | ".join(f"ours/{n}" for n in names) + " |",
              "|---" * (2 + 2 * len(names)) + "|"]
    for L in lengths:
        o = ours_rows[L].get("decode_tok_per_s")
        cells, ratios = [], []
        for n in names:
            r = by_peer[n].get(L, {})
            p = r.get("decode_tok_per_s")
            cells.append(r.get("error", fmt(p, ".1f")) if "prefill_s" not in r or p is not None or "error" in r else "-")
            ratios.append(fmt(o / p if (o and p) else None, ".2f"))
        lines.append(f"| {L} | {fmt(o, '.1f')} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    lines += ["", "## Inference cache (GiB)", "", "| tokens | ours (KV + Hyena state) | Mistral-shaped KV | ratio |",
              "|---|---|---|---|"]
    mistral = by_peer.get("mistral7b-sdpa-flash2", {})
    for L in lengths:
        o, m = ours_rows[L].get("cache_gib"), mistral.get(L, {}).get("cache_gib")
        lines.append(f"| {L} | {fmt(o, '.2f')} | {fmt(m, '.2f')} | {fmt(o / m if (o and m) else None, '.2f')} |")
    open(prefix + ".md", "w").write("\n".join(lines) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(lengths, [ours_rows[L].get("prefill_s") for L in lengths], "o-", label="HyenaDesk (ours, state-building)")
    for n in names:
        xs = [L for L in lengths if by_peer[n].get(L, {}).get("prefill_s")]
        if xs:
            ax.plot(xs, [by_peer[n][L]["prefill_s"] for L in xs], "s--", label=n)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("prompt tokens")
    ax.set_ylabel("prefill seconds")
    ax.set_title(f"Prefill, 7B shape, {env.get('device')}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(prefix + ".png", dpi=110)


if __name__ == "__main__":
    main()
