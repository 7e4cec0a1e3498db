"""Reader for the IDX format of MNIST, Fashion-MNIST and notMNIST (gzip-compressed or raw).

An IDX file starts with a 4-byte magic number: two zero bytes, a type code (0x08 = uint8) and
the number of dimensions, then one big-endian uint32 per dimension, then the data. The header
is checked before any data is read, the data must fill the declared shape exactly, and a gzip
file must be complete to its trailer; anything else is a :class:`~svertka.errors.DataFileError`
naming the file.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from pathlib import Path

import numpy as np

from svertka.datasets import files
from svertka.datasets.files import Content
from svertka.datasets.sources import DatasetNotFoundError, find_file
from svertka.errors import DataFileError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
           0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file; a DataFileError for a damaged or foreign file.

    >>> import gzip, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.gz"
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path)
    array([7, 8, 9], dtype=uint8)
    """
    path = Path(path)
    with Content(path) as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _DTYPES:
            if f.compressed:  # a damaged gzip says so, rather than "not an IDX file"
                f.drain()
            raise DataFileError(f"read_idx: {path} is not an IDX file (expected magic "
                                f"0x0000TTDD, received {bytes(magic).hex() or 'an empty file'})")
        dtype, ndim = np.dtype(_DTYPES[magic[2]]), magic[3]
        dims = f.read(4 * ndim)
        if len(dims) < 4 * ndim:
            if f.compressed:
                f.drain()
            raise DataFileError(f"read_idx: {path} is truncated inside its header")
        shape = struct.unpack(f">{ndim}I", dims)
        expected = math.prod(shape) * dtype.itemsize
        if expected > files.MAX_BYTES:
            raise DataFileError(f"read_idx: {path} declares shape {shape}, {expected:,} bytes, "
                                f"more than the cap svertka.datasets.files.MAX_BYTES: a damaged "
                                "header")
        data = f.read(expected)  # grows with the bytes there, never sized from the header
        held = len(data) + f.drain()
    if held != expected:
        raise DataFileError(f"read_idx: {path} holds {held:,} data bytes, expected {expected:,} "
                            f"for shape {shape}: the file is truncated or damaged")
    x = np.frombuffer(data, dtype).reshape(shape)
    return x.astype(dtype.newbyteorder("="), copy=False)


def read_idx_pair(images: str | Path, labels: str | Path,
                  classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,) from two IDX files of uint8, checked to belong
    together; with ``classes``, every label must lie in ``0 .. classes - 1``."""
    x, y = read_idx(images), read_idx(labels)
    for path, a, ndim, what in ((images, x, 3, "images (N, H, W)"), (labels, y, 1, "labels (N,)")):
        if a.ndim != ndim or a.dtype != np.uint8:
            raise DataFileError(f"read_idx_pair: {path} must hold {what} of uint8, received "
                                f"shape {a.shape} of {a.dtype}")
    if len(x) != len(y):
        raise DataFileError(f"read_idx_pair: {images} holds {len(x)} images but {labels} holds "
                            f"{len(y)} labels: the files do not belong together")
    if classes is not None and len(y) and y.max() >= classes:
        raise DataFileError(f"read_idx_pair: {labels} holds label {y.max()}, expected labels "
                            f"0-{classes - 1}: the file is damaged or of another data set")
    return x, y


def idx_split(directory: str | os.PathLike, prefix: str, split: str, classes: int | None = None):
    """``(x, y)`` of ``{prefix}{split}-images-idx3-ubyte`` and ``-labels-idx1-ubyte`` (``.gz``
    or not) in ``directory``, or None when either file is absent."""
    images = find_file(directory, f"{prefix}{split}-images-idx3-ubyte.gz")
    labels = find_file(directory, f"{prefix}{split}-labels-idx1-ubyte.gz")
    if images is None or labels is None:
        return None
    return read_idx_pair(images, labels, classes)


def idx_dataset(directory: str | os.PathLike, prefix: str = "",
                test_names: tuple[str, ...] = ("t10k", "test"), *, name: str = "idx_dataset",
                classes: int | None = None):
    """``(x_train, y_train), (x_test, y_test)`` from IDX files named in the MNIST manner.

    The files are ``{prefix}train-images-idx3-ubyte``, ``{prefix}train-labels-idx1-ubyte``
    and the same with ``t10k`` (MNIST's name) or ``test`` (EMNIST's), each ``.gz`` or not:
    ``prefix=""`` reads MNIST, Fashion-MNIST or notMNIST, ``prefix="emnist-letters-"`` an
    EMNIST split. When only one split is present the other comes back as empty arrays
    ``(0, H, W)`` and ``(0,)``, with a warning, so the Keras-style tuple keeps its shape.
    ``name`` is the data set's name in errors and warnings; ``classes``, when given, is the
    number of classes, and a label outside ``0 .. classes - 1`` is a DataFileError.

    >>> import tempfile
    >>> directory = tempfile.mkdtemp()
    >>> idx_dataset(directory)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DatasetNotFoundError: ...
    """
    directory = Path(directory)
    train = idx_split(directory, prefix, "train", classes)
    test = next((s for split in test_names if (s := idx_split(directory, prefix, split, classes))),
                None)
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
