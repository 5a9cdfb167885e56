#!/usr/bin/env python3
"""Which HTTP library `hyenadesk serve` should stand on: cpp-httplib, GNU libmicrohttpd and CivetWeb
(all three Debian packages), each serving the same bytes (bench/http_libraries/: a whole chat
completion, and a stream of server-sent events shaped like ours) with the same 32 worker threads,
loaded by wrk on loopback.

  python3 bench/http_libraries.py [--build build] [--seconds 4]

Needs `apt-get install libcpp-httplib-dev libmicrohttpd-dev libcivetweb-dev wrk` and the servers
built (`cmake --build build --target http_bench_httplib http_bench_microhttpd http_bench_civetweb`).

Cases: one client asking for whole answers back to back (the latency a request pays to the library);
64 clients at once (throughput); 8 clients reading 1,000-event streams (events a second); and idle
connections held open (a client that connected and sends nothing) while one more client asks: 16
(fewer than the pool) and 48 (more): with one thread a connection, held ones can starve the next.
Prints a table and writes JSON under bench/results/. wrk and the server share the machine's cores,
so the figures compare the libraries with each other, not with a dedicated server.
"""
import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# (name, server, package, extra argument): cpp-httplib as `hyenadesk serve` sets it up, then with
# the library's defaults (TCP_NODELAY off), then the two alternatives.
LIBRARIES = [("cpp-httplib", "http_bench_httplib", "libcpp-httplib-dev", []),
             ("cpp-httplib, defaults", "http_bench_httplib", "libcpp-httplib-dev", ["defaults"]),
             ("libmicrohttpd", "http_bench_microhttpd", "libmicrohttpd-dev", []),
             ("CivetWeb", "http_bench_civetweb", "libcivetweb-dev", [])]
POST_LUA = ('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            'wrk.body = \'{"model":"default","messages":[{"role":"user","content":"How long can a prompt be?"}]}\'\n')


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def package_version(package):
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return out.stdout.strip() or "not installed"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds_of(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def wrk(url, connections, seconds, lua=None):
    """Requests a second, p50 / p99 latency (s) and errors of one wrk run."""
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if lua:
        cmd += ["-s", lua]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_s": seconds_of(lat["50"]), "p99_s": seconds_of(lat["99"]),
            "socket_errors": sum(map(int, errors.groups())) if errors else 0,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def one_request_while_held(port, held):
    """Seconds one whole answer takes while `held` connections are open and silent."""
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(held)]
    try:
        time.sleep(0.3)  # let the server take them
        t0 = time.perf_counter()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
            return time.perf_counter() - t0
        except OSError:
            return None  # no answer within 30 s
    finally:
        for s in sockets:
            s.close()


def server_figures(pid):
    status = open(f"/proc/{pid}/status").read()
    return {"threads": int(re.search(r"Threads:\s+(\d+)", status).group(1)),
            "peak_rss_mib": int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024}


def measure(binary, extra, seconds, lua):
    port = free_port()
    server = subprocess.Popen([binary, str(port), *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            sys.exit(f"{binary} did not start")
        base = f"http://127.0.0.1:{port}"
        whole = urllib.request.urlopen(urllib.request.Request(base + "/v1/chat/completions", data=b"{}")).read()
        event = urllib.request.urlopen(base + "/stream?n=1").read()
        row = {"response_bytes": {"whole": len(whole), "event": len(event)},"whole_1_client": wrk(base + "/v1/chat/completions", 1, seconds, lua),
               "whole_64_clients": wrk(base + "/v1/chat/completions", 64, seconds, lua),
               "stream_8_clients": wrk(base + "/stream?n=1000", 8, seconds)}
        row["stream_8_clients"]["events_per_s"] = row["stream_8_clients"]["requests_per_s"] * 1000
        row["one_answer_with_16_idle_connections_s"] = one_request_while_held(port, 16)
        row["one_answer_with_48_idle_connections_s"] = one_request_while_held(port, 48)
        row.update(server_figures(server.pid))
        return row
    finally:
        server.terminate()
        server.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--seconds", type=int, default=4)
    a = p.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(POST_LUA)
        lua = f.name
    rows = []
    for name, target, package, extra in LIBRARIES:
        binary = os.path.join(a.build, "bench", target)
        if not os.path.exists(binary):
            sys.exit(f"{binary} is missing: install {package} and build {target}")
        rows.append({"library": name, "package": package, "version": package_version(package),
                     **measure(binary, extra, a.seconds, lua)})
    os.unlink(lua)

    ref = rows[0]
    print(f"{'library':<22} {'version':<24} {'1 client p50':>12} {'1 client /s':>12} {'64 clients /s':>14} "
          f"{'64 p99':>9} {'events/s':>11} {'16 idle: answer':>16} {'48 idle: answer':>16} {'threads':>8} {'RSS MiB':>8}")
    for r in rows:
        held, held48 = r["one_answer_with_16_idle_connections_s"], r["one_answer_with_48_idle_connections_s"]
        print(f"{r['library']:<22} {r['version']:<24} {r['whole_1_client']['p50_s'] * 1e6:>10.0f}us "
              f"{r['whole_1_client']['requests_per_s']:>12.0f} {r['whole_64_clients']['requests_per_s']:>14.0f} "
              f"{r['whole_64_clients']['p99_s'] * 1e3:>7.1f}ms {r['stream_8_clients']['events_per_s']:>11.0f} "
              f"{'no answer' if held is None else f'{held:.3f} s':>16} {'no answer' if held48 is None else f'{held48:.3f} s':>16} {r['threads']:>8} {r['peak_rss_mib']:>8.1f}")
        r["ratio_to_cpp_httplib"] = {
            "whole_64_clients": r["whole_64_clients"]["requests_per_s"] / ref["whole_64_clients"]["requests_per_s"],
            "stream_events": r["stream_8_clients"]["events_per_s"] / ref["stream_8_clients"]["events_per_s"]}

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    commit += "-dirty" if dirty else ""
    report = {"benchmark": "http_libraries", "commit": commit, "cpu": cpu_name(), "cores": os.cpu_count(),
              "wrk": package_version("wrk"), "seconds_per_case": a.seconds, "worker_threads": 32,
              "rows": rows}
    out = os.path.join(ROOT, "bench", "results", f"http_libraries-cpu-{commit}.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
