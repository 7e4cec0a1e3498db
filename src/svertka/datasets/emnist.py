"""EMNIST (Cohen et al., 2017): handwritten letters and digits in MNIST's IDX format.

NIST publishes all splits in one 535 MB ``gzip.zip``; there is no download here. Unzip it
and point ``path`` (or ``$SVERTKA_DATA/emnist``) at the folder holding
``emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte.gz``.

Two fixes make the arrays match the other loaders: EMNIST stores every image transposed
(column-major), so images are transposed back to upright (N, 28, 28); and the ``letters``
split numbers its classes 1-26, shifted here to 0-25 so ``CLASS_NAMES['letters'][y]`` is the
letter. Other splits keep their labels.
"""

from __future__ import annotations

import os
import string

from svertka.datasets.idx import idx_dataset
from svertka.datasets.sources import DataSource, RemoteFile, locate
from svertka.errors import DataFileError

_DIGITS = tuple(string.digits)
_UPPER = tuple(string.ascii_uppercase)
CLASS_NAMES = {
    "letters": _UPPER,
    "digits": _DIGITS,
    "mnist": _DIGITS,
    "byclass": _DIGITS + _UPPER + tuple(string.ascii_lowercase),
    # the 47-class splits merge the lowercase letters that look like their capitals
    "bymerge": _DIGITS + _UPPER + tuple("abdefghnqrt"),
    "balanced": _DIGITS + _UPPER + tuple("abdefghnqrt"),
}
SPLITS = tuple(CLASS_NAMES)


def source(split: str = "letters") -> DataSource:
    """The files of one EMNIST split and where they are searched."""
    if split not in CLASS_NAMES:
        raise ValueError(f"emnist: argument 'split' must be one of {', '.join(SPLITS)}, "
                         f"received {split!r}")
    names = [f"emnist-{split}-{part}-{kind}-ubyte.gz" for part in ("train", "test")
             for kind in ("images-idx3", "labels-idx1")]
    return DataSource(name=f"emnist ({split})", folders=("emnist", "EMNIST"),
                      files=tuple(RemoteFile(n) for n in names),
                      note="Get them from https://www.nist.gov/itl/products-and-services/"
                           "emnist-dataset (the 'gzip.zip' archive) and unzip it.")


def load_data(path: str | os.PathLike | None = None, split: str = "letters",
              download: bool = True):
    """``(x_train, y_train), (x_test, y_test)`` of one split, uint8, images upright (N, 28, 28).

    There is no download source, so a missing split is a DatasetNotFoundError saying which
    files to put where; ``download`` only keeps the signature uniform.

    >>> (x_train, y_train), _ = load_data(split="letters")  # doctest: +SKIP
    >>> CLASS_NAMES["letters"][y_train[0]]  # doctest: +SKIP
    'W'
    """
    directory = locate(source(split), path, download)
    letters = split == "letters"  # numbered 1-26
    (x_train, y_train), (x_test, y_test) = idx_dataset(
        directory, prefix=f"emnist-{split}-", test_names=("test",), name="emnist",
        classes=len(CLASS_NAMES[split]) + letters)
    if letters:
        for y in (y_train, y_test):
            if len(y) and y.min() < 1:
                raise DataFileError(f"emnist.load_data: letters labels must be 1-26, {directory} "
                                    f"holds {y.min()}-{y.max()}: not the 'letters' split")
        y_train, y_test = y_train - 1, y_test - 1
    return ((x_train.transpose(0, 2, 1).copy(), y_train),
            (x_test.transpose(0, 2, 1).copy(), y_test))
