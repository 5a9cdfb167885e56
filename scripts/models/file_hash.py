"""SHA-256 of a file, read in 1 MiB blocks (model files are gigabytes). No dependencies: setup's
helpers, the graft builder and the GPU-machine scripts share it."""
import hashlib


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
