"""Keras-style training callbacks: hooks ``fit`` calls at the start and end of training, of
each epoch and of each batch.

What a callback may rely on from the model (``set_model`` hands it over):

- ``model.stop_training``: a bool; setting it True ends ``fit`` after the current batch/epoch.
- ``model.optimizer.learning_rate``: a settable float; ``model.optimizer.current_learning_rate``
  is the rate in effect, also when a schedule drives it (read first when present).
- ``model.get_weights()`` / ``model.set_weights(list)``, ``model.save(path)`` and
  ``model.save_weights(path)``.

``logs`` at the end of an epoch is a dict such as ``{'loss': 0.3, 'accuracy': 0.9,
'val_loss': 0.35, 'val_accuracy': 0.88}``; at the end of a batch ``{'loss': ..., 'accuracy':
...}``. Epochs are 0-based in the hooks (as Keras) and 1-based in checkpoint file names and
messages. ``ReduceLROnPlateau`` and ``LearningRateScheduler`` add ``'learning_rate'`` to the
epoch logs, so ``History`` (placed last) records it.

>>> class Model:
...     stop_training = False
>>> stopper = EarlyStopping(monitor="loss", patience=1)
>>> callbacks = CallbackList([stopper], add_history=True, model=Model())
>>> callbacks.on_train_begin()
>>> for epoch, loss in enumerate([0.9, 0.5, 0.6, 0.7]):
...     callbacks.on_epoch_end(epoch, {"loss": loss})
...     if callbacks.model.stop_training:
...         break
>>> stopper.stopped_epoch, callbacks.history.history["loss"]
(2, [0.9, 0.5, 0.6])
"""

from __future__ import annotations

import csv
import inspect
import math
import numbers
import os
import string
import warnings

import numpy as np

_MODES = ("auto", "min", "max")


def _check_int(owner: str, name: str, value, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"{owner}: argument '{name}' must be an integer >= {minimum}, received {value!r}"
        )
    return int(value)


def _check_number(owner: str, name: str, value, minimum: float = 0.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < minimum
    ):
        raise ValueError(
            f"{owner}: argument '{name}' must be a finite number >= {minimum}, received {value!r}"
        )
    return float(value)


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
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        warnings.warn(
            f"{owner}: monitor '{monitor}' is not available in the logs (available: "
            f"{sorted(logs)}); skipping this epoch",
            stacklevel=3,
        )
        return None
    return float(value)


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


class Callback:
    """Base class: every hook is a no-op; subclasses override the ones they need.

    ``self.model`` and ``self.params`` (``{'epochs': ..., 'steps': ..., ...}`` from ``fit``)
    are set through ``set_model`` and ``set_params`` before training starts.
    """

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None:
        pass

    def on_train_end(self, logs: dict | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        pass

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pass


class CallbackList:
    """Calls each hook on every callback, in order, passing all of them the same ``logs`` dict
    (so keys one callback adds, like ``learning_rate``, reach the ones after it).

    ``add_history=True`` appends a ``History`` (last, so it records those keys) unless one is
    already among ``callbacks``; it is ``self.history`` either way.
    """

    def __init__(
        self, callbacks=None, *, add_history: bool = False, model=None, params: dict | None = None
    ):
        self.callbacks: list[Callback] = []
        self.model = None
        for cb in callbacks or []:
            self.append(cb)
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def append(self, callback: Callback) -> None:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"CallbackList: every callback must be a Callback instance, "
                f"received {type(callback).__name__}"
            )
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def set_model(self, model) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        for cb in self.callbacks:
            cb.set_params(params)

    def on_train_begin(self, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)


class History(Callback):
    """What ``fit`` returns: ``history`` maps each log key to its list of per-epoch values,
    ``epoch`` lists the epoch indices (0-based), ``batch_losses`` every batch's loss in order
    (the loss per iteration, for ``svertka.viz.plot_loss``). Values are stored as Python floats.
    Nothing is cleared between ``fit`` calls, so a continued run extends the same curves.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.batch_losses: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(_plain(value))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None:
            self.batch_losses.append(float(_plain(loss)))


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when it beats the best value so far by more than ``min_delta`` (in the
    direction of ``mode``; 'auto' maximises names containing 'acc'). With a ``baseline``, the
    best starts at it, so training also stops when the baseline is not beaten within
    ``patience`` epochs. Epochs before ``start_from_epoch`` are ignored (warm-up). As in Keras,
    ``patience=0`` and ``patience=1`` both stop at the first epoch without improvement.
    ``restore_best_weights`` puts back the weights of the best epoch when training ends
    (Keras 3: also when training ran to the last epoch); ``best_epoch``, ``best`` and
    ``stopped_epoch`` (None when it never stopped) say what happened.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__()
        owner = "EarlyStopping"
        self.monitor = monitor
        self.min_delta = _check_number(owner, "min_delta", min_delta)
        self.patience = _check_int(owner, "patience", patience)
        self.verbose = verbose
        self.mode = _resolve_mode(owner, mode, monitor)
        if baseline is not None:
            baseline = _check_number(owner, "baseline", baseline, minimum=-math.inf)
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = _check_int(owner, "start_from_epoch", start_from_epoch)
        self.on_train_begin()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best = self.baseline
        self.best_epoch: int | None = None
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = _monitor_value("EarlyStopping", logs, self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until something beats the baseline, the first monitored epoch is the fallback.
            self.best_weights = _copy_weights(self.model.get_weights())
            self.best_epoch = epoch
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model.get_weights())
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping")

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of every epoch.

    ``filepath`` may hold format fields filled from the epoch logs and the 1-based epoch,
    e.g. ``'ckpt/{epoch:02d}-{val_loss:.2f}.npz'``; missing folders are created. With
    ``save_best_only`` a file is written only when ``monitor`` beats the best value so far
    (strictly, in the direction of ``mode``), starting from ``initial_value_threshold``; the
    best is kept across ``fit`` calls, as Keras does. Only ``save_freq='epoch'`` is supported.
    """

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq="epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__()
        owner = "ModelCheckpoint"
        self.filepath = os.fspath(filepath)
        try:
            list(string.Formatter().parse(self.filepath))
        except ValueError as e:
            raise ValueError(
                f"{owner}: argument 'filepath' is not a valid format string "
                f"({e}), received {self.filepath!r}"
            ) from None
        if save_freq != "epoch":
            raise ValueError(
                f"{owner}: argument 'save_freq' must be 'epoch', received {save_freq!r}"
            )
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _resolve_mode(owner, mode, monitor)
        if initial_value_threshold is not None:
            initial_value_threshold = _check_number(
                owner, "initial_value_threshold", initial_value_threshold, minimum=-math.inf
            )
        if initial_value_threshold is None:
            initial_value_threshold = math.inf if self.mode == "min" else -math.inf
        self.best = initial_value_threshold
        self.last_saved: str | None = None

    def _file_path(self, epoch: int, logs: dict) -> str:
        fields = {key: _plain(value) for key, value in logs.items()}
        try:
            return self.filepath.format(**{**fields, "epoch": epoch + 1})
        except (KeyError, IndexError) as e:
            raise ValueError(
                f"ModelCheckpoint: argument 'filepath' {self.filepath!r} uses the "
                f"field {e} which is not in the logs; available: "
                f"{['epoch', *sorted(fields)]}"
            ) from None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        path = self._file_path(epoch, logs or {})
        if self.save_best_only:
            current = _monitor_value("ModelCheckpoint", logs, self.monitor)
            if current is None:
                return
            if not _improved(current, self.best, self.mode):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
                return
            if self.verbose:
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                    f"{current}, saving model to {path}"
                )
            self.best = current
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved (by more than
    ``min_delta``) for ``patience`` epochs, never going below ``min_lr``.

    After a reduction, ``cooldown`` epochs pass before the waiting starts again. The rate in use
    during each epoch is added to its logs as ``'learning_rate'``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        super().__init__()
        owner = "ReduceLROnPlateau"
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor < 1:
            raise ValueError(
                f"{owner}: argument 'factor' must be a number in (0, 1), received {factor!r}"
            )
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = _check_int(owner, "patience", patience)
        self.verbose = verbose
        self.mode = _resolve_mode(owner, mode, monitor)
        self.min_delta = _check_number(owner, "min_delta", min_delta)
        self.cooldown = _check_int(owner, "cooldown", cooldown)
        self.min_lr = _check_number(owner, "min_lr", min_lr)
        self.on_train_begin()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = {} if logs is None else logs
        lr = _get_lr("ReduceLROnPlateau", self.model)
        logs["learning_rate"] = lr
        current = _monitor_value("ReduceLROnPlateau", logs, self.monitor)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.wait = current, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        # The tolerance keeps a float32-stored rate equal to min_lr from "reducing" forever.
        if self.wait >= self.patience and lr > self.min_lr * (1 + 1e-6):
            new_lr = max(lr * self.factor, self.min_lr)
            _optimizer("ReduceLROnPlateau", self.model).learning_rate = new_lr
            if self.verbose:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0


def _takes_two_args(fn) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: assume the Keras form
        return True
    try:
        sig.bind(0, 0.1)
        return True
    except TypeError:
        return False


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (0-based
    epoch, the current rate), or ``schedule(epoch)`` for a one-argument function.

    >>> step_decay = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch >= 2 else lr)
    """

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: argument 'schedule' must be callable, "
                f"received {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._two_args = _takes_two_args(schedule)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        owner = "LearningRateScheduler"
        if self._two_args:
            lr = self.schedule(epoch, _get_lr(owner, self.model))
        else:
            lr = self.schedule(epoch)
        lr = _plain(lr)
        if (
            isinstance(lr, bool)
            or not isinstance(lr, numbers.Real)
            or not math.isfinite(lr)
            or lr < 0
        ):
            raise ValueError(
                f"{owner}: argument 'schedule' must return a finite number >= 0, "
                f"returned {lr!r} at epoch {epoch}"
            )
        _optimizer(owner, self.model).learning_rate = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = _get_lr(owner="LearningRateScheduler", model=self.model)


class TerminateOnNaN(Callback):
    """Stop training at the end of a batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = _plain((logs or {}).get("loss"))
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write one CSV row per epoch: the 0-based ``epoch`` first, then the log keys sorted.

    The columns are fixed by the first epoch; when it has no ``val_`` keys, ``val_`` columns are
    added for its metrics (as Keras, for validation that runs only every few epochs), and
    missing values read ``NA``; keys that first appear later are not written. Each row is
    flushed, so an interrupted run keeps its rows. With ``append=True`` rows go after an
    existing file's, under its header.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"CSVLogger: argument 'separator' must be a single character, "
                f"received {separator!r}"
            )
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._file = None
        self._writer = None

    def _open(self) -> None:
        self.keys, self._writer = None, None
        write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f, delimiter=self.sep), None)
            if header:
                write_header = False
                self.keys = [k for k in header if k != "epoch"]
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self._write_header = write_header

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
        self._open()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self._file is None:
            self._open()
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):
                extra = [f"val_{k}" for k in self.keys if k not in ("learning_rate", "lr")]
                self.keys = sorted(self.keys + extra)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep, lineterminator="\n")
            if self._write_header:
                self._writer.writerow(["epoch", *self.keys])
        row = [epoch]
        for key in self.keys:
            value = _plain(logs.get(key, "NA"))
            if not isinstance(value, (str, numbers.Number)) and hasattr(value, "__iter__"):
                value = f"[{', '.join(map(str, value))}]"
            row.append(value)
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
        self._file, self._writer = None, None


__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
