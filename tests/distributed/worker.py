"""The program the distributed tests start under ``mpiexec -n N`` (and alone, for the
reference run): ``python worker.py CASE OUT_DIR``. Each rank writes ``OUT_DIR/rank{r}.npz``
(its weights) and ``rank{r}.json`` (its History); see test_fit.py for the cases."""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import svertka
from svertka import distributed
from svertka.callbacks import BackupAndRestore, Callback, ModelCheckpoint
from svertka.distributed import gradients
from svertka.layers import Activation, BatchNormalization, Conv2D, Dense, Flatten
from svertka.utils import set_random_seed

CASES = {  # samples, batch_size per rank, validation samples, epochs
    "even": (24, 4, 0, 2),
    "uneven": (19, 3, 7, 2),  # three ranks: a last batch of 1, shared 1, 0, 0
    "syncbn": (24, 4, 0, 2),  # with BatchNormalization(synchronized=True)
    "syncbn-uneven": (19, 3, 7, 2),  # ... and two ranks idle in every epoch's last step
}


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5, 5, 2)), rng.integers(0, 3, n)


def model(seed: int, sync_bn: bool = False):
    """A small float64 network (svertka builds float32 weights; these are cast); with
    ``sync_bn`` a synchronised batch norm sits between the convolution and its ReLU."""
    set_random_seed(seed)
    conv = [Conv2D(3, 3, activation="relu", input_shape=(5, 5, 2), kernel_regularizer="l2")]
    if sync_bn:
        conv = [Conv2D(3, 3, input_shape=(5, 5, 2), kernel_regularizer="l2"),
                BatchNormalization(momentum=0.5, synchronized=True), Activation("relu")]
    m = svertka.Sequential([*conv, Flatten(), Dense(3, activation="softmax")])
    m.compile(svertka.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
    for w in m.weights:
        w.data = w.data.astype(np.float64)
    set_random_seed(0)  # the shuffling draws: the same on every rank and in the reference
    return m


PYDATASETS = {  # samples, batch of each index, validation samples, shuffle
    "pydataset": (24, 4, 0, False),  # 6 batches: 3 global steps on 2 ranks
    "pydataset-uneven": (19, 3, 7, False),  # 7 batches on 3 ranks: the last step has one
    "pydataset-shuffle": (24, 4, 0, True),
}


class Batches(svertka.utils.PyDataset):
    """Batch ``i`` is samples ``[i*batch, (i+1)*batch)``; the indices read are recorded."""

    def __init__(self, x, y, batch: int):
        super().__init__()
        self.x, self.y, self.batch, self.read = x, y, batch, []

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        self.read.append(i)
        return self.x[i * self.batch:(i + 1) * self.batch], self.y[i * self.batch:(i + 1) *
                                                                     self.batch]


def train_pydataset(case: str, seed: int = 0, ranks: int | None = None):
    """Fit on a PyDataset (each rank reads its batches), or with ``ranks``, the reference:
    one process on arrays in the global batches those ranks make together."""
    n, batch, n_val, shuffle = PYDATASETS[case]
    (x, y), val = data(n), data(n_val, seed=1) if n_val else None
    m = model(seed)
    if ranks:
        history = m.fit(x, y, batch_size=batch * ranks, epochs=2, verbose=0, shuffle=False,
                        validation_data=val)
        return m, history, None
    batches = Batches(x, y, batch)
    history = m.fit(batches, epochs=2, verbose=0, shuffle=shuffle,
                    validation_data=val and Batches(*val, batch))
    return m, history, batches.read


def train(case: str, batch_size: int, seed: int = 0, callbacks=(), epochs=None):
    n, _, n_val, case_epochs = CASES[case]
    x, y = data(n)
    m = model(seed, sync_bn=case.startswith("syncbn"))
    val = data(n_val, seed=1) if n_val else None
    history = m.fit(x, y, batch_size=batch_size, epochs=epochs or case_epochs, verbose=0,
                    validation_data=val, callbacks=list(callbacks))
    return m, history


class Raise(Callback):
    def on_train_batch_end(self, batch, logs=None):
        if distributed.rank() == distributed.size() - 1 and batch == 1:
            raise RuntimeError(f"boom on rank {distributed.rank()}")


class StopOnOneRank(Callback):
    """Stops the training at the given step, decided on the last rank alone."""

    def __init__(self, at: int):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at and distributed.rank() == distributed.size() - 1:
            self.model.stop_training = True


class PlainBatchNorm(Callback):
    """Turns the synchronisation of the model's batch norms off before training."""

    def on_train_begin(self, logs=None):
        for layer in self.model.layers:
            if isinstance(layer, BatchNormalization):
                layer.synchronized = False


def write(out: str, m, history) -> None:
    r = distributed.rank()
    np.savez(os.path.join(out, f"rank{r}.npz"), *m.get_weights())
    with open(os.path.join(out, f"rank{r}.json"), "w") as f:
        json.dump({"history": history.history, "batch_losses": history.batch_losses}, f)


def main(case: str, out: str) -> None:
    distributed.init()
    if "BUCKET_BYTES" in os.environ:  # small buckets: a few per step even for this model
        gradients.BUCKET_BYTES = int(os.environ["BUCKET_BYTES"])
    r, size = distributed.rank(), distributed.size()
    batch_size = CASES.get(case, CASES["even"])[1]
    if case in PYDATASETS:
        m, history, read = train_pydataset(case, seed=r)
        with open(os.path.join(out, f"read{r}.json"), "w") as f:
            json.dump(read, f)
    elif case in CASES:  # each rank builds other weights: fit starts them all from rank 0's
        m, history = train(case, batch_size, seed=r)
    elif case == "plainbn":  # the syncbn case with the statistics left per rank
        m, history = train("syncbn", batch_size, seed=r, callbacks=[PlainBatchNorm()])
    elif case == "raise":
        m, history = train("even", batch_size, callbacks=[Raise()], epochs=50)
    elif case == "files":
        ckpt = ModelCheckpoint(os.path.join(out, f"r{r}-e{{epoch}}.weights.h5"),
                               save_weights_only=True)
        m, history = train("even", batch_size, callbacks=[ckpt])
    elif case == "resume":  # stopped at step 4 by one rank, resumed mid-epoch from the backup
        folder = os.path.join(out, "backup")
        train("even", batch_size, seed=r, callbacks=[
            StopOnOneRank(4), BackupAndRestore(folder, delete_checkpoint=False)])
        backup = BackupAndRestore(folder)
        m, history = train("even", batch_size, seed=r + 7, callbacks=[backup])
        assert backup.restored == (1, 1), backup.restored
    elif case == "dataset":  # a generator cannot be sharded: refused on every rank
        x, y = data(8)
        model(0).fit(((x[i:i + 4], y[i:i + 4]) for i in (0, 4)), verbose=0)
    else:
        raise ValueError(f"worker.py: unknown case {case!r}")
    write(out, m, history)
    distributed.barrier()
    print(f"rank {r} of {size} done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
