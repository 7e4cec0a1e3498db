"""``load(name_or_path)``: any data set by name, or an image tree by path, in one shape.

Known names (case, ``-`` and ``_`` do not matter): ``mnist``, ``fashion_mnist``, ``notmnist``,
``cifar10``, ``emnist_<split>`` (``emnist`` alone is ``emnist_letters``). A name wins over a
same-named folder in the working directory; write ``./mnist`` for the folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from svertka.datasets import cifar10, emnist, fashion_mnist, mnist, notmnist
from svertka.datasets.images import image_dataset, is_archive

_DATASETS: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "mnist": (mnist.load_data, mnist.CLASS_NAMES),
    "fashion_mnist": (fashion_mnist.load_data, fashion_mnist.CLASS_NAMES),
    "notmnist": (notmnist.load_data, notmnist.CLASS_NAMES),
    "cifar10": (cifar10.load_data, cifar10.CLASS_NAMES),
    **{f"emnist_{split}": (partial(emnist.load_data, split=split), names)
       for split, names in emnist.CLASS_NAMES.items()},
}
NAMES = tuple(_DATASETS)
_ALIASES = {"emnist": "emnist_letters"}


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


_BY_KEY = {_key(n): n for n in NAMES} | {_key(a): n for a, n in _ALIASES.items()}


def canonical_name(name: str) -> str | None:
    """The registered name for ``name`` (``'Fashion-MNIST'`` -> ``'fashion_mnist'``), or None."""
    return _BY_KEY.get(_key(name))


def class_names(name: str) -> tuple[str, ...]:
    """The class names of a named data set, in label order."""
    canonical = canonical_name(name)
    if canonical is None:
        raise ValueError(f"class_names: unknown data set {name!r}; known: {', '.join(NAMES)}")
    return _DATASETS[canonical][1]


def load(name_or_path: str | os.PathLike, path: str | os.PathLike | None = None, *,
         download: bool = True, image_size=None, color_mode: str = "rgb"):
    """``(x_train, y_train), (x_test, y_test), class_names`` of a named set or an image tree.

    A known name calls that set's ``load_data(path, download)``; its images keep the set's
    own shape (MNIST-like sets (N, 28, 28), CIFAR-10 (N, 32, 32, 3)). An existing folder or
    ``.tar``/``.tar.gz`` archive is read by :func:`~svertka.datasets.images.image_dataset`:
    its ``train/`` and ``test/`` sub-trees, or the whole tree as training data with an empty
    test split, images (N, H, W, C) resized to ``image_size`` in ``color_mode``.

    >>> (x_train, y_train), (x_test, y_test), names = load("mnist")  # doctest: +SKIP
    >>> load("no-such-set")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: load: 'no-such-set' is neither a known data set (mnist, ...) nor a folder or ...
    """
    canonical = canonical_name(name_or_path) if isinstance(name_or_path, str) else None
    if canonical is not None:
        if image_size is not None or color_mode != "rgb":
            raise ValueError(f"load: image_size and color_mode apply to image folders, not to "
                             f"the named data set {canonical!r}")
        loader, names = _DATASETS[canonical]
        (x_train, y_train), (x_test, y_test) = loader(path, download=download)
        # one shape for every set: CIFAR-10's Keras-style (N, 1) labels come out flat (N,)
        y_train, y_test = (y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
                           for y in (y_train, y_test))
        return (x_train, y_train), (x_test, y_test), list(names)
    tree = Path(name_or_path)
    if tree.is_dir() or is_archive(tree):
        if path is not None:
            raise ValueError(f"load: argument 'path' is for named data sets; {tree} is "
                             f"already a path (received path={path!r})")
        return image_dataset(tree, image_size, color_mode)
    raise ValueError(f"load: {str(name_or_path)!r} is neither a known data set "
                     f"({', '.join(NAMES)}) nor a folder or .tar/.tar.gz archive of images")
