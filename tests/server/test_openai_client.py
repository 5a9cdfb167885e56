#!/usr/bin/env python3
"""`hyenadesk serve` driven by the official OpenAI Python client (PyPI `openai`), as an editor or a
script would: a real server process on a random loopback port, a real store made from samples/,
the small packaged model SmolLM2-135M-Instruct and the MiniLM embedder that scripts/setup installs.

  test_openai_client.py HYENADESK_BINARY

Checks what a client relies on: the model list; chat whole and streamed (the stream is the same
text, greedy); text completions; embeddings; an answer grounded in the store carries the right
document and page, and a second identical question reuses the cached prefill; a wrong key is 401;
an oversize body is 413 with an OpenAI error body; a full queue is 503 with Retry-After; a client
that leaves mid-stream, or while a whole answer is made, stops its generation (the server's own
counters say so); adding a folder streams its progress by file and ends with its summary; SIGTERM
lets the request in flight finish and the server exits 0.
"""
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import urllib.error
import urllib.request
import openai

HYENADESK = os.path.abspath(sys.argv[1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "smollm2-135m-instruct"
KEY = "test-key-123"
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def start_server(store, *extra):
    p = subprocess.Popen([HYENADESK, "serve", "--port", "0", "--store", store, "--model", MODEL, "--threads", "2",
                          "--api-key", KEY, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/v1", line)
    if not m:
        p.kill()
        sys.exit(f"the server did not start: {line!r} {p.stderr.read()}")
    return p, f"http://127.0.0.1:{m.group(1)}/v1"


def http(method, url, body=None):
    """(status, parsed JSON body) of a plain request, for what the client library does not send."""
    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": f"Bearer {KEY}"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def stats(base):
    return http("GET", base + "/hyenadesk/stats")[1]


def wait_for(predicate, seconds=120):
    end = time.time() + seconds
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def main():
    work = tempfile.mkdtemp(prefix="hd-serve-test-")
    store = os.path.join(work, "store")
    subprocess.run([HYENADESK, "ingest", os.path.join(ROOT, "samples"), "--store", store], check=True,
                   stdout=subprocess.DEVNULL)
    server, base = start_server(store, "--queue", "1", "--max-body-kb", "256")
    try:
        run_checks(base)
        adding_documents_streams_its_progress(base, work)
        sigterm_lets_the_request_in_flight_finish(server, base)
    finally:
        if server.poll() is None:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed: {failures}")
    print("all checks passed")


def run_checks(base):
    client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, timeout=600)

    ids = [m.id for m in client.models.list().data]
    check(MODEL in ids and "all-minilm-l6-v2" in ids, f"models lists the model and the embedder: {ids}")

    messages = [{"role": "user", "content": "Name three colours."}]
    whole = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=24)
    text = whole.choices[0].message.content
    check(bool(text) and whole.choices[0].finish_reason in ("stop", "length"), f"chat answers: {text!r}")
    check(whole.usage.completion_tokens > 0 and whole.usage.total_tokens ==
          whole.usage.prompt_tokens + whole.usage.completion_tokens, f"chat usage adds up: {whole.usage}")

    pieces, usage, finish = [], None, None
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, max_tokens=24, stream=True,
                                                stream_options={"include_usage": True}):
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            pieces.append(c.delta.content or "")
            finish = c.finish_reason or finish
    check("".join(pieces) == text, "the streamed chat is the same text as the whole one (greedy)")
    check(usage is not None and usage.completion_tokens == whole.usage.completion_tokens and finish ==
          whole.choices[0].finish_reason, f"the stream ends with its finish reason and usage: {usage}")

    comp = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=8)
    check(bool(comp.choices[0].text) and comp.usage.completion_tokens > 0, f"completions: {comp.choices[0].text!r}")

    emb = client.embeddings.create(model="all-minilm-l6-v2",
                                   input=["The cache keeps the state.", "The state is kept in a cache.",
                                          "Bananas are yellow."])
    v = [e.embedding for e in emb.data]
    cos = lambda a, b: sum(x * y for x, y in zip(a, b))
    check(len(v) == 3 and len(v[0]) == 384 and abs(math.sqrt(cos(v[0], v[0])) - 1) < 1e-3,
          "embeddings: three unit vectors of 384")
    check(cos(v[0], v[1]) > cos(v[0], v[2]) + 0.2, f"embeddings: paraphrases are closer ({cos(v[0], v[1]):.2f} vs "
                                                    f"{cos(v[0], v[2]):.2f})")

    question = [{"role": "user", "content": "How large is the inference cache at 128k tokens?"}]
    grounded = client.chat.completions.create(model=MODEL, messages=question, max_tokens=40,
                                              extra_body={"documents": "all"})
    sources = (grounded.model_extra or {}).get("sources", [])
    pages = [(os.path.basename(s["path"]), s["page_first"]) for s in sources]
    check(("gpu-benchmark-report.pdf", 2) in pages, f"a grounded answer cites the report's page 2: {pages}")
    again = client.chat.completions.create(model=MODEL, messages=question, max_tokens=40,
                                           extra_body={"documents": "all"})
    cached = again.usage.prompt_tokens_details.cached_tokens
    check(cached > 0.8 * again.usage.prompt_tokens,
          f"the same documents again cost only the new tokens: {cached} of {again.usage.prompt_tokens} cached")
    streamed_sources = []
    for chunk in client.chat.completions.create(model=MODEL, messages=question, max_tokens=40, stream=True,
                                                extra_body={"documents": "all"}):
        streamed_sources += (chunk.model_extra or {}).get("sources") or []
    check(any(s["page_first"] == 2 for s in streamed_sources), "a streamed grounded answer ends with its sources")

    try:
        openai.OpenAI(base_url=base, api_key="wrong", max_retries=0).models.list()
        check(False, "a wrong API key is refused")
    except openai.AuthenticationError as e:
        check(e.status_code == 401 and e.body.get("code") == "invalid_api_key", "a wrong API key is 401")

    status, body = http("POST", base + "/chat/completions",
                        json.dumps({"messages": [{"role": "user", "content": "x" * (512 << 10)}]}).encode())
    check(status == 413 and body["error"]["code"] == "request_too_large",
          f"an oversize body is 413 with an error body: {status} {body}")

    try:
        client.chat.completions.create(model=MODEL, messages=messages, max_tokens=0)
        check(False, "max_tokens 0 is refused")
    except openai.BadRequestError as e:
        check(e.body.get("param") == "max_tokens", "a bad field is 400 naming it")

    a_client_that_leaves_stops_its_generation(client, base)
    a_client_that_leaves_a_whole_answer_stops_it(base)
    a_full_queue_is_503_with_retry_after(client, base)


def a_client_that_leaves_stops_its_generation(client, base):
    before = stats(base)
    stream = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=2000, stream=True)
    got = 0
    for _ in stream:
        got += 1
        if got == 3:
            break
    stream.close()  # the connection goes away mid-generation
    check(wait_for(lambda: stats(base)["cancelled_by_disconnect"] == before["cancelled_by_disconnect"] + 1),
          "the server counts the disconnect")
    after = stats(base)
    made = after["generated_tokens"] - before["generated_tokens"]
    check(made < 2000 and not after["engine_busy"], f"its generation stopped after {made} of 2000 tokens")


def a_client_that_leaves_a_whole_answer_stops_it(base):
    # A non-streamed request: nothing is written until the answer is whole, so the server has to
    # notice the closed connection while it waits. A raw socket, to close it at a known moment.
    before = stats(base)
    host, port = re.match(r"http://([^:]+):(\d+)/", base).groups()
    body = json.dumps({"model": MODEL, "prompt": "Once upon a time", "max_tokens": 2000}).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    check(wait_for(lambda: stats(base)["engine_busy"]), "the whole answer is being generated")
    sock.close()
    check(wait_for(lambda: stats(base)["cancelled_by_disconnect"] == before["cancelled_by_disconnect"] + 1),
          "the server counts the client that left a whole answer")
    check(wait_for(lambda: not stats(base)["engine_busy"]), "the engine is free again")
    made = stats(base)["generated_tokens"] - before["generated_tokens"]
    check(made < 2000, f"the whole answer's generation stopped after {made} of 2000 tokens")


def a_full_queue_is_503_with_retry_after(client, base):
    # The server runs with --queue 1: one request on the engine, one waiting, the next refused.
    first = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=300, stream=True,
                                      temperature=0)
    it = iter(first)
    next(it)  # the engine is generating it now
    waiting = {}
    t = threading.Thread(target=lambda: waiting.update(r=client.completions.create(model=MODEL, prompt="Hello",
                                                                                   max_tokens=4)))
    t.start()
    check(wait_for(lambda: stats(base)["queued"] == 1), "a second request waits in the queue")
    try:
        client.completions.create(model=MODEL, prompt="Hello", max_tokens=4)
        check(False, "a third request is refused while the queue is full")
    except openai.APIStatusError as e:
        check(e.status_code == 503 and e.response.headers.get("retry-after") is not None,
              f"a full queue is 503 with Retry-After: {e.status_code}")
    finish = None
    for chunk in it:
        finish = chunk.choices[0].finish_reason if chunk.choices else finish
    t.join()
    check(finish == "length", f"the first request ran to its length while the queue was full ({finish})")
    check(bool(waiting.get("r")) and waiting["r"].choices[0].text is not None, "the waiting request was answered")


def adding_documents_streams_its_progress(base, work):
    folder = os.path.join(work, "notes")
    os.makedirs(folder)
    for i, topic in enumerate(["kiln firing schedules", "beekeeping in winter", "tuning a harpsichord"]):
        with open(os.path.join(folder, f"note-{i}.md"), "w") as f:
            f.write(f"# Notes on {topic}\n\n" + f"This note is about {topic}, paragraph {i}.\n\n" * 20)
    req = urllib.request.Request(base + "/documents", method="POST",
                                 data=json.dumps({"paths": [folder], "stream": True}).encode(),
                                 headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        kind = r.headers.get("Content-Type", "")
        lines = [line.decode().strip() for line in r]
    data = [line[len("data: "):] for line in lines if line.startswith("data: ")]
    events = [json.loads(d) for d in data if d != "[DONE]"]
    progress = [e for e in events if e.get("object") == "ingest.progress"]
    check(kind.startswith("text/event-stream") and data[-1:] == ["[DONE]"], f"a streamed ingest is server-sent events ending [DONE] ({kind})")
    check(bool(progress) and all(e["files_total"] == 3 for e in progress) and progress[-1]["files_done"] >= 2,
          f"it reports progress by file: {[(e['files_done'], e['files_total']) for e in progress]}")
    summary = events[-1] if events else {}
    check(summary.get("object") == "ingest.summary" and summary.get("indexed") == 3 and summary.get("failed") == 0,
          f"and ends with its summary: {summary}")
    listed = {d["path"] for d in http("GET", base + "/documents")[1]["data"]}
    check(all(os.path.join(folder, f"note-{i}.md") in listed for i in range(3)), "the added notes are in the library")
    status, again = http("POST", base + "/documents", json.dumps({"paths": [folder]}).encode())
    check(status == 200 and again.get("unchanged") == 3 and again.get("indexed") == 0,
          f"adding them again (whole answer) finds them unchanged: {again}")


def sigterm_lets_the_request_in_flight_finish(server, base):
    client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0, timeout=600)
    stream = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=60, stream=True)
    it = iter(stream)
    next(it)
    server.send_signal(signal.SIGTERM)
    finish = None
    for chunk in it:
        finish = chunk.choices[0].finish_reason if chunk.choices else finish
    check(finish in ("length", "stop"), f"after SIGTERM the request in flight still finished ({finish})")
    try:
        code = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 0, f"the server exits 0 after SIGTERM ({code})")


if __name__ == "__main__":
    main()
