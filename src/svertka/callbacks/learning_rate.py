"""Callbacks that set the learning rate: ReduceLROnPlateau and LearningRateScheduler."""

from __future__ import annotations

import inspect

from svertka import checks
from svertka.callbacks._checks import (
    _get_lr,
    _improved,
    _monitor_value,
    _optimizer,
    _plain,
    _resolve_mode,
)
from svertka.callbacks.base import Callback


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
        self.factor = checks.finite_float(owner, "factor", factor, 0.0, 1.0, low_open=True,
                                          high_open=True)
        self.monitor = monitor
        self.patience = checks.non_negative_int(owner, "patience", patience)
        self.verbose = verbose
        self.mode = _resolve_mode(owner, mode, monitor)
        self.min_delta = checks.finite_float(owner, "min_delta", min_delta, 0.0)
        self.cooldown = checks.non_negative_int(owner, "cooldown", cooldown)
        self.min_lr = checks.finite_float(owner, "min_lr", min_lr, 0.0)
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
        try:
            lr = checks.finite_float(owner, "schedule", lr, low=0.0)
        except (TypeError, ValueError):
            raise ValueError(
                f"{owner}: argument 'schedule' must return a finite number >= 0, "
                f"returned {lr!r} at epoch {epoch}"
            ) from None
        _optimizer(owner, self.model).learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = _get_lr(owner="LearningRateScheduler", model=self.model)
