"""MNIST handwritten digits, Keras-style: ``(x_train, y_train), (x_test, y_test) = load_data()``.

Images are uint8 arrays (N, 28, 28), labels uint8 (N,). The data directory is ``path``, or
``$SVERTKA_DATA/mnist``; it holds the four official IDX files (``.gz`` or not).
``load_sample()`` returns the real MNIST prefix that ships inside the package (6,000 training
and 1,000 test images), so demos run offline.
"""

from __future__ import annotations

import os
from pathlib import Path

from svertka.datasets.idx import read_idx

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SAMPLE_DIR = Path(__file__).parent / "sample"


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.exists():
            return candidate
    return None


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """Where MNIST is read from: ``path``, else ``$SVERTKA_DATA/mnist``."""
    if path is not None:
        return Path(path)
    root = os.environ.get("SVERTKA_DATA")
    if root:
        return Path(root) / "mnist"
    raise FileNotFoundError(
        "mnist.load_data: no data directory; pass path=... or set SVERTKA_DATA to a folder whose "
        f"mnist/ subfolder holds {', '.join(f + '.gz' for f in FILES)}")


def load_data(path: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, read from the IDX files."""
    directory = data_dir(path)
    found = [_find(directory, name) for name in FILES]
    missing = [name for name, f in zip(FILES, found) if f is None]
    if missing:
        raise FileNotFoundError(f"mnist.load_data: {directory} lacks {', '.join(missing)} "
                                "(the official IDX files, optionally .gz)")
    x_train, y_train, x_test, y_test = (read_idx(f) for f in found)
    return (x_train, y_train), (x_test, y_test)


def load_sample():
    """The embedded MNIST sample: 6,000 training and 1,000 test images."""
    x_train, y_train, x_test, y_test = (read_idx(SAMPLE_DIR / f"mnist-{n}.gz") for n in FILES)
    return (x_train, y_train), (x_test, y_test)
