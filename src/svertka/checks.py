"""Checks for size, count and rate arguments, shared by every public function and class.

Each check names the function or layer (``where``), the argument, what was expected and what
was received, and returns the value in its plain Python type, so that NumPy integers
(``np.int64(32)``) are accepted wherever an int is, and NaN or infinity never slips into a
hyper-parameter.

>>> positive_int("fit", "batch_size", np.int64(32))
32
>>> finite_float("Adam", "learning_rate", float("inf"), low=0.0)
Traceback (most recent call last):
ValueError: Adam: argument 'learning_rate' must be a finite number >= 0.0, received inf
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def is_int(value) -> bool:
    """Whether ``value`` is an integer of any integer type (Python's, NumPy's), not a bool."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral)


def integer(where: str, arg: str, value, low: int | None = None, high: int | None = None) -> int:
    """An integer of any integer type (not bool) in ``[low, high]``, as a Python int."""
    if low is not None and high is not None:
        expected = f"an int in [{low}, {high}]"
    elif low is not None:
        expected = {0: "a non-negative int", 1: "a positive int"}.get(low, f"an int >= {low}")
    elif high is not None:
        expected = f"an int <= {high}"
    else:
        expected = "an int"
    if not is_int(value):
        raise TypeError(f"{where}: argument '{arg}' must be {expected}, received {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{where}: argument '{arg}' must be {expected}, received {value!r}")
    return int(value)


def positive_int(where: str, arg: str, value) -> int:
    """An integer >= 1 (sizes, counts, batch sizes, epochs)."""
    return integer(where, arg, value, low=1)


def non_negative_int(where: str, arg: str, value) -> int:
    """An integer >= 0 (patience, initial epoch, prefetch depth)."""
    return integer(where, arg, value, low=0)


def finite_float(where: str, arg: str, value, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> float:
    """A finite real number (not bool) in the given range, as a Python float.

    ``low_open``/``high_open`` exclude the bound itself (``epsilon > 0``: ``low=0.0,
    low_open=True``).
    """
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    expected = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: argument '{arg}' must be {expected}, received {value!r}")
    value = float(value)
    if (not math.isfinite(value)
            or (low is not None and (value <= low if low_open else value < low))
            or (high is not None and (value >= high if high_open else value > high))):
        raise ValueError(f"{where}: argument '{arg}' must be {expected}, received {value!r}")
    return value


def flag(where: str, arg: str, value) -> bool:
    """True or False (a NumPy bool too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: argument '{arg}' must be True or False, received {value!r}")
    return bool(value)


__all__ = ["finite_float", "flag", "integer", "is_int", "non_negative_int", "positive_int"]
