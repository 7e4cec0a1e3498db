"""TerminateOnNaN and CSVLogger."""

from __future__ import annotations

import csv
import numbers
import os

import numpy as np

from svertka.callbacks._checks import _plain
from svertka.callbacks.base import Callback


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
