#!/usr/bin/env python3
"""Time and peak memory of `hyenadesk ingest` on each file of the hostile corpus at full size
(tests/hostile/make_hostile_corpus.py --scale full): each file alone into a fresh store, text only
(--no-embed), so a case's figures are its own. Prints a table and writes JSON under bench/results/.

  bench/hostile_ingest.py [--hyenadesk build/app/hyenadesk] [--scale full|small] [--work DIR]
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def run_case(hyenadesk, work, case):
    one = os.path.join(work, "one")
    shutil.rmtree(one, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "store"), ignore_errors=True)
    os.makedirs(one)
    src = os.path.join(work, "corpus", "files", case["file"])
    dst = os.path.join(one, case["file"])
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    elif case["case"] == "FIFO":
        os.mkfifo(dst)
    else:
        shutil.copy(src, dst)
    t0 = time.monotonic()
    proc = subprocess.Popen([hyenadesk, "ingest", one, "--store", os.path.join(work, "store"), "--no-embed"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - t0
    outcome = "stored" if " 1 new" in out else "refused" if " 1 failed" in out else "skipped" if " skipped" in out else "?"
    reason = ""
    for line in out.splitlines():
        if line.strip().startswith(("failed:", "skipped:")):
            reason = line.strip().split(": ", 2)[-1]
    return {"file": case["file"].replace("\n", "\\n"), "case": case["case"], "expected": case["expect"], "outcome": outcome,
            "as_expected": outcome == case["expect"] and case["reason"] in reason, "reason": reason[:90],
            "seconds": round(seconds, 3), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "bytes": os.path.getsize(src) if os.path.isfile(src) and not os.path.islink(src) and case["case"] != "FIFO" else 0,
            "exit_code": os.waitstatus_to_exitcode(status)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hyenadesk", default=os.path.join(ROOT, "build", "app", "hyenadesk"))
    p.add_argument("--scale", choices=["full", "small"], default="full")
    p.add_argument("--work")
    a = p.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="hd-hostile-")
    subprocess.run(["python3", os.path.join(ROOT, "tests", "hostile", "make_hostile_corpus.py"), os.path.join(work, "corpus"),
                    "--scale", a.scale], check=True)
    cases = json.load(open(os.path.join(work, "corpus", "cases.json")))["cases"]
    # The program alone, for the memory baseline: an ingest of an empty folder.
    os.makedirs(os.path.join(work, "empty"), exist_ok=True)
    base = subprocess.Popen([a.hyenadesk, "ingest", os.path.join(work, "empty"), "--store", os.path.join(work, "store0"),
                             "--no-embed"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    baseline_mib = round(os.wait4(base.pid, 0)[2].ru_maxrss / 1024, 1)
    rows = [run_case(a.hyenadesk, work, c) for c in cases]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    commit += "-dirty" if dirty else ""
    head = ["file", "case", "bytes", "outcome", "as_expected", "seconds", "peak_rss_mib", "reason"]
    widths = [max(len(head[i]), *(len(str(r[h])) for r in rows)) for i, h in enumerate(head)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print(f"hostile_ingest ({a.scale}) on {cpu_name()}, {os.cpu_count()} cores, commit {commit}; "
          f"program alone (empty folder): {baseline_mib} MiB")
    print(line)
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print(line)
    for r in rows:
        print("| " + " | ".join(str(r[h]).ljust(w) for h, w in zip(head, widths)) + " |")
    print(line)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    out = os.path.join(HERE, "results", f"hostile_ingest-{a.scale}-cpu-{commit}.json")
    json.dump({"bench": "hostile_ingest", "scale": a.scale, "cpu": cpu_name(), "cores": os.cpu_count(), "commit": commit,
               "baseline_rss_mib": baseline_mib, "rows": rows}, open(out, "w"), indent=1)
    print("results:", out)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
