"""MNIST handwritten digits, Keras-style: ``(x_train, y_train), (x_test, y_test) = load_data()``.

Images are uint8 arrays (N, 28, 28), labels uint8 (N,), 60,000 training and 10,000 test
images. The four official IDX files (``.gz`` or not) are found as :mod:`~.sources` describes:
``path``, ``$SVERTKA_DATA/mnist``, the cache, or a download checked against the published
SHA-256 of the decompressed files. ``load_sample()`` returns the real MNIST prefix that ships
inside the package (6,000 training and 1,000 test images), so demos run offline.
"""

from __future__ import annotations

import os
from pathlib import Path

from svertka.datasets.idx import idx_dataset, read_idx
from svertka.datasets.sources import DataSource, RemoteFile, locate

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CLASS_NAMES = tuple("0123456789")
SAMPLE_DIR = Path(__file__).parent / "sample"
SOURCE = DataSource(
    name="mnist",
    folders=("mnist",),
    files=(
        RemoteFile("train-images-idx3-ubyte.gz",
                   "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        RemoteFile("train-labels-idx1-ubyte.gz",
                   "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        RemoteFile("t10k-images-idx3-ubyte.gz",
                   "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        RemoteFile("t10k-labels-idx1-ubyte.gz",
                   "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
)


def load_data(path: str | os.PathLike | None = None, download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and labels (N,).

    ``path`` is a folder holding the four IDX files; without it ``$SVERTKA_DATA/mnist``, the
    cache and (when ``download``) the mirrors are tried in that order.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, x_test.shape  # doctest: +SKIP
    ((60000, 28, 28), (10000, 28, 28))
    """
    return idx_dataset(locate(SOURCE, path, download), name="mnist",
                       classes=len(CLASS_NAMES))


def load_sample():
    """The embedded MNIST sample: 6,000 training and 1,000 test images, uint8 as load_data.

    >>> (x_train, y_train), (x_test, y_test) = load_sample()
    >>> x_train.shape, y_test.shape
    ((6000, 28, 28), (1000,))
    """
    x_train, y_train, x_test, y_test = (read_idx(SAMPLE_DIR / f"mnist-{n}.gz") for n in FILES)
    return (x_train, y_train), (x_test, y_test)
