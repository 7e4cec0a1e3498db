"""Callbacks that watch a metric: EarlyStopping and ModelCheckpoint."""

from __future__ import annotations

import math
import os
import string

from svertka import checks, distributed
from svertka.callbacks._checks import (
    _batch_due,
    _copy_weights,
    _frequency,
    _improved,
    _monitor_value,
    _plain,
    _resolve_mode,
)
from svertka.callbacks.base import Callback


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
        self.min_delta = checks.finite_float(owner, "min_delta", min_delta, 0.0)
        self.patience = checks.non_negative_int(owner, "patience", patience)
        self.verbose = verbose
        self.mode = _resolve_mode(owner, mode, monitor)
        if baseline is not None:
            baseline = checks.finite_float(owner, "baseline", baseline)
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = checks.non_negative_int(owner, "start_from_epoch", start_from_epoch)
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
    """Save the model (or only its weights) at the end of every epoch, or every ``save_freq``
    batches.

    ``filepath`` may hold format fields filled from the logs, the 1-based epoch and, when
    saving by batches, the 1-based batch of the epoch, e.g. ``'ckpt/{epoch:02d}-{val_loss:.2f}
    .keras'`` or ``'ckpt/e{epoch}-b{batch}.weights.h5'``; missing folders are created. With
    ``save_best_only`` a file is written only when ``monitor`` beats the best value so far
    (strictly, in the direction of ``mode``), starting from ``initial_value_threshold``; the
    best is kept across ``fit`` calls, as Keras does. A monitor missing from the logs is
    warned about and nothing is saved.

    ``save_freq`` is ``'epoch'`` or a number of batches: as in Keras, batches are counted
    across epochs and ``fit`` calls (``save_freq=3`` with 2 batches an epoch saves after epoch
    2's first batch, then epoch 3's second, ...), and the monitored value is then the epoch's
    running one.

    The file is in svertka's own format whatever its name: a Keras program's ``.keras`` (full
    model) and ``.weights.h5`` (``save_weights_only``) names are accepted and written in it,
    and load back with ``svertka.models.load_model`` / ``model.load_weights``; other names
    are accepted too (Keras 3 refuses them). On several ranks (``svertka.distributed``) rank 0
    alone writes.

    >>> import svertka, numpy as np, os, tempfile
    >>> from svertka.layers import Dense
    >>> model = svertka.Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    >>> model.compile("sgd", "sparse_categorical_crossentropy")
    >>> folder = tempfile.mkdtemp()
    >>> ckpt = ModelCheckpoint(os.path.join(folder, "e{epoch}-b{batch}.weights.h5"),
    ...                        save_weights_only=True, save_freq=3)
    >>> _ = model.fit(np.ones((8, 3)), np.zeros(8), batch_size=4, epochs=3, verbose=0,
    ...               callbacks=[ckpt])
    >>> sorted(os.listdir(folder))
    ['e2-b1.weights.h5', 'e3-b2.weights.h5']
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
        self.save_freq = _frequency(owner, "save_freq", save_freq)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _resolve_mode(owner, mode, monitor)
        if initial_value_threshold is not None:
            initial_value_threshold = checks.finite_float(
                owner, "initial_value_threshold", initial_value_threshold
            )
        if initial_value_threshold is None:
            initial_value_threshold = math.inf if self.mode == "min" else -math.inf
        self.best = initial_value_threshold
        self.last_saved: str | None = None
        self._since = 0  # batches since the last save, across epochs (save_freq an int)
        self._epoch = 0

    def _file_path(self, epoch: int, logs: dict, batch: int | None = None) -> str:
        fields = {key: _plain(value) for key, value in logs.items()}
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError) as e:
            raise ValueError(
                f"ModelCheckpoint: argument 'filepath' {self.filepath!r} uses the "
                f"field {e} which is not in the logs; available: {sorted(fields)}"
            ) from None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if _batch_due(self):
            self._save(self._epoch, logs or {}, batch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch: int, logs: dict, batch: int | None = None) -> None:
        path = self._file_path(epoch, logs, batch)
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
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if distributed.is_main():  # on several ranks, rank 0 alone writes
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            if self.save_weights_only:
                self.model.save_weights(path)
            else:
                self.model.save(path)
        self.last_saved = path
