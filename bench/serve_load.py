#!/usr/bin/env python3
"""A bounded load test of `hyenadesk serve` on loopback: a fixed number of chat requests from N
concurrent clients, each honouring a 503's Retry-After until answered (it stops by itself), against the same requests sent one at a time by one
client in the same run (the reference: the engine runs one request at a time either way, so the
difference is what queueing and HTTP cost). Every response is checked (well-formed JSON of the
OpenAI shape, or a 503 with Retry-After when the queue is full); prints a table and writes JSON
under bench/results/.

  bench/serve_load.py [--hyenadesk build/app/hyenadesk] [--model smollm2-135m-instruct]
                      [--clients 8] [--requests 32] [--queue 4] [--max-tokens 32]
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUESTIONS = ["Name three colours.", "What is a cache?", "Say hello in French.", "Count to five.",
             "What is the capital of Italy?", "Name a fruit.", "What does a GPU do?", "Give a synonym of fast."]


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def one_request(base, i, max_tokens, grounded):
    body = {"model": "default", "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
            "max_tokens": max_tokens}
    if grounded:
        body["documents"] = "all"
    req = urllib.request.Request(base + "/chat/completions", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    t0 = time.time()
    try:
        with urllib.request.urlopen(req, timeout=900) as r:
            j = json.loads(r.read())
            ok = (j.get("object") == "chat.completion" and isinstance(j["choices"][0]["message"]["content"], str)
                  and j["usage"]["completion_tokens"] >= 1)
            return {"status": r.status, "seconds": time.time() - t0, "well_formed": ok,
                    "tokens": j["usage"]["completion_tokens"]}
    except urllib.error.HTTPError as e:
        j = json.loads(e.read())
        ok = "error" in j and (e.code != 503 or e.headers.get("Retry-After") is not None)
        return {"status": e.code, "seconds": time.time() - t0, "well_formed": ok, "tokens": 0,
                "retry_after": float(e.headers.get("Retry-After") or 1)}


def run(base, clients, requests, max_tokens, grounded):
    results, lock, next_i = [], threading.Lock(), [0]

    def client():
        while True:
            with lock:
                if next_i[0] >= requests:
                    return
                i = next_i[0]
                next_i[0] += 1
            while True:  # a 503 is honoured as a client should: wait Retry-After, ask again
                r = one_request(base, i, max_tokens, grounded)
                with lock:
                    results.append(r)
                if r["status"] != 503:
                    break
                time.sleep(r["retry_after"])

    t0 = time.time()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    done = [r for r in results if r["status"] == 200]  # latency: of the answered attempt
    lat = sorted(r["seconds"] for r in done)
    pct = lambda p: lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))] if lat else None
    return {"clients": clients, "requests": requests, "answered": len(done),
            "rejected_503": sum(r["status"] == 503 for r in results),
            "other_errors": sum(r["status"] not in (200, 503) for r in results),
            "all_well_formed": all(r["well_formed"] for r in results),
            "p50_s": pct(0.5), "p95_s": pct(0.95), "wall_s": wall,
            "tokens": sum(r["tokens"] for r in done), "tokens_per_s": sum(r["tokens"] for r in done) / wall}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hyenadesk", default=os.path.join(ROOT, "build", "app", "hyenadesk"))
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=32)
    p.add_argument("--queue", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="hd-serve-load-")
    store = os.path.join(work, "store")
    subprocess.run([a.hyenadesk, "ingest", os.path.join(ROOT, "samples"), "--store", store], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([a.hyenadesk, "serve", "--port", "0", "--store", store, "--model", a.model,
                               "--threads", str(a.threads), "--queue", str(a.queue)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = "http://127.0.0.1:%s/v1" % re.search(r":(\d+)/v1", server.stdout.readline()).group(1)
    rows = []
    try:
        for grounded in (False, True):
            kind = "grounded in the samples" if grounded else "plain chat"
            rows.append(dict(kind=kind, mode="one client, one at a time (reference)",
                             **run(base, 1, a.requests // 4, a.max_tokens, grounded)))
            rows.append(dict(kind=kind, mode=f"{a.clients} clients at once, queue {a.queue}",
                             **run(base, a.clients, a.requests, a.max_tokens, grounded)))
        with urllib.request.urlopen(base + "/hyenadesk/stats") as r:
            stats = json.loads(r.read())
    finally:
        server.terminate()
        code = server.wait(timeout=120)
        shutil.rmtree(work, ignore_errors=True)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    commit += "-dirty" if dirty else ""
    env = {"benchmark": "serve_load", "commit": commit, "cpu": cpu_name(), "cores": os.cpu_count(), "model": a.model,
           "max_tokens": a.max_tokens, "engine_threads": a.threads, "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"serve_load on {env['cpu']}, {env['cores']} cores, commit {commit}, model {a.model}, max_tokens {a.max_tokens}")
    cols = ["kind", "mode", "requests", "answered", "rejected_503", "other_errors", "all_well_formed", "p50_s", "p95_s",
            "tokens_per_s"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    print(f"server counters: {stats}; exit after SIGTERM: {code}")
    out = os.path.join(HERE, "results", f"serve_load-cpu-{commit}.json")
    json.dump({"environment": env, "rows": rows, "server_stats": stats, "server_exit_code": code}, open(out, "w"), indent=1)
    print(f"results: {out}")
    if code != 0 or not all(r["all_well_formed"] and r["other_errors"] == 0 for r in rows):
        raise SystemExit("serve_load: a response was malformed or the server did not stop cleanly")


if __name__ == "__main__":
    main()
