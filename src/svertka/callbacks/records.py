"""TerminateOnNaN and CSVLogger."""

from __future__ import annotations

import csv
import numbers
import os

import numpy as np

from svertka.callbacks._checks import _plain
from svertka.callbacks.base import Callback
from svertka.callbacks.divergence import DivergenceCheck
from svertka.checks import positive_int


class TerminateOnNaN(Callback):
    """Stop training when the run has diverged: at the end of a batch whose loss is NaN or
    infinite (as Keras), and also when the loss is stuck at the clamp of a probability
    cross-entropy for ``clamp_batches`` consecutive batches (saturated predictions, zero
    gradients: ``SGD(10)`` does this while the loss stays finite) or when a weight becomes
    non-finite (checked every ``weight_every`` batches and at each epoch's end). It prints
    which, and keeps it in ``reason``. See ``svertka.callbacks.divergence`` for the rules.

    ``fit`` runs the same checks itself (it stops with a warning); this callback makes the
    stop explicit and prints the message instead.
    """

    def __init__(self, clamp_batches: int = 5, weight_every: int = 50):
        super().__init__()
        self.clamp_batches = positive_int("TerminateOnNaN", "clamp_batches", clamp_batches)
        self.weight_every = positive_int("TerminateOnNaN", "weight_every", weight_every)
        self.reason: str | None = None
        self._check = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.reason = None
        self._check = DivergenceCheck(self.model, self.clamp_batches, self.weight_every)

    def _stop(self, where: str, reason: str) -> None:
        self.reason = reason
        print(f"{where}: {reason}, terminating training")
        self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss = _plain(logs.get("batch_loss", logs.get("loss")))  # the iteration's own
        if loss is None:
            return
        if self._check is None:  # driven without on_train_begin
            self.on_train_begin()
        if not np.isfinite(loss):  # Keras's message
            self._stop(f"Batch {batch}", f"invalid loss {loss}")
            return
        size = _plain(logs.get("size", self.params.get("batch_size")))
        reason = self._check.batch(loss, size)
        if reason is not None:
            self._stop(f"Batch {batch}", reason)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._check is None or self.model.stop_training:
            return
        reason = self._check.epoch_end()
        if reason is not None:
            self._stop(f"Epoch {epoch + 1}", reason)


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
