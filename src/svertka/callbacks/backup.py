"""BackupAndRestore: a run that is killed resumes where it stopped, on the very same numbers.

One file, ``<backup_dir>/backup.zip``, in the container form of model files
(``svertka.models.saving.write_container``: written atomically, so a kill mid-write leaves the
previous backup whole, and read back by ``ModelFile`` with its checks). It holds
``state.json`` and one ``.npy`` entry per array:

- the model's weights (trainable and not: BatchNormalization's moving statistics), and a
  trainable loss's (``RobustLoss(adaptive=True)``);
- the optimiser's state (``get_state``: slots and ``iterations``) and its learning rate when
  a callback changed it to a float (``ReduceLROnPlateau``);
- where ``fit`` stands (``FitPosition``): the epoch, the batches of it done, the seed its
  shuffle and augmentation came from, the epoch's running loss and metric sums;
- ``epochs_trained`` and the state of every generator training draws from: svertka's global
  one (shuffling seeds, dropout masks, ``BatchLoader`` seeds) and each layer's own
  (``Dropout(seed=...)``).

On several ranks (``svertka.distributed``) rank 0 writes the backup, with the metric sums of
all ranks, and every rank restores from it (on a file system they share).

Restoring puts all of it back, so the resumed run makes the same draws and the same
floating-point operations in the same order, and ends bit for bit where the uninterrupted run
ends (on the same machine and thread count: see ``svertka.utils.set_random_seed``). Other
callbacks' own counters (EarlyStopping's patience, ...) are not saved, as in Keras.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from svertka import distributed
from svertka import random as _random
from svertka.callbacks._checks import _batch_due, _frequency
from svertka.callbacks.base import Callback
from svertka.checks import flag

FORMAT = "svertka-backup"
FORMAT_VERSION = 1
FILE_NAME = "backup.zip"
_STATE = "state.json"


def _layer_generators(model) -> dict:
    """Each layer's own generator (``Dropout(seed=...)``), by the layer's position."""
    return {str(i): layer._rng for i, layer in enumerate(model.layers)
            if isinstance(getattr(layer, "_rng", None), np.random.Generator)}


class BackupAndRestore(Callback):
    """Back the training up into ``backup_dir`` and, when ``fit`` starts and finds a backup
    there, restore it and continue from where it was made (Keras's callback of this name,
    extended to resume mid-epoch exactly).

    Args:
        backup_dir: the folder for the backup (created when needed); one per run.
        save_freq: ``"epoch"`` (at the end of each epoch) or a number of batches.
        delete_checkpoint: remove the backup when ``fit`` ends normally (EarlyStopping
            included). A run stopped by Ctrl-C keeps it, saved at the very batch it stopped
            after; a killed or crashed one keeps the last one made.

    Give the resumed ``fit`` the same data, ``batch_size``, ``epochs`` and callbacks (the
    backup's position takes the place of ``initial_epoch``); the resumed run's History holds
    the epochs it ran itself. ``restored`` is the ``(epoch,
    batch)`` the last ``fit`` resumed at, or None.

    >>> import svertka, numpy as np, tempfile
    >>> from svertka.layers import Dense
    >>> model = svertka.Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    >>> model.compile("sgd", "sparse_categorical_crossentropy")
    >>> backup = BackupAndRestore(tempfile.mkdtemp(), save_freq=2)
    >>> _ = model.fit(np.ones((8, 3)), np.zeros(8), batch_size=4, verbose=0,
    ...               callbacks=[backup])
    >>> backup.restored is None, model.epochs_trained
    (True, 1)
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True):
        super().__init__()
        owner = "BackupAndRestore"
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = _frequency(owner, "save_freq", save_freq)
        self.delete_checkpoint = flag(owner, "delete_checkpoint", delete_checkpoint)
        self.path = os.path.join(self.backup_dir, FILE_NAME)
        self.restored: tuple[int, int] | None = None
        self._since = 0

    # -- hooks -------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._since = 0
        self.restored = None
        distributed.barrier()  # on several ranks: rank 0's last backup is whole by now
        if os.path.exists(self.path):
            self.restore()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if _batch_due(self):
            self.save()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self.save()

    def on_train_end(self, logs: dict | None = None) -> None:
        if getattr(self.model, "interrupted", False) or not self.delete_checkpoint:
            self.save()  # Ctrl-C: the exact place to resume from; or the final state kept
            return
        if not distributed.is_main():  # rank 0 deletes the backup every rank restored
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):  # only when nothing else lives there
            os.rmdir(self.backup_dir)

    # -- writing -----------------------------------------------------------------------------
    def save(self) -> None:
        """Write the backup of the model and of ``fit``'s position now. On several ranks
        every rank calls it (the epoch's metric sums are gathered) and rank 0 writes."""
        from svertka.models.saving import write_container
        from svertka.models.training import trainable_params

        model = self.model
        position = model._fit_position
        metrics = position.metric_state()  # on several ranks: summed, so every rank joins
        if not distributed.is_main():  # rank 0 alone copies the state and writes it
            return
        params = trainable_params(model)
        loss_weights = list(getattr(model.loss, "trainable_weights", []))
        optimizer = model.optimizer.get_state(params)
        lr = model.optimizer.learning_rate
        arrays: dict[str, np.ndarray] = {}

        def entries(prefix, values):
            names = []
            for i, a in enumerate(values):
                names.append(f"{prefix}/{i}.npy")
                arrays[names[-1]] = a
            return names

        state = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "epoch": position.epoch, "batch": position.batch,
            "epoch_seed": position.epoch_seed, "metrics": metrics,
            "batch_size": self.params.get("batch_size"), "samples": self.params.get("samples"),
            "epochs_trained": int(model.epochs_trained),
            "generator": _random.get_state(),
            "layer_generators": {k: _random.get_state(g)
                                 for k, g in _layer_generators(model).items()},
            "weights": entries("weights", model.get_weights()),
            "loss_weights": entries("loss", [w.numpy() for w in loss_weights]),
            "optimizer": {
                "iterations": optimizer["iterations"],
                "learning_rate": None if callable(lr) else float(lr),
                "slots": [entries(f"optimizer/{i}", slots)
                          for i, slots in enumerate(optimizer["slots"])],
            },
        }
        write_container(self.path, state, arrays, index_name=_STATE)

    # -- reading -----------------------------------------------------------------------------
    def restore(self) -> None:
        """Put the backup back into the model, its optimiser and svertka's generators, and tell
        ``fit`` where to continue."""
        from svertka.errors import ModelFileError
        from svertka.models.modelfile import ModelFile
        from svertka.models.training import trainable_params

        model, owner = self.model, "BackupAndRestore"
        try:
            with ModelFile(self.path, owner) as f:  # the checks of load_model: bombs, dtypes
                state = f.read_index(_STATE)
                if state.get("format") != FORMAT or state.get("format_version") != FORMAT_VERSION:
                    raise f.error(f"is not a {FORMAT} file of version {FORMAT_VERSION}")

                def read(names):  # copies: the optimiser updates its slots in place
                    return [np.array(f.read_array(n, f.array_header(n), allow_nonfinite=True))
                            for n in names]

                weights = read(state["weights"])
                loss_weights = read(state["loss_weights"])
                slots = [read(names) for names in state["optimizer"]["slots"]]
        except ModelFileError as e:
            raise ModelFileError(f"{e}; delete it to start the run afresh") from e
        except (KeyError, TypeError, ValueError) as e:  # a state.json of the wrong shape
            raise ModelFileError(f"{owner}: the backup {self.path} is damaged ({e!r}); delete "
                                 f"it to start the run afresh") from e
        current = model.get_weights()
        expected = [(tuple(w.shape), w.dtype.str) for w in current]
        received = [(tuple(w.shape), w.dtype.str) for w in weights]
        if expected != received:
            raise ValueError(f"{owner}: the backup {self.path} is of another model: its weights "
                             f"are {received}, the model's {expected}")
        position = self.params.get("batch_size"), self.params.get("samples")
        if state["batch"] > 0 and position != (state["batch_size"], state["samples"]):
            raise ValueError(f"{owner}: the backup {self.path} stopped in the middle of an "
                             f"epoch of batch_size {state['batch_size']} over "
                             f"{state['samples']} samples; resuming it needs the same, "
                             f"received batch_size {position[0]} over {position[1]} samples")
        model.set_weights(weights)
        params = trainable_params(model)  # a loss's own weights made first, if not yet
        for w, a in zip(getattr(model.loss, "trainable_weights", []), loss_weights):
            w.data[...] = a
        opt = state["optimizer"]
        model.optimizer.set_state(params, {"iterations": opt["iterations"], "slots": slots})
        if opt["learning_rate"] is not None and not callable(model.optimizer.learning_rate):
            model.optimizer.learning_rate = opt["learning_rate"]
        model.epochs_trained = state["epochs_trained"]
        _random.set_state(state["generator"])
        for key, rng in _layer_generators(model).items():
            if key in state["layer_generators"]:
                _random.set_state(state["layer_generators"][key], rng)
        model._fit_resume = {k: state[k] for k in ("epoch", "batch", "epoch_seed", "metrics")}
        self.restored = (state["epoch"], state["batch"])
