"""Keras-compatible helpers: ``to_categorical``, ``set_random_seed``, ``plot_model`` and
``model_to_dot``."""

from __future__ import annotations

import random as _pyrandom

import numpy as np

from svertka import random as _random
from svertka.datasets.pydataset import PyDataset, Sequence  # noqa: F401 - keras.utils names
from svertka.models.plot import model_to_dot, plot_model  # noqa: F401 - keras.utils names


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """One-hot rows for integer class ids: ``to_categorical([0, 2], 3)`` -> ``[[1,0,0],[0,0,1]]``.

    >>> to_categorical([0, 2], 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and (y.dtype.kind not in "iu" and not np.all(np.mod(y, 1) == 0)):
        raise ValueError(f"to_categorical: argument 'y' must hold integer class ids, received "
                         f"values of dtype {y.dtype}")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"to_categorical: argument 'y' must be in [0, {num_classes}), received "
                         f"values from {y.min()} to {y.max()}")
    out = np.zeros((*y.shape, num_classes), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seed every generator svertka draws from (weights, shuffling, augmentation, dropout), plus
    NumPy's and Python's global ones, so that a CPU training run repeats exactly.

    Exactly means bit for bit on the same machine with the same number of threads
    (``SVERTKA_THREADS``): the threads split each batch, and another split sums the gradients
    in another order (results then agree to about 1e-6, not to the bit). A
    ``Dropout(seed=...)`` layer keeps its own generator. ``svertka.random.get_state`` /
    ``set_state`` save and restore svertka's generator; ``BackupAndRestore`` uses them to
    resume a run on the same draws.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: argument 'seed' must be a non-negative int, "
                         f"received {seed!r}")
    _random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 - users may still draw from it
    _pyrandom.seed(int(seed))
