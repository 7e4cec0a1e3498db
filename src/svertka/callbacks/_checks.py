"""Argument checks and monitor helpers shared by the callbacks."""

from __future__ import annotations

import math
import numbers
import warnings

_MODES = ("auto", "min", "max")


def _resolve_mode(owner: str, mode, monitor: str) -> str:
    """'min' or 'max'; 'auto' is 'max' for accuracies (names containing 'acc'), else 'min'."""
    if mode not in _MODES:
        raise ValueError(
            f"{owner}: argument 'mode' must be one of {list(_MODES)}, received {mode!r}"
        )
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


def _improved(current: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``current`` beats ``best`` by more than ``min_delta`` (NaN never improves)."""
    if best is None:
        return not math.isnan(current)
    return current < best - min_delta if mode == "min" else current > best + min_delta


def _plain(value):
    """A Python scalar from a NumPy/CuPy scalar or 0-d array; anything else unchanged."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    return value


def _monitor_value(owner: str, logs, monitor: str) -> float | None:
    """The monitored quantity as a float, or None (with a warning) when the logs lack it."""
    logs = logs or {}
    value = _plain(logs.get(monitor))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        warnings.warn(
            f"{owner}: monitor '{monitor}' is not available in the logs (available: "
            f"{sorted(logs)}); skipping this epoch",
            stacklevel=3,
        )
        return None
    return float(value)  # NaN and infinity included: real values (NaN never improves)


def _optimizer(owner: str, model):
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "learning_rate"):
        raise ValueError(
            f"{owner}: the model needs an optimizer with a 'learning_rate' "
            f"(compile the model first), received optimizer {opt!r}"
        )
    return opt


def _get_lr(owner: str, model) -> float:
    opt = _optimizer(owner, model)
    lr = getattr(opt, "current_learning_rate", None)
    return float(opt.learning_rate if lr is None else lr)


def _copy_weights(weights) -> list:
    # get_weights may hand out live parameter arrays that the optimizer updates in place.
    return [w.copy() if hasattr(w, "copy") else w for w in weights]


def _frequency(owner: str, arg: str, value, names=("epoch",)):
    """A callback's ``save_freq``/``update_freq``: one of ``names`` (``"epoch"``), kept as
    is, or a positive number of batches (an int)."""
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        allowed = ", ".join(repr(n) for n in names[:-1])
        allowed = f"{allowed}, {names[-1]!r}" if allowed else repr(names[-1])
        raise ValueError(f"{owner}: argument '{arg}' must be {allowed} or a positive number "
                         f"of batches, received {value!r}")
    return int(value)


def _batch_due(callback) -> bool:
    """Count one batch for a callback that acts every ``save_freq`` batches (``_since``):
    True, and the count restarted, when it is due; always False for ``"epoch"``."""
    if callback.save_freq == "epoch":
        return False
    callback._since += 1
    if callback._since < callback.save_freq:
        return False
    callback._since = 0
    return True
