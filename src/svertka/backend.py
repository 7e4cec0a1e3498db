"""The one place that knows NumPy from CuPy.

Every kernel asks ``get_array_module(x)`` for the array library of its input, so the same
code runs on NumPy arrays (CPU) and CuPy arrays (GPU). CuPy is optional: where it is not
installed everything is NumPy.

>>> import numpy as np
>>> get_array_module(np.zeros(3)) is np
True
"""

from __future__ import annotations

import numpy as np

try:  # CuPy is an optional drop-in; importing it must never be required.
    import cupy as _cupy
except Exception:  # noqa: BLE001 - a broken CUDA install raises more than ImportError
    _cupy = None

_default = np


def get_array_module(*arrays):
    """Return ``numpy`` or ``cupy``, whichever owns the given arrays."""
    if _cupy is not None:
        return _cupy.get_array_module(*arrays)
    return np


def set_backend(name: str) -> None:
    """Choose the library new arrays are created with: ``'numpy'`` or ``'cupy'``."""
    global _default
    if name == "numpy":
        _default = np
    elif name == "cupy":
        if _cupy is None:
            raise ValueError("set_backend: argument 'name' is 'cupy', but CuPy is not installed")
        _default = _cupy
    else:
        raise ValueError(
            f"set_backend: argument 'name' must be 'numpy' or 'cupy', received {name!r}")


def xp():
    """The array library new arrays are created with (NumPy unless ``set_backend('cupy')``)."""
    return _default


def asarray(data, dtype=None):
    """Convert ``data`` to an array of the current backend (no copy when already one)."""
    if _cupy is not None and isinstance(data, _cupy.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    return _default.asarray(data, dtype=dtype)


def to_numpy(a) -> np.ndarray:
    """A NumPy array from a NumPy or CuPy array."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)
