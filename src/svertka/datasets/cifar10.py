"""CIFAR-10 (A. Krizhevsky), Keras-style: ``(x_train, y_train), (x_test, y_test) = load_data()``.

Images are uint8 (N, 32, 32, 3) channels-last, labels uint8 (N, 1) as Keras gives them (the
readers ``read_binary``, ``load_binary`` and ``load_tree`` give a flat (N,) vector, as
``svertka.datasets.load("cifar10")`` does for every set), 50,000 training and 10,000 test
images, classes in :data:`CLASS_NAMES` order, which is alphabetical, so a folder tree sorted
by class name gets the standard labels. Read from any of:

- the official binary batches ``data_batch_1.bin`` .. ``data_batch_5.bin`` and
  ``test_batch.bin`` (each record: 1 label byte, then 3,072 pixel bytes, channel-major
  (3, 32, 32)), in the folder itself or in its ``cifar-10-batches-bin/`` subfolder;
- an image tree ``train/<class>/*`` and ``test/<class>/*`` of PNG or JPEG files (resized to
  32x32 if they are not), as a folder or a ``.tar``/``.tar.gz`` of one;
- ``cifar-10-binary.tar.gz``, the official archive of the batches.

Searched in ``path``, then ``$SVERTKA_DATA/cifar10`` (or ``cifar10-jpg``, ``cifar-10``,
``cifar-10-batches-bin``), then the cache, then downloaded (the official archive, checked by
SHA-256, unpacked to the six batches in the cache). An archive is used only when read to its
end (a truncated or damaged one is a DataFileError, and nothing of it is cached); the official
archive under its own name is checked against its SHA-256. Decoding a tree or an archive is slow
(60,000 JPEGs: about 14 s on one core), so its arrays are cached as ``.npy`` files in
``<cache>/cifar10/decoded-<key>/``, the key a hash of the archive (or of the folder's listing):
later loads read them in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np

from svertka.datasets import files
from svertka.datasets.files import read_tar
from svertka.datasets.images import (
    IMAGE_EXTENSIONS,
    images_from_tree,
    is_archive,
    read_tree,
    split_tree,
)
from svertka.datasets.sources import (
    DatasetNotFoundError,
    DataSource,
    DownloadError,
    RemoteFile,
    cache_dir,
    cached_arrays,
    data_dirs,
    fetch,
    tree_fingerprint,
    verify_files,
)
from svertka.errors import DataFileError
from svertka.models.atomic import atomic_write

CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
RECORD_BYTES = 1 + 3 * 32 * 32
ARCHIVE = "cifar-10-binary.tar.gz"
SOURCE = DataSource(
    name="cifar10",
    folders=("cifar10", "cifar10-jpg", "cifar-10", "cifar-10-batches-bin"),
    files=(RemoteFile(ARCHIVE,
                      "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),),
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
)
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
_CACHE_VERSION = "3"  # bumped when the decoded order or format changes, or (3) a cache
# written before may hold a truncated archive's partial content


def read_binary(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one binary batch: x uint8 (N, 32, 32, 3), y uint8 (N,).

    >>> record = bytes([3]) + bytes(range(256)) * 12
    >>> x, y = read_binary(record * 2)
    >>> x.shape, y.tolist(), x[0, 0, 1].tolist()  # pixel (0, 1): bytes 1, 1025, 2049
    ((2, 32, 32, 3), [3, 3], [1, 1, 1])
    """
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise DataFileError(f"cifar10: {name} holds {len(data)} bytes, not a whole number of "
                            f"{RECORD_BYTES}-byte records (1 label byte + 3,072 pixel bytes): "
                            "the file is truncated or not a CIFAR-10 binary batch")
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    y = records[:, 0].copy()
    if y.max() >= len(CLASS_NAMES):
        raise DataFileError(f"cifar10: {name} has label {y.max()}, CIFAR-10 labels are 0-9: "
                            "not a CIFAR-10 binary batch (CIFAR-100's records are longer)")
    x = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, C, H, W) -> NHWC
    return np.ascontiguousarray(x), y


def _concat(parts):
    xs, ys = zip(*parts)
    return np.concatenate(xs), np.concatenate(ys)


def _binaries(blobs: dict[str, bytes], where: str):
    """The batches read and checked to hold one number of records each (10,000 in CIFAR-10),
    which a batch cut at a record boundary would not."""
    parts = {n: read_binary(blobs[n], f"{where}/{n}") for n in TRAIN_FILES + TEST_FILES}
    counts = {n: len(y) for n, (_, y) in parts.items()}
    if len(set(counts.values())) > 1:
        usual = max(counts.values(), key=list(counts.values()).count)
        odd = ", ".join(f"{n} holds {c:,}" for n, c in counts.items() if c != usual)
        raise DataFileError(f"cifar10: in {where}, {odd} records, the other batches {usual:,} "
                            "each: a batch is truncated or does not belong to the others")
    return (_concat([parts[n] for n in TRAIN_FILES]), _concat([parts[n] for n in TEST_FILES]))


def _read_batch(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > files.MAX_BYTES:
            raise DataFileError(f"cifar10: {path} holds {size:,} bytes, more than the cap "
                                "svertka.datasets.files.MAX_BYTES: not a CIFAR-10 batch")
        return path.read_bytes()
    except OSError as e:
        raise DataFileError(f"cifar10: cannot read {path} ({e})") from e


def _binary_dir(directory: Path) -> Path | None:
    for d in (directory, directory / "cifar-10-batches-bin"):
        if all((d / n).is_file() for n in TRAIN_FILES + TEST_FILES):
            return d
    return None


def load_binary(directory: str | os.PathLike):
    """``(x_train, y_train), (x_test, y_test)`` from the six binary batch files."""
    d = _binary_dir(Path(directory))
    if d is None:
        raise DatasetNotFoundError(f"cifar10.load_binary: {directory} lacks "
                                   f"{', '.join(TRAIN_FILES + TEST_FILES)}")
    return _binaries({n: _read_batch(d / n) for n in TRAIN_FILES + TEST_FILES}, str(d))


def _decode(path: Path):
    """The four arrays of an image tree, or of an archive of a tree or of the batches."""
    tree = read_tree(path, IMAGE_EXTENSIONS | {".bin"})
    blobs = {PurePosixPath(rel).name: src for rel, src in tree.items() if rel.endswith(".bin")}
    if all(n in blobs for n in TRAIN_FILES + TEST_FILES):
        blobs = {n: b if isinstance(b, bytes) else _read_batch(b) for n, b in blobs.items()}
        (x_train, y_train), (x_test, y_test) = _binaries(blobs, str(path))
        return x_train, y_train, x_test, y_test
    images = {rel: src for rel, src in tree.items() if not rel.endswith(".bin")}
    splits = split_tree(images)
    if splits is None or not splits["train"] or not splits["test"]:
        raise DataFileError(f"cifar10: {path} holds neither the binary batches nor an image "
                            "tree with train/<class>/ and test/<class>/ folders")
    arrays = []
    for split in ("train", "test"):
        x, y, _ = images_from_tree(splits[split], f"{path}/{split}", (32, 32), "rgb",
                                   CLASS_NAMES, "cifar10")
        arrays += [x, y]
    return tuple(arrays)


def load_tree(path: str | os.PathLike):
    """CIFAR-10 from an image tree or archive (see the module note), cached as ``.npy``.

    The official archive, under its own name, is checked against its SHA-256 first.
    """
    path = Path(path)
    if path.name == ARCHIVE and path.is_file():
        verify_files(path.parent, SOURCE)
    key = f"decoded-{tree_fingerprint(path)}-v{_CACHE_VERSION}"
    x_train, y_train, x_test, y_test = cached_arrays(cache_dir("cifar10") / key, _ARRAYS,
                                                     lambda: _decode(path))
    return (x_train, y_train), (x_test, y_test)


def _loader(path: Path):
    """How to read CIFAR-10 from ``path``, or None when it holds nothing CIFAR-like."""
    if is_archive(path):
        return lambda: load_tree(path)
    if not path.is_dir():
        return None
    if _binary_dir(path) is not None:
        return lambda: load_binary(path)
    if (path / "train").is_dir() and (path / "test").is_dir():
        return lambda: load_tree(path)
    archives = sorted(p for p in path.iterdir() if is_archive(p))
    archives.sort(key=lambda p: p.name != ARCHIVE)  # the official archive first
    return (lambda: load_tree(archives[0])) if archives else None


def _unpack_download(directory: Path) -> None:
    """Extract the six batches of the downloaded archive beside it, then drop the archive.

    The archive is read to its end before a batch is written, so a damaged one leaves none.
    """
    archive = directory / ARCHIVE
    wanted = set(TRAIN_FILES + TEST_FILES)
    blobs = read_tar(archive, lambda rel: rel.name in wanted)
    found = {PurePosixPath(rel).name: data for rel, data in blobs.items()}
    if set(found) != wanted:
        raise DataFileError(f"cifar10: {archive} lacks {', '.join(sorted(wanted - set(found)))}")
    for name, data in found.items():
        atomic_write(directory / name, lambda f, data=data: f.write(data))
    archive.unlink()


def load_data(path: str | os.PathLike | None = None, download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3), uint8 labels
    (N, 1), as Keras's ``keras.datasets.cifar10.load_data()`` (sparse cross-entropy and
    accuracy take (N, 1) labels as they are; ``y.ravel()`` gives the flat vector).

    ``path`` is a folder or an archive in any of the module's layouts; without it,
    ``$SVERTKA_DATA``, the cache and (when ``download``) the official archive are tried.

    >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    >>> x_train.shape, y_train.shape, CLASS_NAMES[y_train[0, 0]]  # doctest: +SKIP
    ((50000, 32, 32, 3), (50000, 1), 'frog')
    """
    (x_train, y_train), (x_test, y_test) = _load_flat(path, download)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))


def _load_flat(path, download):
    if path is not None:
        loader = _loader(Path(path))
        if loader is None:
            raise DatasetNotFoundError(f"cifar10: {path} holds no CIFAR-10 data. "
                                       + _what_to_put())
        return loader()
    searched = [*data_dirs(SOURCE), cache_dir("cifar10")]
    for directory in searched:
        if (loader := _loader(directory)) is not None:
            return loader()
    if not download:
        raise DatasetNotFoundError(_not_found(searched, "(download=False)"))
    try:
        directory = fetch(SOURCE)
    except DownloadError as e:
        raise DatasetNotFoundError(_not_found(searched, f"Download failed:\n{e}")) from e
    _unpack_download(directory)
    return load_binary(directory)


def _what_to_put() -> str:
    return (f"Expected one of: the binary batches {', '.join(TRAIN_FILES + TEST_FILES)} (or "
            f"{ARCHIVE}); an image tree train/<class>/*.png|jpg and test/<class>/*.png|jpg with "
            f"the classes {', '.join(CLASS_NAMES)}; or a .tar.gz of that tree.")


def _not_found(searched, reason: str) -> str:
    env = "" if os.environ.get("SVERTKA_DATA") else (
        "\n  - $SVERTKA_DATA/cifar10 (SVERTKA_DATA is not set)")
    where = "\n".join(f"  - {p}" for p in searched)
    return (f"cifar10: data set not found. {_what_to_put()}\nPut it into one of:\n{where}{env}\n"
            f"or pass path=<that folder or archive>.\n{reason}")
