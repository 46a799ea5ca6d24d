"""MNIST idx(.gz) reader with an md5 check.

The data directory holds the four original files and an `md5sums` file (as written by md5sum).
Default location: ../shared/data/mnist relative to the repository root.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# every dataset's root: ../shared/data beside the repository, or $DIGITS_DATA (scripts/test sets it
# for a clone made elsewhere)
DATA_ROOT = (os.environ.get("DIGITS_DATA")
             or os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "data")))
DEFAULT_DATA = os.path.join(DATA_ROOT, "mnist")

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
# The original distribution's md5s; used when the directory has no md5sums file.
KNOWN_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


class DataError(RuntimeError):
    pass


def _md5(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(data_dir: str) -> None:
    """Raise DataError with a readable message if a file is missing or its md5 is wrong."""
    if not os.path.isdir(data_dir):
        raise DataError(f"MNIST data directory not found: {data_dir} (use --data DIR; it must "
                        f"hold {', '.join(FILES.values())} and md5sums)")
    expected = dict(KNOWN_MD5)
    sums = os.path.join(data_dir, "md5sums")
    if os.path.exists(sums):
        with open(sums) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    expected[parts[1].lstrip("*")] = parts[0].lower()
    problems = []
    for name in FILES.values():
        p = os.path.join(data_dir, name)
        if not os.path.exists(p):
            problems.append(f"missing: {p}")
            continue
        got = _md5(p)
        if got != expected[name]:
            problems.append(f"corrupt: {p}: md5 {got}, expected {expected[name]}")
    if problems:
        raise DataError("MNIST data check failed:\n  " + "\n  ".join(problems))


def _read_idx(path: str, magic_expected: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != magic_expected:
        raise DataError(f"{path}: bad idx magic {magic:#x}")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise DataError(f"{path}: size {arr.size} != {dims}")
    return arr.reshape(dims)


def load(data_dir: str = DEFAULT_DATA, check: bool = True):
    """Returns dict with uint8 arrays train_images (60000,28,28), train_labels (60000,),
    test_images (10000,28,28), test_labels (10000,)."""
    if check:
        verify(data_dir)
    out = {}
    for key, name in FILES.items():
        out[key] = _read_idx(os.path.join(data_dir, name), 0x803 if "images" in key else 0x801)
    return out


def load_or_exit(data_dir: str, check: bool = True):
    try:
        return load(data_dir, check)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


# The fixed train/validation split: a permutation of the 60k training images from a fixed seed;
# the first 54000 train, the last 6000 validate.  Never depends on any other seed.
SPLIT_SEED = 20240601
N_VAL = 6000


def split_indices(n: int = 60000, n_val: int = N_VAL, seed: int = SPLIT_SEED):
    perm = np.random.RandomState(seed).permutation(n)
    return np.sort(perm[: n - n_val]), np.sort(perm[n - n_val:])
