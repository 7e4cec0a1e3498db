"""Argument checks of compile / fit / evaluate / predict, each naming the method, the argument,
what was expected and what was received (sizes through ``svertka.checks``, so NumPy integers
pass wherever an int does).

Empty data is an error, not an empty loop: a ``fit`` on 0 samples used to report a loss of 0.0
and ``evaluate`` ``[0.0, 0.0]``, which look like results.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

from svertka.autograd import Tensor
from svertka.checks import finite_float, integer

VERBOSE = (0, 1, 2, "auto")


def verbosity(where: str, verbose) -> int:
    """0 (silent), 1 (a progress bar) or 2 (one line per epoch); ``"auto"`` is 1 when stdout
    is a terminal and 2 otherwise (a log file, CI, ``nohup``), where a bar would write
    thousands of carriage-return updates into the file (Keras's rule)."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1 if _is_terminal(sys.stdout) else 2
    if isinstance(verbose, (bool, np.bool_)):  # verbose=False/True, as often written
        return int(verbose)
    if isinstance(verbose, numbers.Integral) and 0 <= verbose <= 2:  # np.int64(1) too
        return int(verbose)
    raise ValueError(f"{where}: argument 'verbose' must be one of {list(VERBOSE)}, received "
                     f"{verbose!r}")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def as_array(where: str, arg: str, data):
    """``data`` as an array-like with a length (arrays and memory maps stay as they are)."""
    if data is None:
        raise ValueError(f"{where}: argument '{arg}' is required, received None")
    if isinstance(data, Tensor):
        data = data.data
    elif not (hasattr(data, "shape") and hasattr(data, "dtype")):
        data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"{where}: argument '{arg}' must hold samples along its first axis, "
                         f"received a scalar")
    return data


def samples(where: str, arg: str, data):
    """``as_array``, and at least one sample."""
    data = as_array(where, arg, data)
    if len(data) == 0:
        raise ValueError(f"{where}: argument '{arg}' must hold at least one sample, received "
                         f"shape {tuple(data.shape)}")
    return data


def xy(where: str, x, y, names=("x", "y")):
    """Inputs and targets: both non-empty, with as many samples."""
    x, y = samples(where, names[0], x), samples(where, names[1], y)
    if len(x) != len(y):
        raise ValueError(f"{where}: arguments '{names[0]}' and '{names[1]}' must have the same "
                         f"number of samples, received {len(x)} and {len(y)}")
    return x, y


def validation_pair(where: str, validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) < 2:
        raise ValueError(f"{where}: argument 'validation_data' must be a tuple (x_val, y_val), "
                         f"received {type(validation_data).__name__}")
    return xy(where, *validation_data[:2], names=("validation_data[0]", "validation_data[1]"))


def validation_fraction(where: str, validation_split) -> float:
    return finite_float(where, "validation_split", validation_split, low=0.0, high=1.0,
                        high_open=True)


def split_validation(where: str, x, y, split: float):
    """The last ``split`` of the samples, unshuffled, as Keras takes it; both parts must keep
    at least one sample."""
    n = len(x)
    cut = int(n * (1.0 - split))
    if cut == 0 or cut == n:
        raise ValueError(f"{where}: argument 'validation_split' {split!r} of {n} samples leaves "
                         f"{cut} for training and {n - cut} for validation; each needs at least "
                         f"one")
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


def epochs_range(where: str, epochs, initial_epoch) -> tuple[int, int]:
    """``epochs`` (the index to stop before, as Keras) >= 1 and ``initial_epoch`` in
    ``[0, epochs)``. Keras accepts ``initial_epoch >= epochs`` and trains nothing; here that is
    an error, as a run that trains nothing and returns normally looks like one that trained
    (``svertka train --epochs 0`` saved an untrained model that way). A resumed run that has
    nothing left to do (``BackupAndRestore``) is not an argument error and trains nothing."""
    epochs = integer(where, "epochs", epochs, low=1)
    initial_epoch = integer(where, "initial_epoch", initial_epoch, low=0)
    if initial_epoch >= epochs:
        raise ValueError(f"{where}: argument 'initial_epoch' must be less than 'epochs' (the "
                         f"index of the epoch to stop before), received initial_epoch="
                         f"{initial_epoch}, epochs={epochs}: that would train nothing")
    return epochs, initial_epoch
