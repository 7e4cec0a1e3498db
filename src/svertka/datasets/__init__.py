"""Data sets in their usual formats, Keras-style: ``(x_train, y_train), (x_test, y_test)``.

Named sets (each a module with ``load_data(path=None, download=True)`` and ``CLASS_NAMES``):
:mod:`mnist`, :mod:`fashion_mnist`, :mod:`notmnist`, :mod:`emnist`, :mod:`cifar10`. Where
their files are looked for, and how downloads are checked, is in :mod:`.sources`. Any
folder-per-class image tree: :func:`image_folder`, :func:`image_dataset`; one image file:
:func:`load_image`; everything through one door: :func:`load`.

A damaged data file (IDX, gzip, tar, CIFAR-10 batch, image) raises
:class:`~svertka.errors.DataFileError` (a ``ValueError``) naming the file and what is wrong;
archives are read to their end or not at all (:mod:`.files`), and a file with a recorded
SHA-256 is checked against it (:mod:`.checksums`).
"""

from svertka.datasets import (
    checksums,
    cifar10,
    emnist,
    fashion_mnist,
    files,
    mnist,
    notmnist,
    sources,
)
from svertka.datasets.idx import idx_dataset, read_idx
from svertka.datasets.images import image_dataset, image_folder, load_image
from svertka.datasets.loader import BatchLoader, Normalizer, channel_stats
from svertka.datasets.registry import NAMES, class_names, load
from svertka.datasets.sources import ChecksumError, DatasetNotFoundError, DownloadError, cache_dir
from svertka.errors import DataFileError

__all__ = [
    "NAMES", "BatchLoader", "ChecksumError", "DataFileError", "DatasetNotFoundError",
    "DownloadError", "Normalizer", "cache_dir", "channel_stats", "checksums", "cifar10",
    "class_names", "emnist", "fashion_mnist", "files", "idx_dataset", "image_dataset",
    "image_folder", "load", "load_image", "mnist", "notmnist", "read_idx", "sources",
]
