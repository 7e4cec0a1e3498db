"""Reader for the IDX format of MNIST, Fashion-MNIST and notMNIST (gzip-compressed or raw).

An IDX file starts with a 4-byte magic number: two zero bytes, a type code (0x08 = uint8) and
the number of dimensions, then one big-endian uint32 per dimension, then the data.
"""

from __future__ import annotations

import gzip
import os
import struct
import warnings
from pathlib import Path

import numpy as np

from svertka.datasets.sources import DatasetNotFoundError, find_file

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file; a clear ValueError for a damaged or foreign file.

    >>> import gzip, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.gz"
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":  # gzip, whatever the file's name says
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as e:
        raise ValueError(f"read_idx: cannot read {path}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (expected magic 0x0000TTDD, "
                         f"received {raw[:4].hex() or 'an empty file'})")
    dtype, ndim = np.dtype(_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"read_idx: {path} holds {len(raw) - header} data bytes, expected "
                         f"{expected} for shape {shape}: the file is truncated or damaged")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx_pair(images: str | Path, labels: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,) from two IDX files, checked to belong together."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3:
        raise ValueError(f"read_idx_pair: {images} must hold images (N, H, W), received "
                         f"shape {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"read_idx_pair: {labels} must hold labels (N,), received "
                         f"shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"read_idx_pair: {images} holds {len(x)} images but {labels} holds "
                         f"{len(y)} labels: the files do not belong together")
    return x, y


def idx_split(directory: str | os.PathLike, prefix: str, split: str):
    """``(x, y)`` of ``{prefix}{split}-images-idx3-ubyte`` and ``-labels-idx1-ubyte`` (``.gz``
    or not) in ``directory``, or None when either file is absent."""
    images = find_file(directory, f"{prefix}{split}-images-idx3-ubyte.gz")
    labels = find_file(directory, f"{prefix}{split}-labels-idx1-ubyte.gz")
    if images is None or labels is None:
        return None
    return read_idx_pair(images, labels)


def idx_dataset(directory: str | os.PathLike, prefix: str = "",
                test_names: tuple[str, ...] = ("t10k", "test"), *, name: str = "idx_dataset"):
    """``(x_train, y_train), (x_test, y_test)`` from IDX files named in the MNIST manner.

    The files are ``{prefix}train-images-idx3-ubyte``, ``{prefix}train-labels-idx1-ubyte``
    and the same with ``t10k`` (MNIST's name) or ``test`` (EMNIST's), each ``.gz`` or not:
    ``prefix=""`` reads MNIST, Fashion-MNIST or notMNIST, ``prefix="emnist-letters-"`` an
    EMNIST split. When only one split is present the other comes back as empty arrays
    ``(0, H, W)`` and ``(0,)``, with a warning, so the Keras-style tuple keeps its shape.
    ``name`` is the data set's name in errors and warnings.

    >>> import tempfile
    >>> directory = tempfile.mkdtemp()
    >>> idx_dataset(directory)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DatasetNotFoundError: ...
    """
    directory = Path(directory)
    train = idx_split(directory, prefix, "train")
    test = next((s for name in test_names if (s := idx_split(directory, prefix, name))), None)
    if train is None and test is None:
        names = [f"{prefix}{split}-{kind}" for split in ("train", test_names[0])
                 for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
        raise DatasetNotFoundError(f"{name}: {directory} holds neither split; expected "
                                   f"{', '.join(names)} (each .gz or not)")
    if train is None or test is None:
        present, missing = ("test", "train") if train is None else ("train", "test")
        warnings.warn(f"{name}: {directory} holds no {prefix}{missing}-images-idx3-ubyte and "
                      f"-labels-idx1-ubyte files; the {missing} split is returned empty, the "
                      f"{present} split holds all {len((train or test)[0]):,} images",
                      stacklevel=2)
        x, y = train or test
        empty = (np.empty((0, *x.shape[1:]), x.dtype), np.empty(0, y.dtype))
        train, test = (empty, test) if train is None else (train, empty)
    return train, test
