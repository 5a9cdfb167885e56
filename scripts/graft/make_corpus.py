#!/usr/bin/env python3
"""Training and held-out text for grafting, from documentation that Debian packages ship, tokenized
with the teacher's tokenizer:

  make_corpus.py TEACHER_DIR OUT_DIR

  train:   Python 3.11's documentation sources (python3.11-doc, reStructuredText, PSF licence) and
           the Debian Administrator's Handbook in English (debian-handbook, HTML, GPL-2+/CC-BY-SA-3.0)
  held out: the Debian Reference in English (debian-reference-en, HTML, GPL-2+), never trained on

Writes train.npy and heldout.npy (token ids; uint16 when the vocabulary allows) and corpus.json
(the packages and their versions, files, bytes and tokens of each part). Documents are separated by
a blank line; HTML is reduced to its text (scripts, styles and navigation dropped).
"""
import glob
import html.parser
import json
import os
import subprocess
import sys

import numpy as np
from tokenizers import Tokenizer

TRAIN = [("python3.11-doc", "/usr/share/doc/python3.11/html/_sources/**/*.rst.txt"),
         ("debian-handbook", "/usr/share/doc/debian-handbook/html/en-US/*.html")]
HELDOUT = [("debian-reference-en", "/usr/share/debian-reference/*.en.html")]


class TextOfHtml(html.parser.HTMLParser):
    SKIP = {"script", "style", "nav", "head"}
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "dt", "dd", "table", "section"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)

    def text(self):
        lines = [" ".join(line.split()) for line in "".join(self.parts).splitlines()]
        out, blank = [], False
        for line in lines:
            if line:
                out.append(line)
                blank = False
            elif not blank:
                out.append("")
                blank = True
        return "\n".join(out).strip()


def read(path):
    raw = open(path, encoding="utf-8", errors="replace").read()
    if path.endswith(".html"):
        p = TextOfHtml()
        p.feed(raw)
        return p.text()
    return raw


def version(package):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True).stdout


def build(parts, tok):
    ids, facts = [], []
    sep = tok.encode("\n\n", add_special_tokens=False).ids
    for package, pattern in parts:
        files = sorted(glob.glob(pattern, recursive=True))
        if not files:
            sys.exit(f"make_corpus: no files match {pattern}: install {package}")
        n_bytes, n_tokens = 0, 0
        for f in files:
            text = read(f)
            if len(text) < 200:
                continue
            t = tok.encode(text, add_special_tokens=False).ids + sep
            ids += t
            n_bytes += len(text.encode())
            n_tokens += len(t)
        facts.append({"package": package, "version": version(package), "pattern": pattern, "files": len(files),
                      "text_bytes": n_bytes, "tokens": n_tokens})
    return ids, facts


def main():
    teacher, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(teacher, "tokenizer.json"))
    dtype = np.uint16 if tok.get_vocab_size() <= 65536 else np.uint32
    manifest = {"tokenizer": os.path.basename(teacher.rstrip("/"))}
    for name, parts in (("train", TRAIN), ("heldout", HELDOUT)):
        ids, facts = build(parts, tok)
        np.save(os.path.join(out, f"{name}.npy"), np.array(ids, dtype=dtype))
        manifest[name] = {"tokens": len(ids), "parts": facts}
        print(f"make_corpus: {name}: {len(ids):,} tokens from {', '.join(f['package'] for f in facts)}")
    json.dump(manifest, open(os.path.join(out, "corpus.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
