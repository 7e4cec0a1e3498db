"""Data that is not one array for ``fit``/``evaluate``/``predict``: PyDatasets, generators and
other iterables of batches, read one batch at a time (Keras 3's data adapters).

``is_plain(x)`` says whether the array path takes ``x`` (NumPy arrays, memory maps, Tensors,
lists or dicts of them); anything else goes through ``adapt(...)``, whose ``Adapter`` yields
one epoch of ``(x, y, sample_weight)`` NumPy batches at a time:

- a ``PyDataset`` (``svertka.datasets.pydataset``, or any object with ``__len__`` and
  ``__getitem__`` that is not a list, tuple, dict or array): indexed batch by batch, in order,
  or in a fresh random order per pass with ``shuffle`` (Keras's ``fit(shuffle=True)``); its
  ``on_epoch_begin``/``on_epoch_end`` run around each epoch. One without an end
  (``num_batches`` None) needs ``steps``;
- a generator or iterator (``iter(x) is x``): one pass shared by all epochs. With ``steps``
  each epoch takes the next ``steps`` batches; without it an epoch ends at ``StopIteration``,
  and an epoch that finds it exhausted warns as Keras does ("Your input ran out of data")
  and sets ``exhausted``: ``fit`` stops there;
- any other iterable (a torch ``DataLoader``, a list of ``(x, y)`` tuples): a fresh
  ``iter()`` per epoch.

With ``steps`` given, a source of known length continues where the last epoch stopped and
starts a new pass when it ends (an epoch cut short by the end warns, as Keras). Each batch is
``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a list is taken as a tuple, a lone array or
dict as ``x``); torch tensors become NumPy arrays (``.numpy()``), svertka Tensors their data.
The adapter never calls ``np.asarray`` on the data source itself: an endless ``__getitem__``
is only ever indexed.

>>> import numpy as np
>>> def batches():
...     for i in range(3):
...         yield np.full((2, 4), i, np.float32), np.array([0, 1])
>>> adapter = adapt("model.fit", batches())
>>> [(xb.shape, yb.tolist(), sw) for xb, yb, sw in adapter.batches()]
[((2, 4), [0, 1], None), ((2, 4), [0, 1], None), ((2, 4), [0, 1], None)]
>>> adapter.steps
3
"""

from __future__ import annotations

import itertools
import numbers
import random
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from svertka import random as _random
from svertka.autograd import Tensor
from svertka.backend import to_numpy
from svertka.checks import is_int, positive_int
from svertka.datasets.pydataset import PyDataset

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
           "generator can generate at least `steps_per_epoch * epochs` batches.")


def _is_array(a) -> bool:
    return isinstance(a, (np.ndarray, Tensor)) or _is_torch_tensor(a)


def _is_torch_tensor(a) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "numpy") and hasattr(a, "shape")


def _is_numbers(a) -> bool:
    """A (nested) Python list of numbers, such as ``[0, 1, 1]`` or ``[[0.5, 1.0]]``."""
    while isinstance(a, list) and a:
        a = a[0]
    return isinstance(a, numbers.Number) and not isinstance(a, list)


def is_plain(x) -> bool:
    """Whether the array path of ``fit`` takes ``x``: a NumPy array or memory map, a svertka
    Tensor, a torch tensor (convert it with ``numpy_data``), a (nested) list of numbers, or a
    list, tuple or dict of arrays (several inputs).

    >>> import numpy as np
    >>> is_plain(np.zeros((2, 3))), is_plain([np.zeros(2), np.ones(2)]), is_plain([0, 1])
    (True, True, True)
    >>> is_plain(iter([(np.zeros(2), np.zeros(2))])), is_plain([(np.zeros(2), np.zeros(2))])
    (False, False)
    """
    if isinstance(x, (np.ndarray, Tensor)) or _is_torch_tensor(x):
        return True
    if isinstance(x, dict):
        return bool(x) and all(_is_array(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return bool(x) and (all(_is_array(v) for v in x) or _is_numbers(list(x)))
    return False


def numpy_data(x):
    """Plain data with every torch tensor as a NumPy array (``.numpy()``, no copy on the CPU);
    NumPy arrays, memory maps and svertka Tensors stay as they are.

    >>> import numpy as np
    >>> data = numpy_data({"a": np.ones(2)})  # a torch.ones(2) there would come out the same
    >>> type(data["a"]).__name__, data["a"].tolist()
    ('ndarray', [1.0, 1.0])
    """
    if _is_torch_tensor(x):
        return x.detach().cpu().numpy()
    if isinstance(x, dict):
        return {k: numpy_data(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and not _is_numbers(list(x)):
        return type(x)(numpy_data(v) for v in x)
    return x


def _leaf(where: str, a):
    """One array of a batch as NumPy: torch tensors through ``.numpy()``, Tensors' data."""
    if a is None or isinstance(a, np.ndarray):
        return a
    if isinstance(a, Tensor):
        return to_numpy(a.data)
    if _is_torch_tensor(a):
        return a.detach().cpu().numpy()
    if isinstance(a, (list, tuple)) and _is_numbers(list(a)):
        return np.asarray(a)
    if isinstance(a, numbers.Number) or not hasattr(a, "shape"):
        raise TypeError(f"{where}: a batch must hold arrays (NumPy, torch or svertka Tensors), "
                        f"lists or dicts of arrays, received {type(a).__name__}")
    return to_numpy(a)


def _structure(where: str, a):
    """``a`` with every array as NumPy, lists and dicts kept (several inputs or outputs)."""
    if isinstance(a, dict):
        return {k: _leaf(where, v) for k, v in a.items()}
    if isinstance(a, (list, tuple)) and not _is_numbers(list(a)):
        return [_leaf(where, v) for v in a]
    return _leaf(where, a)


def _flat(a) -> list:
    if a is None:
        return []
    if isinstance(a, dict):
        return list(a.values())
    return list(a) if isinstance(a, list) else [a]


def standardize_batch(where: str, batch, index: int):
    """One batch as ``(x, y, sample_weight)`` of NumPy arrays (y and sample_weight may be None),
    checked: a tuple of 1 to 3 items, every array with one number of samples."""
    if isinstance(batch, dict) or _is_array(batch):
        batch = (batch,)
    elif isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or not 1 <= len(batch) <= 3:
        got = f"a tuple of {len(batch)} items" if isinstance(batch, tuple) else type(batch).__name__
        raise ValueError(f"{where}: argument 'x' must yield batches (x,), (x, y) or (x, y, "
                         f"sample_weight), received {got} as batch {index}")
    x, y, sw = (*(_structure(where, b) for b in batch), None, None)[:3]
    sizes = {len(a) if a.ndim else None for a in _flat(x) + _flat(y) + _flat(sw)}
    if len(sizes) > 1 or None in sizes:
        raise ValueError(f"{where}: batch {index} of argument 'x' holds arrays with different "
                         f"numbers of samples (first axis): x {_shapes(x)}, y {_shapes(y)}, "
                         f"sample_weight {_shapes(sw)}")
    return x, y, sw  # the weights are checked with the arrays' (models.arguments)


def _shapes(a) -> str:
    return "None" if a is None else ", ".join(str(tuple(v.shape)) for v in _flat(a))


def check_sample_weight(where: str, sample_weight, n: int, arg: str = "sample_weight"):
    """Per-sample weights as a float32 (N,) array: 1-D or (N, 1), N long, finite, >= 0.

    >>> check_sample_weight("model.fit", [[1.0], [0.5]], 2).tolist()
    [1.0, 0.5]
    """
    sw = _leaf(where, sample_weight) if not isinstance(sample_weight, list) else np.asarray(
        sample_weight)
    if not isinstance(sw, np.ndarray) or sw.dtype.kind not in "biuf":
        raise TypeError(f"{where}: argument '{arg}' must be an array of numbers, received "
                        f"{type(sample_weight).__name__}")
    if sw.ndim == 2 and sw.shape[1] == 1:
        sw = sw[:, 0]
    if sw.ndim != 1 or len(sw) != n:
        raise ValueError(f"{where}: argument '{arg}' must have shape ({n},) or ({n}, 1), one "
                         f"weight per sample, received shape {sw.shape}")
    sw = sw.astype(np.float32)
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise ValueError(f"{where}: argument '{arg}' must hold finite weights >= 0, received "
                         f"values from {sw.min()} to {sw.max()}")
    return sw


def class_sample_weights(where: str, y, class_weight) -> np.ndarray:
    """Keras's ``class_weight`` as per-sample weights (float32, (N,)): each sample gets the
    weight of its class, 1.0 for a class the dict leaves out (as Keras 3 does).

    ``y`` holds sparse integer labels (N,) or (N, 1), or one-hot / probability rows (N, K)
    (the class is the row's argmax); float labels are rounded, as Keras does.

    >>> class_sample_weights("model.fit", np.array([0, 1, 1, 2]), {0: 1.0, 1: 3.0}).tolist()
    [1.0, 3.0, 3.0, 1.0]
    >>> class_sample_weights("model.fit", np.eye(3)[[2, 0]], {2: 0.5}).tolist()
    [0.5, 1.0]
    """
    if not isinstance(class_weight, dict):
        raise TypeError(f"{where}: argument 'class_weight' must be a dict {{class index: "
                        f"weight}}, received {type(class_weight).__name__}")
    for k, w in class_weight.items():
        if not is_int(k):
            raise TypeError(f"{where}: argument 'class_weight' must have integer class indices "
                            f"as keys, received key {k!r}")
        if (isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w)
                or w < 0):
            raise ValueError(f"{where}: argument 'class_weight' must map each class to a "
                             f"finite weight >= 0, received {k!r}: {w!r}")
    labels = _leaf(where, y)
    if labels.ndim > 1:
        labels = labels[..., 0] if labels.shape[-1] == 1 else np.argmax(labels, axis=-1)
    if labels.ndim != 1:
        raise ValueError(f"{where}: argument 'class_weight' needs labels (N,), (N, 1) or "
                         f"one-hot rows (N, K), received y of shape {np.shape(y)}")
    labels = np.round(labels).astype(np.int64)
    table = {int(k): float(w) for k, w in class_weight.items()}
    return np.array([table.get(int(c), 1.0) for c in labels], np.float32)


EMPTY = object()
"""A rank's empty share of a sharded dataset's last step (``PyDatasetAdapter.shard``)."""


class Adapter:
    """One data source read epoch by epoch; ``steps`` is the batches per epoch when known
    (``steps`` given, ``len()`` of a PyDataset or iterable), else None until the first epoch
    has ended (then the number it gave). ``exhausted`` turns True when a one-pass source has
    nothing left: ``fit`` stops there."""

    def __init__(self, where: str, source, length, one_pass: bool, steps):
        self.where = where
        self._source, self._length, self._one_pass = source, length, one_pass
        self._steps_given = steps
        self.steps = steps if steps is not None else length
        self.exhausted = False
        self._iterator, self._seen, self._epochs = None, 0, 0

    def _fresh(self):
        """A new pass over the source."""
        return iter(self._source)

    def batches(self):
        """One epoch of ``(x, y, sample_weight)`` batches (NumPy arrays; y, sw may be None)."""
        if self.exhausted:
            warnings.warn(f"{self.where}: {RAN_OUT}", UserWarning, stacklevel=2)
            return
        self._begin_epoch()
        if self._steps_given is None or self._iterator is None:  # a new pass
            self._iterator, self._seen = self._fresh(), 0
        count = 0
        while self._steps_given is None or count < self._steps_given:
            if self._length is not None and self._seen >= self._length:
                break
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                self.exhausted = self._one_pass
                break
            index = self._seen
            x, y, sw = (EMPTY, None, None) if batch is EMPTY else standardize_batch(
                self.where, batch, index)
            self._seen += 1
            count += 1
            yield x, y, sw
        self._end_pass(count)

    def _end_pass(self, count: int) -> None:
        """Book-keeping after an epoch's batches: a pass that ended, an empty epoch."""
        ended = self._iterator is None or (self._length is not None
                                           and self._seen >= self._length)
        if count == 0:
            if self._epochs == 0:
                raise ValueError(f"{self.where}: argument 'x' gave no batch in the first "
                                 f"epoch (an empty {type(self._source).__name__})")
            self.exhausted = True
            warnings.warn(f"{self.where}: {RAN_OUT}", UserWarning, stacklevel=3)
            return
        if ended:
            self._iterator = None
            if self._steps_given is not None and count < self._steps_given:
                warnings.warn(f"{self.where}: {RAN_OUT}", UserWarning, stacklevel=3)
            if self.steps is None:  # learnt from the first pass, as Keras does
                self.steps = count
        self._epochs += 1

    def _begin_epoch(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        """``PyDataset.on_epoch_end``; nothing for other sources."""

    def close(self) -> None:
        """Stop a one-pass iteration (closes a generator) and any reading threads."""
        closer = getattr(self._iterator, "close", None)
        if closer is not None:
            closer()
        self._iterator = None


class PyDatasetAdapter(Adapter):
    """A ``PyDataset`` (or any object with ``__len__`` and ``__getitem__``), read by index."""

    def __init__(self, where, data, steps, shuffle: bool):
        length = _num_batches(where, data)
        if length is None and steps is None:
            raise ValueError(f"{where}: argument 'steps_per_epoch' (or 'steps') is required "
                             f"when 'x' is a {type(data).__name__} without an end "
                             "(num_batches is None): an epoch would never finish")
        super().__init__(where, data, length, False, steps)
        self.shuffle = shuffle
        self._part, self._passes = None, 0
        self._pool = None
        workers = getattr(data, "workers", 1) if isinstance(data, PyDataset) else 1
        if workers > 1:
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="svertka-pydataset")
            self._ahead = max(workers, getattr(data, "max_queue_size", 10))

    def shard(self, rank: int, size: int, seed: int) -> None:
        """Read only rank ``rank``'s share (of ``size``, data-parallel training): step ``s`` of
        an epoch is the batches ``order[s*size : (s+1)*size]``, of which this rank reads the
        ``rank``-th (``EMPTY`` where the last step has fewer); ``order`` is the same on every
        rank, shuffled per pass from ``seed`` (the same on every rank) with ``shuffle``."""
        if self._length is None or self._length < size:
            raise ValueError(f"{self.where}: data-parallel training over {size} ranks needs a "
                             f"dataset of at least {size} batches with a known length "
                             f"(each rank reads its batches by index), received "
                             f"{type(self._source).__name__} with "
                             f"{'no end' if self._length is None else self._length} batches")
        self._part, self._seed, self._full = (rank, size), seed, self._length
        self._length = -(-self._length // size)  # steps of the global batches
        self.steps = self._length if self._steps_given is None else min(self._steps_given,
                                                                         self._length)

    def _fresh(self):
        self._passes += 1
        if self._length is None:
            order = itertools.count()
        else:
            order = list(range(self._length if self._part is None else self._full))
            if self.shuffle and self._part is not None:  # the same order on every rank
                random.Random(self._seed + self._passes).shuffle(order)
            elif self.shuffle:  # a fresh order per pass, drawn from svertka's generator
                random.Random(int(_random.generator().integers(2**63))).shuffle(order)
            if self._part is not None:
                (r, size), n = self._part, len(order)
                order = [order[j] if j < n else None for j in range(r, self._length * size,
                                                                     size)]
        if self._pool is None:
            return (self._get(i) for i in order)
        return self._threaded(iter(order))

    def _get(self, i):
        return EMPTY if i is None else self._source[i]

    def _threaded(self, order):
        """Batches read ``_ahead`` indices ahead in the worker threads, yielded in order."""
        pending = [self._pool.submit(self._get, i) for i in itertools.islice(order, self._ahead)]
        while pending:
            batch = pending.pop(0).result()
            pending += [self._pool.submit(self._get, i) for i in itertools.islice(order, 1)]
            yield batch

    def _begin_epoch(self) -> None:
        begin = getattr(self._source, "on_epoch_begin", None)
        if begin is not None:
            begin()

    def on_epoch_end(self) -> None:
        end = getattr(self._source, "on_epoch_end", None)
        if end is not None:
            end()

    def close(self) -> None:
        super().close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _num_batches(where: str, data):
    try:
        count = data.num_batches if isinstance(data, PyDataset) else len(data)
    except NotImplementedError as e:
        raise TypeError(f"{where}: argument 'x' ({e})") from None
    if count is None:
        return None
    count = positive_int(where, "len(x)", count)
    return count


def _is_indexed(x) -> bool:
    """A PyDataset, or a Keras-2-style ``Sequence``: ``__len__`` and ``__getitem__`` by batch
    index, and neither a container (list, tuple, dict), an array nor an iterable."""
    if isinstance(x, PyDataset) or _is_keras_sequence(x):
        return True
    return (hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "__iter__")
            and not hasattr(x, "shape"))


def _is_keras_sequence(x) -> bool:
    """A ``keras.utils.PyDataset``/``Sequence`` subclass written against real Keras."""
    return any(c.__name__ in ("PyDataset", "Sequence") and c.__module__.startswith(
        ("keras", "tensorflow")) for c in type(x).__mro__)


def adapt(where: str, x, y=None, sample_weight=None, steps=None, kind: str = "fit", *,
          shuffle: bool = False) -> Adapter:
    """The adapter for ``x`` (not plain arrays: see ``is_plain``), for ``kind`` "fit",
    "evaluate" or "predict". ``y`` and ``sample_weight`` must come inside the batches, as in
    Keras; ``steps`` (``steps_per_epoch``/``steps``) caps each epoch; ``shuffle`` reorders a
    PyDataset's batches per pass (``fit`` weighs the batches by ``class_weight``)."""
    if kind not in ("fit", "evaluate", "predict"):
        raise ValueError(f"adapt: argument 'kind' must be 'fit', 'evaluate' or 'predict', "
                         f"received {kind!r}")
    if steps is not None:
        steps = positive_int(where, "steps_per_epoch" if kind == "fit" else "steps", steps)
    what = _describe(x)
    if y is not None:
        raise ValueError(f"{where}: argument 'y' is not supported when using {what} as 'x': "
                         "the targets must come in the batches it yields, (x, y)")
    if sample_weight is not None:
        raise ValueError(f"{where}: argument 'sample_weight' is not supported when using {what} "
                         "as 'x': the weights must come in the batches it yields, "
                         "(x, y, sample_weight)")
    if _is_indexed(x):
        return PyDatasetAdapter(where, x, steps, shuffle)
    if iter_is_self(x):
        return Adapter(where, x, None, True, steps)
    if hasattr(x, "__iter__") and not isinstance(x, (str, bytes, dict)):
        length = len(x) if hasattr(x, "__len__") else None
        return Adapter(where, x, length, False, steps)
    raise TypeError(f"{where}: argument 'x' must be an array, a list or dict of arrays, a "
                    f"PyDataset, a generator or an iterable of (x, y) batches, received "
                    f"{type(x).__name__}")


def iter_is_self(x) -> bool:
    """Whether ``x`` is a one-pass iterator (a generator, ``iter(...)``, ``map(...)``)."""
    try:
        return hasattr(x, "__next__") and iter(x) is x
    except TypeError:
        return False


def _describe(x) -> str:
    if isinstance(x, PyDataset) or _is_keras_sequence(x):
        return f"a PyDataset ({type(x).__name__})"
    if iter_is_self(x):
        return f"a generator ({type(x).__name__})"
    return f"a dataset ({type(x).__name__})"


__all__ = ["Adapter", "PyDatasetAdapter", "adapt", "check_sample_weight",
           "class_sample_weights", "is_plain", "iter_is_self", "numpy_data",
           "standardize_batch"]
