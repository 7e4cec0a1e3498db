"""``PyDataset`` (Keras 3's ``keras.utils.PyDataset``, also ``Sequence``): batches by index.

A subclass gives ``__len__`` (the number of batches, not samples) and ``__getitem__(index)``
returning one whole batch: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (x and y may be
lists or dicts of arrays for several inputs or outputs). ``on_epoch_begin`` /
``on_epoch_end`` run around each epoch of ``fit`` (reshuffle there). A dataset without an end
overrides ``num_batches`` to return None; ``fit`` then needs ``steps_per_epoch``.

``fit``, ``evaluate`` and ``predict`` read it through ``svertka.models.data_adapters``, which
only ever indexes it (never ``np.asarray`` on it). ``workers``, ``use_multiprocessing`` and
``max_queue_size`` are kept for Keras's signature: ``workers > 1`` reads the next batches
in that many threads; ``use_multiprocessing`` is accepted and runs in threads too (svertka's
own threads already use the cores for the training step).

>>> import numpy as np
>>> class Squares(PyDataset):
...     def __init__(self, n, batch_size, **kwargs):
...         super().__init__(**kwargs)
...         self.x = np.arange(n, dtype=np.float32)[:, None]
...         self.batch_size = batch_size
...     def __len__(self):
...         return -(-len(self.x) // self.batch_size)
...     def __getitem__(self, index):
...         xb = self.x[index * self.batch_size:(index + 1) * self.batch_size]
...         return xb, xb ** 2
>>> data = Squares(5, batch_size=2)
>>> data.num_batches, [len(xb) for xb, _ in data]
(3, [2, 2, 1])
"""

from __future__ import annotations

import itertools
import warnings

from svertka import checks


class PyDataset:
    """Base class of datasets read batch by batch: implement ``__len__`` and ``__getitem__``.

    Keras's ``PyDataset(workers=1, use_multiprocessing=False, max_queue_size=10)``; a subclass
    passes its ``**kwargs`` on with ``super().__init__(**kwargs)``.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        where = type(self).__name__
        self._workers = checks.positive_int(where, "workers", workers)
        self._use_multiprocessing = checks.flag(where, "use_multiprocessing",
                                                use_multiprocessing)
        self._max_queue_size = checks.positive_int(where, "max_queue_size", max_queue_size)

    def _defaults_if_super_not_called(self) -> None:
        """As Keras: a subclass that forgot ``super().__init__()`` still works, with a warning."""
        if hasattr(self, "_workers"):
            return
        self._workers, self._use_multiprocessing, self._max_queue_size = 1, False, 10
        warnings.warn(f"{type(self).__name__}: a PyDataset subclass should call "
                      "super().__init__(**kwargs) in its __init__ (kwargs may hold workers, "
                      "use_multiprocessing, max_queue_size); using the defaults", stacklevel=3)

    @property
    def workers(self) -> int:
        self._defaults_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value) -> None:
        self._workers = checks.positive_int(type(self).__name__, "workers", value)

    @property
    def use_multiprocessing(self) -> bool:
        self._defaults_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value) -> None:
        self._use_multiprocessing = checks.flag(type(self).__name__, "use_multiprocessing", value)

    @property
    def max_queue_size(self) -> int:
        self._defaults_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value) -> None:
        self._max_queue_size = checks.positive_int(type(self).__name__, "max_queue_size", value)

    def __getitem__(self, index):
        """The batch at position ``index``: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset subclass must implement "
                                  "__getitem__(index), returning one batch")

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``len(self)``), or None for a dataset without an end."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset subclass must implement "
                                  "__len__ (the number of batches), or a num_batches property "
                                  "that returns None for a dataset without an end")

    def __iter__(self):
        """Every batch in order (without an end: until the caller stops)."""
        count = self.num_batches
        for index in range(count) if count is not None else itertools.count():
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (reshuffle the samples here)."""


Sequence = PyDataset  # Keras's other name for it (``keras.utils.Sequence``)

__all__ = ["PyDataset", "Sequence"]
