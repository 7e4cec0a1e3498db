"""Fashion-MNIST (Zalando), Keras-style: ``(x_train, y_train), (x_test, y_test) = load_data()``.

Ten classes of clothing (:data:`CLASS_NAMES`), 60,000 training and 10,000 test images, uint8
(N, 28, 28), labels uint8 (N,), in the same four IDX files as MNIST. They are found in ``path``,
``$SVERTKA_DATA/fashion-mnist`` (or ``fashion_mnist``), the cache, or downloaded from the Keras
mirror. The SHA-256 values are of the decompressed files, as Zalando published them.
"""

from __future__ import annotations

import os

from svertka.datasets.idx import idx_dataset
from svertka.datasets.sources import DataSource, RemoteFile, locate

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
SOURCE = DataSource(
    name="fashion_mnist",
    folders=("fashion-mnist", "fashion_mnist"),
    files=(
        RemoteFile("train-images-idx3-ubyte.gz",
                   "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        RemoteFile("train-labels-idx1-ubyte.gz",
                   "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
        RemoteFile("t10k-images-idx3-ubyte.gz",
                   "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
        RemoteFile("t10k-labels-idx1-ubyte.gz",
                   "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ),
    mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
    note="Debian users: `apt-get install dataset-fashion-mnist` installs them in "
         "/usr/share/datasets/fashion-mnist/ (pass that as path=).",
)


def load_data(path: str | os.PathLike | None = None, download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and labels (N,).

    >>> (x_train, y_train), _ = load_data()  # doctest: +SKIP
    >>> CLASS_NAMES[y_train[0]]  # doctest: +SKIP
    'Ankle boot'
    """
    return idx_dataset(locate(SOURCE, path, download), name="fashion_mnist",
                       classes=len(CLASS_NAMES))
