"""Where ``fit``, ``evaluate`` and ``predict`` take their batches from: arrays held in memory
(gathered batch by batch, shuffled by a seed, optionally augmented in a background thread),
or anything Keras 3 takes instead (a ``PyDataset``, a generator, an iterable of batches such
as a torch ``DataLoader``) through :mod:`svertka.models.data_adapters`.

Each source yields, batch after batch, ``(xs, ys, sw)``: a list of float32 Tensors (one per
model input), a list of target arrays (one per output; None for an output without targets,
or None for no targets at all) and the sample weights (an array, a list of them per output,
or None).
"""

from __future__ import annotations

import contextlib

import numpy as np

from svertka.autograd import Tensor
from svertka.backend import asarray
from svertka.distributed import fit as distributed
from svertka.models import arguments


def batch_tensor(x, idx=None, dtype=np.float32) -> Tensor:
    """One batch as a float32 Tensor: user data stays as given (uint8, float64...) and is
    converted a batch at a time, so the whole set is never copied."""
    xb = x if idx is None else x[idx]
    if xb.dtype != dtype:
        xb = xb.astype(dtype)
    return Tensor(asarray(xb))


def index_batches(n: int, batch_size: int, order=None):
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield order[start:stop] if order is not None else slice(start, stop)


def _take(values, idx):
    if values is None:
        return None
    if isinstance(values, list):
        return [None if v is None else v[idx] for v in values]
    return values[idx]


class Arrays:
    """Samples in memory: ``xs`` (one array per input), ``ys``, ``sw`` as above."""

    def __init__(self, xs: list, ys, sw, batch_size: int, steps: int | None = None):
        self.xs, self.ys, self.sw, self.batch_size = xs, ys, sw, batch_size
        self.n = len(xs[0])
        full = -(-self.n // batch_size)
        self.steps = full if steps is None else min(steps, full)
        self.part: tuple[int, int] | None = None  # (rank, ranks): see svertka.distributed

    @property
    def first_x(self):
        return self.xs[0] if len(self.xs) == 1 else self.xs

    def split(self, where: str, fraction: float) -> tuple[Arrays, Arrays]:
        """The last ``fraction`` of the samples, unshuffled, for validation (Keras's rule)."""
        n = self.n
        cut = int(n * (1.0 - fraction))
        if cut == 0 or cut == n:
            raise ValueError(f"{where}: argument 'validation_split' {fraction!r} of {n} samples "
                             f"leaves {cut} for training and {n - cut} for validation; each "
                             f"needs at least one")
        head, tail = slice(0, cut), slice(cut, n)
        return (Arrays([x[head] for x in self.xs], _take(self.ys, head), _take(self.sw, head),
                       self.batch_size),
                Arrays([x[tail] for x in self.xs], _take(self.ys, tail), _take(self.sw, tail),
                       self.batch_size))

    def batches(self, shuffle=False, seed=None, augment=None, prefetch=2, skip=0):
        """One epoch, the first ``skip`` batches left out. With online augmentation a
        ``BatchLoader`` seeded with ``seed`` augments in a background thread (skipped batches
        are still made, as the augmentation draws run in sequence); it carries the sample
        indices, so the targets and weights of any structure follow their images. Sharded
        (``part``), each batch is global and this rank keeps its share of it."""
        if augment is None:
            order = np.random.default_rng(seed).permutation(self.n) if shuffle else None
            for b, idx in enumerate(index_batches(self.n, self.batch_size, order)):
                if b >= self.steps:
                    break
                if b >= skip:
                    if self.part is not None:
                        idx = distributed.local(idx, self.part)
                    yield ([batch_tensor(x, idx) for x in self.xs], _take(self.ys, idx),
                           _take(self.sw, idx))
            return
        from svertka.datasets.loader import BatchLoader

        loader = BatchLoader(self.xs[0], np.arange(self.n), self.batch_size, shuffle=shuffle,
                             rng=seed, augment=augment, prefetch=prefetch)
        with contextlib.closing(iter(loader)) as batches:
            for b, (xb, idx) in enumerate(batches):
                if b >= self.steps:
                    break
                if b >= skip:
                    if self.part is not None:  # every rank augments the whole batch
                        keep = distributed.local(np.arange(len(idx)), self.part)
                        xb, idx = xb[keep], idx[keep]
                    yield [Tensor(asarray(xb))], _take(self.ys, idx), _take(self.sw, idx)

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


class Adapted:
    """Batches from a ``data_adapters`` adapter, brought to the structure above."""

    def __init__(self, where: str, model, adapter, names: list[str], class_weight=None):
        self.where, self.model, self.adapter, self.names = where, model, adapter, names
        self.class_weight = class_weight

    @property
    def steps(self) -> int | None:
        """Batches per epoch: known from the start, or once a one-pass source ran out."""
        return self.adapter.steps

    @property
    def part(self) -> tuple[int, int] | None:
        """``(rank, ranks)`` when each rank reads its own batches (a sharded PyDataset)."""
        return getattr(self.adapter, "_part", None)

    @property
    def exhausted(self) -> bool:
        """A one-pass source (a generator) ran out: ``fit`` stops, as Keras does."""
        return self.adapter.exhausted

    @property
    def first_x(self):
        return None

    def batches(self, shuffle=False, seed=None, augment=None, prefetch=2, skip=0):
        from svertka.models.data_adapters import EMPTY

        last = None  # the latest batch, whose shapes an empty share takes
        for b, (x, y, sw) in enumerate(self.adapter.batches()):
            if x is EMPTY:  # this rank's empty share of a sharded dataset's last step
                xs, ys, sw = self._batch(b, *last)
                yield ([Tensor(v.data[:0]) for v in xs], _take(ys, slice(0, 0)),
                       _take(sw, slice(0, 0)))
                continue
            last = (x, y, sw)
            if b >= skip:
                yield self._batch(b, x, y, sw)

    def _batch(self, b: int, x, y, sw):
        """Batch ``b`` of the adapter, checked and brought to the structure above."""
        xs = arguments.inputs(self.where, self.model, x)
        n = len(xs[0])
        ys = arguments.targets(self.where, self.names, y, n)
        sw = arguments.sample_weights(self.where, sw, self.names, n,
                                      f"sample_weight of batch {b}")
        if self.class_weight is not None:
            sw = class_weighted(self.where, ys, sw, self.class_weight)
        return [batch_tensor(v) for v in xs], ys, sw

    def on_epoch_end(self) -> None:
        self.adapter.on_epoch_end()

    def close(self) -> None:
        self.adapter.close()


def class_weighted(where: str, ys, sw, class_weight):
    """Keras's ``class_weight`` as sample weights, for arrays and datasets alike: one output
    only, and not together with sample weights (Keras refuses both)."""
    from svertka.models.data_adapters import class_sample_weights

    if ys is None or len(ys) != 1 or ys[0] is None:
        raise ValueError(f"{where}: argument 'class_weight' is only supported for a model of "
                         f"one output (as in Keras), received targets for "
                         f"{0 if ys is None else len(ys)}")
    if sw is not None:
        raise ValueError(f"{where}: argument 'class_weight' cannot be used together with "
                         f"sample weights (as in Keras); multiply them into the sample weights")
    return class_sample_weights(where, ys[0], class_weight)


def source(where: str, model, names, x, y=None, sample_weight=None, batch_size=None,
           steps=None, class_weight=None, kind: str = "fit", need_y: bool = True,
           args=("x", "y", "sample_weight"), shuffle: bool = False):
    """The batches of ``x`` (and ``y``, ``sample_weight``): ``Arrays`` for data in memory,
    ``Adapted`` for a dataset, generator or iterable of batches. ``need_y``: the compiled
    loss needs targets (arrays only; a dataset's batches are checked as they come)."""
    from svertka.models import data_adapters

    if x is not None and not data_adapters.is_plain(x):
        # a batch_size beside a dataset is ignored, as Keras does: its batches have their size
        adapter = data_adapters.adapt(where, x, y, sample_weight, steps=steps, kind=kind,
                                      shuffle=shuffle)
        return Adapted(where, model, adapter, names, class_weight)
    x, y = data_adapters.numpy_data(x), data_adapters.numpy_data(y)
    sample_weight = data_adapters.numpy_data(sample_weight)
    xs = arguments.inputs(where, model, x, args[0])
    n = len(xs[0])
    ys = arguments.targets(where, names, y, n, args[1]) if kind != "predict" else None
    if kind != "predict" and ys is None and need_y:
        raise ValueError(f"{where}: argument '{args[1]}' is required, received None (only a model "
                         f"compiled without a loss, whose add_loss() terms are the loss, "
                         f"trains without targets)")
    sw = arguments.sample_weights(where, sample_weight, names, n, args[2])
    if class_weight is not None:
        sw = class_weighted(where, ys, sw, class_weight)
    return Arrays(xs, ys, sw, 32 if batch_size is None else batch_size, steps)
