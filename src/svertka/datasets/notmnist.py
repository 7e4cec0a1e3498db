"""notMNIST letters A-J (Y. Bulatov), in MNIST's IDX files; labels 0-9 stand for A-J.

Images are uint8 (N, 28, 28) printed-font glyphs, labels uint8 (N,). The MNIST-format copy
(D. Flanagan's ``notMNIST-to-MNIST``, posted with the author's permission) has a 10,000-image
``t10k`` split, 1,000 a letter, which is what ``load_data`` needs; a ``train`` split of the same
layout is read when its two files sit beside the ``t10k`` ones. Without them ``load_data``
returns the training split as *empty* arrays (0, 28, 28) and (0,), with a warning, so the
Keras-style tuple keeps its shape and nothing is silently mixed: use the test split, or split
it yourself. Only the ``t10k`` files are downloaded (their SHA-256 is known).
"""

from __future__ import annotations

import os

from svertka.datasets.idx import idx_dataset
from svertka.datasets.sources import DataSource, RemoteFile, locate

CLASS_NAMES = tuple("ABCDEFGHIJ")
SOURCE = DataSource(
    name="notmnist",
    folders=("notmnist", "notMNIST"),
    files=(
        RemoteFile("t10k-images-idx3-ubyte.gz",
                   "8e7f38ae95cc8f48e0986175ffc9137e5007ebcf3d8fdf6656c904eb9dab198b"),
        RemoteFile("t10k-labels-idx1-ubyte.gz",
                   "5f8e6012f2ce730700d8d05fca098bc47f71d25b890e4bec7ac5ebfd614a4001"),
    ),
    mirrors=("https://raw.githubusercontent.com/davidflanagan/notMNIST-to-MNIST/master/",),
    note="Optional: train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz beside them add "
         "a training split.",
)


def load_data(path: str | os.PathLike | None = None, download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``; the training pair is empty (with a warning)
    when only the ``t10k`` files are present, see the module note.

    >>> _, (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_test.shape, CLASS_NAMES[y_test[0]]  # doctest: +SKIP
    ((10000, 28, 28), 'D')
    """
    return idx_dataset(locate(SOURCE, path, download), name="notmnist",
                       classes=len(CLASS_NAMES))
