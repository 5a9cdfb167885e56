#!/usr/bin/env python3
"""A hostile corpus for `hyenadesk ingest`: every case of issue 15 (files crafted to hang, bloat
or confuse the readers, special files, odd names) beside good files that must still be stored.

  make_hostile_corpus.py OUT_DIR [--scale small|full] [--samples DIR]   (the files go to OUT_DIR/files)

small: sizes that keep the test suite fast (tests/app/hostile_corpus_test.cpp); full: the sizes of
the report (bench/hostile_ingest.py measures time and peak memory per case). Writes OUT_DIR/cases.json:
for each file, its case name and what ingest must do with it: "stored", "refused" (a failure whose
reason contains `reason`) or "skipped" (listed as skipped, with `reason` in its kind).
"""
import argparse
import json
import os
import shutil
import zipfile

SIZES = {  # case -> (small, full)
    "html_deep": (5_000, 200_000),
    "html_unclosed_divs": (5_000, 200_000),
    "text_many_paragraphs": (20_000, 349_000),
    "latin1_text_bytes": (1 << 20, 20 << 20),
    "docx_paragraphs": (200_000, 12_000_000),
    "bomb_run_bytes": (1 << 20, 8 << 20),  # x 75 runs: 75 MiB (the test's cap is 64 MiB), 600 MiB (default cap 512)
}


def docx(path, document_xml):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("word/document.xml", document_xml)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--scale", choices=["small", "full"], default="small")
    p.add_argument("--samples", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples"))
    a = p.parse_args()
    k = 0 if a.scale == "small" else 1
    n = {name: sizes[k] for name, sizes in SIZES.items()}
    files = os.path.join(a.out, "files")
    os.makedirs(files, exist_ok=True)
    cases = []

    def add(name, case, expect, reason=""):
        cases.append({"file": name, "case": case, "expect": expect, "reason": reason})

    # Good files: every bundled sample must be stored whatever surrounds it.
    for f in sorted(os.listdir(a.samples)):
        shutil.copy(os.path.join(a.samples, f), os.path.join(files, f))
        add(f, "good sample", "stored")

    # Hangs: deep and unclosed HTML (refused before the parser), many short paragraphs, Latin-1.
    with open(os.path.join(files, "deep.html"), "w") as f:
        f.write("<html><body>" + "<span>" * n["html_deep"] + "deep" + "</span>" * n["html_deep"] + "</body></html>")
    add("deep.html", "HTML nested %d levels" % n["html_deep"], "refused", "HTML nested more than")
    with open(os.path.join(files, "unclosed.html"), "w") as f:
        f.write("<html><body>" + "<div>x" * n["html_unclosed_divs"] + "</body></html>")
    add("unclosed.html", "HTML of %d unclosed <div>" % n["html_unclosed_divs"], "refused", "HTML nested more than")
    with open(os.path.join(files, "many-paragraphs.txt"), "w") as f:
        f.write("".join("Paragraph %d says little.\n\n" % i for i in range(n["text_many_paragraphs"])))
    add("many-paragraphs.txt", "%d short paragraphs" % n["text_many_paragraphs"], "stored")
    line = "Caf\xe9 cr\xe8me, na\xefve r\xe9sum\xe9 \xe0 la carte.\n\n".encode("latin-1")
    with open(os.path.join(files, "latin1.txt"), "wb") as f:
        f.write(line * (n["latin1_text_bytes"] // len(line)))
    add("latin1.txt", "%d MiB of Latin-1 text" % (n["latin1_text_bytes"] >> 20), "stored")

    # Memory: a small DOCX whose document.xml is huge (streamed), and a zip bomb (refused).
    body = "<w:p><w:r><w:t>p</w:t></w:r></w:p>" * n["docx_paragraphs"]
    docx(os.path.join(files, "many-paragraphs.docx"),
         '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + body + "</w:body></w:document>")
    add("many-paragraphs.docx", "DOCX of %d tiny paragraphs" % n["docx_paragraphs"], "stored")
    run = "<w:p><w:r><w:t>" + " " * n["bomb_run_bytes"] + "</w:t></w:r></w:p>"
    docx(os.path.join(files, "bomb.docx"), '<w:document xmlns:w="x"><w:body>' + run * 75 + "</w:body></w:document>")
    add("bomb.docx", "DOCX inflating to %d MiB (a zip bomb)" % (75 * n["bomb_run_bytes"] >> 20), "refused", "inflates past")
    docx(os.path.join(files, "huge-run.docx"),
         '<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>' + "word " * (3 << 20) + "</w:t></w:r></w:p></w:body></w:document>")
    add("huge-run.docx", "DOCX with one 15 MB text run", "refused", "huge text node")

    # Unclear or silent: misnamed files, encodings, special files, odd names.
    with open(os.path.join(files, "not-a-zip.docx"), "w") as f:
        f.write("just text\n")
    add("not-a-zip.docx", "text named .docx", "refused", "named .docx but is plain text")
    with open(os.path.join(files, "text.pdf"), "w") as f:
        f.write("just text\n")
    add("text.pdf", "text named .pdf", "refused", "named .pdf but is plain text")
    with open(os.path.join(files, "utf16-no-bom.txt"), "wb") as f:
        f.write("UTF-16 without a byte-order mark, still text.\n".encode("utf-16-le"))
    add("utf16-no-bom.txt", "UTF-16LE without BOM", "stored")
    with open(os.path.join(files, "few-bad-bytes.txt"), "wb") as f:
        f.write(("Na\u00efve but mostly valid UTF-8. " * 50).encode() + b"\xff\xfe" + b" end.\n")
    add("few-bad-bytes.txt", "UTF-8 with 2 bad bytes", "stored")
    with open(os.path.join(files, "binary.txt"), "wb") as f:
        f.write(b"\x7fELF\x02\x01\x01\x00" * 64)
    add("binary.txt", "binary named .txt", "refused", "binary content")
    open(os.path.join(files, "empty.txt"), "w").close()
    add("empty.txt", "zero bytes", "refused", "zero bytes")
    with open(os.path.join(files, "two\nlines.txt"), "w") as f:
        f.write("A file whose name holds a newline.\n")
    add("two\nlines.txt", "newline in the name", "stored")
    os.mkfifo(os.path.join(files, "pipe.txt"))
    add("pipe.txt", "FIFO", "skipped", "named pipe")
    os.symlink(os.path.join(files, "nowhere.md"), os.path.join(files, "dangling.md"))
    add("dangling.md", "dangling link", "skipped", "dangling")

    with open(os.path.join(a.out, "cases.json"), "w") as f:
        json.dump({"scale": a.scale, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
