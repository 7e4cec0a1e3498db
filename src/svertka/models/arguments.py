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




def validation_fraction(where: str, validation_split) -> float:
    return finite_float(where, "validation_split", validation_split, low=0.0, high=1.0,
                        high_open=True)




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


def _arrays_like(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        hasattr(v, "shape") or isinstance(v, Tensor) for v in value)


def inputs(where: str, model, x, arg: str = "x") -> list:
    """``x`` as one array per model input: an array, a list of arrays (one per input, in the
    order of ``model.inputs``) or a dict keyed by the inputs' names."""
    syms = list(getattr(model, "inputs", None) or [])
    # the keys of a model built on a dict of inputs, else the inputs' names (Input(name=))
    names = list(getattr(model, "_input_keys", None) or [getattr(s, "name", None)
                                                          for s in syms])
    if isinstance(x, dict):
        if not syms or not all(names):
            raise ValueError(f"{where}: argument '{arg}' is a dict, but the model's inputs have no "
                             f"names to match its keys (give Input(..., name=...))")
        missing = [n for n in names if n not in x]
        if missing:
            raise ValueError(f"{where}: argument '{arg}' has no data for the inputs {missing}; its "
                             f"keys are {sorted(x)}, the model's inputs {names}")
        xs = [samples(where, f"{arg}[{n!r}]", x[n]) for n in names]
    elif len(syms) > 1 or (not syms and _arrays_like(x) and len(x) > 1):
        if not isinstance(x, (list, tuple)) or (syms and len(x) != len(syms)):
            received = f"{len(x)} arrays" if isinstance(x, (list, tuple)) else "one array"
            raise ValueError(f"{where}: argument '{arg}' must hold one array per model input "
                             f"({len(syms)}), received {received}")
        xs = [samples(where, f"{arg}[{i}]", v) for i, v in enumerate(x)]
    elif _arrays_like(x) and len(x) == 1:
        xs = [samples(where, arg, x[0])]
    else:
        xs = [samples(where, arg, x)]
    _same_length(where, arg, xs)
    return xs


def targets(where: str, names: list[str], y, n: int | None = None, arg: str = "y") -> list | None:
    """``y`` as one array per output (None for an output without targets): an array, a list
    of arrays (one per output) or a dict keyed by output name."""
    if y is None:
        return None
    if isinstance(y, dict):
        unknown = sorted(set(y) - set(names))
        if unknown:
            raise ValueError(f"{where}: argument '{arg}' names outputs {unknown} that the model "
                             f"does not have; its outputs are {names}")
        ys = [None if y.get(k) is None else samples(where, f"{arg}[{k!r}]", y[k])
              for k in names]
    elif len(names) > 1:
        if not isinstance(y, (list, tuple)) or len(y) != len(names):
            received = f"{len(y)} arrays" if isinstance(y, (list, tuple)) else "one array"
            raise ValueError(f"{where}: argument '{arg}' must hold one array per model output "
                             f"({len(names)}: {names}), or a dict keyed by their names, "
                             f"received {received}")
        ys = [None if v is None else samples(where, f"{arg}[{i}]", v) for i, v in enumerate(y)]
    elif _arrays_like(y) and len(y) == 1:
        ys = [samples(where, arg, y[0])]
    else:
        ys = [samples(where, arg, y)]
    _same_length(where, arg, [v for v in ys if v is not None], n)
    return ys


def sample_weights(where: str, sample_weight, names: list[str], n: int,
                   arg: str = "sample_weight"):
    """Keras's ``sample_weight``: one non-negative finite weight per sample (shape (N,) or
    (N, 1)), for every output, or a list/dict of them, one per output."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (list, tuple, dict)) and len(names) > 1:
        from svertka.models.compiled import as_list

        per_output = as_list(where, arg, sample_weight, names)
        return [None if w is None else _weights(where, arg, w, n) for w in per_output]
    return _weights(where, arg, sample_weight, n)


def _weights(where: str, arg: str, w, n: int) -> np.ndarray:
    from svertka.models.data_adapters import check_sample_weight

    return check_sample_weight(where, w.data if isinstance(w, Tensor) else w, n, arg)


def _same_length(where: str, arg: str, arrays: list, n: int | None = None) -> None:
    lengths = [len(a) for a in arrays]
    if n is not None:
        lengths = [n, *lengths]
    if len(set(lengths)) > 1:
        against = " (the first is x's)" if n is not None else ""
        raise ValueError(f"{where}: the arrays of argument '{arg}' and x must have the same "
                         f"number of samples, received {lengths}{against}")
