"""Mini-batches for training (SPEC §10): shuffling, online augmentation, conversion to float and
normalisation, prepared in a background thread while the model trains on the previous batch.

The data stay as stored (uint8 pixels: 50,000 CIFAR images are 150 MB, 600 MB as float32);
each batch is converted on its own. Per batch, in this order:

1. the images of the batch are gathered (shuffled once per epoch);
2. uint8 images are augmented as uint8, then converted to float and divided by ``scale``;
   other dtypes are converted and scaled first, then augmented (so float augmentations see
   [0, 1] pixels when ``scale`` makes them so);
3. the per-channel ``mean`` is subtracted and the result divided by ``std``.

``channel_stats`` computes that mean and std over a whole set in chunks; ``Normalizer`` keeps
scale, mean and std together and saves them as JSON, so prediction can use the same numbers.
"""

from __future__ import annotations

import json
import queue
import threading

import numpy as np

from svertka import checks
from svertka import random as _random

_CHUNK_ELEMENTS = 1 << 22  # values per chunk in channel_stats: 32 MB of float64


def _check_scale(scale, op: str):
    if scale is None:
        return None
    try:
        return checks.finite_float(op, "scale", scale, 0.0, low_open=True)
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: argument 'scale' must be a positive number or None (255 maps "
            f"uint8 pixels to [0, 1]), received {scale!r}"
        ) from None


def channel_stats(x, scale=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of x (N, ..., C) over every axis but the last,
    in units of ``x / scale``.

    Computed in float64 over chunks of images (Chan et al.'s pairwise update), so a 50,000
    image uint8 set is never copied whole to float. The std is the population one
    (``np.std``'s default, ``ddof=0``).

    >>> import numpy as np
    >>> x = np.array([0, 255], np.uint8).reshape(2, 1, 1, 1)
    >>> channel_stats(x, scale=255)
    (array([0.5]), array([0.5]))
    """
    scale = _check_scale(scale, "channel_stats")
    x = x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0 or x.size == 0:
        raise ValueError(
            f"channel_stats: argument 'x' must hold samples (N, ..., C) with N >= "
            f"1, received shape {x.shape}"
        )
    c = x.shape[-1]
    per_sample = max(1, x.size // x.shape[0])
    step = max(1, _CHUNK_ELEMENTS // per_sample)
    count, mean, m2 = 0, np.zeros(c), np.zeros(c)
    for start in range(0, x.shape[0], step):
        part = np.array(x[start : start + step], dtype=np.float64).reshape(-1, c)  # a copy
        k = part.shape[0]
        part_mean = part.mean(axis=0)
        part -= part_mean
        part_m2 = np.einsum("ij,ij->j", part, part)
        delta = part_mean - mean
        total = count + k
        mean = mean + delta * (k / total)
        m2 = m2 + part_m2 + delta**2 * (count * k / total)
        count = total
    std = np.sqrt(m2 / count)
    if scale is not None:
        mean, std = mean / scale, std / scale
    return mean, std


def _check_stat(value, op: str, arg: str):
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(
            f"{op}: argument '{arg}' must be a number or one per channel, received {value!r}"
        )
    if arg == "std" and np.any(a <= 0):
        raise ValueError(f"{op}: argument 'std' must be positive, received {value!r}")
    return a


class Normalizer:
    """``(x / scale - mean) / std`` per channel, as float32 (or ``dtype``); each part optional.

    ``mean`` and ``std`` are in units of ``x / scale``: a number, or one per channel (the last
    axis). ``Normalizer.adapt(x_train, scale=255)`` computes them with ``channel_stats``;
    ``to_json``/``from_json`` (and ``save``/``load``) keep them with a model.

    >>> import numpy as np
    >>> norm = Normalizer(scale=255, mean=0.5, std=0.25)
    >>> norm(np.array([[0, 255]], np.uint8)).tolist()
    [[-2.0, 2.0]]
    >>> Normalizer.from_json(norm.to_json()).get_config() == norm.get_config()
    True
    """

    def __init__(self, scale=None, mean=None, std=None, dtype=np.float32):
        self.scale = _check_scale(scale, "Normalizer")
        self.mean = _check_stat(mean, "Normalizer", "mean")
        self.std = _check_stat(std, "Normalizer", "std")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(
                f"Normalizer: argument 'dtype' must be a float dtype, received {self.dtype}"
            )

    @classmethod
    def adapt(cls, x, scale=None, dtype=np.float32) -> Normalizer:
        """A normaliser with the per-channel mean and std of x (see ``channel_stats``)."""
        mean, std = channel_stats(x, scale)
        return cls(scale, mean, np.maximum(std, 1e-12), dtype)

    def rescale(self, x) -> np.ndarray:
        """x as a new array of ``dtype``, divided by ``scale``."""
        y = np.array(x, dtype=self.dtype)
        if self.scale is not None:
            y /= self.dtype.type(self.scale)
        return y

    def standardize(self, y: np.ndarray) -> np.ndarray:
        """Subtract ``mean`` and divide by ``std``, in place on the float array y."""
        for name, value in (("mean", self.mean), ("std", self.std)):
            if value is not None and value.size not in (1, y.shape[-1]):
                raise ValueError(
                    f"Normalizer: '{name}' has {value.size} values, but the data "
                    f"have {y.shape[-1]} channels (shape {y.shape})"
                )
        if self.mean is not None:
            y -= self.mean.astype(self.dtype)
        if self.std is not None:
            y /= self.std.astype(self.dtype)
        return y

    def __call__(self, x) -> np.ndarray:
        return self.standardize(self.rescale(x))

    def invert(self, y) -> np.ndarray:
        """Back to the data's units (e.g. to show a normalised image): ``(y std + mean) scale``."""
        x = np.array(y, dtype=self.dtype)
        if self.std is not None:
            x *= self.std.astype(self.dtype)
        if self.mean is not None:
            x += self.mean.astype(self.dtype)
        if self.scale is not None:
            x *= self.dtype.type(self.scale)
        return x

    def get_config(self) -> dict:
        return {
            "scale": self.scale,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
            "dtype": self.dtype.name,
        }

    @classmethod
    def from_config(cls, config: dict) -> Normalizer:
        return cls(**config)

    def to_json(self) -> str:
        return json.dumps(self.get_config())

    @classmethod
    def from_json(cls, text: str) -> Normalizer:
        return cls.from_config(json.loads(text))

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path) -> Normalizer:
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"Normalizer({args})"


def _seed_sequence(rng, op: str) -> np.random.SeedSequence:
    """The loader's own seed: an int, a Generator (one draw), or None (svertka's global
    generator, so ``set_random_seed`` governs it)."""
    if rng is None:
        rng = _random.generator()
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(2**63)))
    if isinstance(rng, np.random.SeedSequence):
        return rng
    try:
        return np.random.SeedSequence(checks.non_negative_int(op, "rng", rng))
    except (TypeError, ValueError):
        raise TypeError(
            f"{op}: argument 'rng' must be a non-negative int seed, a numpy Generator "
            f"or None, received {rng!r}"
        ) from None


def _positive_int(value, op: str, arg: str, low: int = 1) -> int:
    try:
        return checks.integer(op, arg, value, low=low)
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: argument '{arg}' must be an int >= {low}, received {value!r}"
        ) from None


class BatchLoader:
    """Iterate over ``(xb, yb)`` mini-batches (``xb`` alone when ``y`` is None), one epoch per
    ``for`` loop; ``len(loader)`` is the number of batches.

    * ``shuffle``: a new order each epoch; ``drop_last`` drops a short last batch.
    * ``augment``: a transform ``f(x, rng)`` (see ``svertka.augment``) or a spec string such
      as ``"flip,crop=4"``, applied to each batch (before conversion when x is uint8).
    * ``dtype``, ``scale``, ``mean``, ``std``: the conversion (see the module docstring); with
      ``dtype=None`` batches keep the stored dtype and are not scaled.
    * ``rng``: an int seed, a Generator or None (svertka's global generator). The loader owns
      its seed: epoch k of two loaders with the same seed gives the same batches, shuffle and
      augmentation included, whatever the thread timing, since only the producer draws.
    * ``prefetch``: batches prepared ahead in a background thread (0: none, no thread). The
      thread stops when the loop ends, breaks, raises or its iterator is garbage-collected;
      ``with iter(loader) as batches:`` closes it at once.

    >>> import numpy as np
    >>> x = np.zeros((10, 8, 8, 3), np.uint8); y = np.arange(10)
    >>> loader = BatchLoader(x, y, batch_size=4, rng=0, augment="flip", scale=255)
    >>> [(xb.shape, xb.dtype.name, yb.tolist()) for xb, yb in BatchLoader(x, y, 4, False)][-1]
    ((2, 8, 8, 3), 'float32', [8, 9])
    >>> len(loader)
    3
    """

    def __init__(
        self,
        x,
        y=None,
        batch_size: int = 32,
        shuffle: bool = True,
        rng=None,
        augment=None,
        dtype=np.float32,
        scale=None,
        mean=None,
        std=None,
        prefetch: int = 2,
        drop_last: bool = False,
    ):
        from svertka import augment as augment_mod

        op = "BatchLoader"
        self.x = x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)
        if self.x.ndim < 1 or len(self.x) == 0:
            raise ValueError(
                f"{op}: argument 'x' must hold at least one sample, received shape {self.x.shape}"
            )
        self.y = None if y is None else (y if hasattr(y, "shape") else np.asarray(y))
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(
                f"{op}: arguments 'x' and 'y' must have the same number of "
                f"samples, received {len(self.x)} and {len(self.y)}"
            )
        self.batch_size = _positive_int(batch_size, op, "batch_size")
        self.prefetch = _positive_int(prefetch, op, "prefetch", low=0)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.augment = augment_mod.get(augment)
        if self.augment is not None and self.x.ndim != 4:
            raise ValueError(
                f"{op}: augmentation needs images (N, H, W, C), received x of "
                f"shape {self.x.shape} (a grey set: x[..., None])"
            )
        if dtype is None:
            if scale is not None or mean is not None or std is not None:
                raise ValueError(
                    f"{op}: 'scale', 'mean' and 'std' need a float 'dtype', received dtype=None"
                )
            self.normalizer = None
        else:
            self.normalizer = Normalizer(scale, mean, std, dtype)
        self._seeds = _seed_sequence(rng, op)
        if self.drop_last and len(self.x) < self.batch_size:
            raise ValueError(
                f"{op}: drop_last=True with batch_size {self.batch_size} leaves no "
                f"batch of the {len(self.x)} samples"
            )

    def __len__(self) -> int:
        n = len(self.x)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        rng = np.random.default_rng(self._seeds.spawn(1)[0])  # this epoch's generator
        batches = self._batches(rng)
        if self.prefetch == 0:
            return batches
        return _Prefetcher(batches, self.prefetch)

    def _batches(self, rng: np.random.Generator):
        n = len(self.x)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            xb = self.convert(self.x[idx], rng)
            yield xb if self.y is None else (xb, self.y[idx])

    def convert(self, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One batch of stored samples -> augmented, float, normalised (steps 2 and 3)."""
        norm, augment = self.normalizer, self.augment
        if norm is None:
            return xb if augment is None else augment(xb, rng)
        if xb.dtype == np.uint8:
            if augment is not None:
                xb = augment(xb, rng)
            return norm(xb)
        yb = norm.rescale(xb)
        if augment is not None:
            yb = augment(yb, rng)
        return norm.standardize(yb)

    def __repr__(self) -> str:
        return (
            f"BatchLoader({len(self.x)} samples, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, augment={self.augment!r}, "
            f"normalizer={self.normalizer!r}, prefetch={self.prefetch})"
        )


_BATCH, _END, _ERROR = "batch", "end", "error"


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put unless told to stop; polls, so an abandoned producer never blocks for good."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _produce(batches, q: queue.Queue, stop: threading.Event) -> None:
    # holds no reference to the consumer's iterator, so that one can be collected
    try:
        for batch in batches:
            if not _put(q, (_BATCH, batch), stop):
                return
        _put(q, (_END, None), stop)
    except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
        _put(q, (_ERROR, e), stop)
    finally:
        batches.close()


class _Prefetcher:
    """The consumer side: batches from a queue that a daemon thread keeps ``size`` deep."""

    def __init__(self, batches, size: int):
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_produce,
            args=(batches, self._queue, self._stop),
            name="svertka-BatchLoader",
            daemon=True,
        )
        self._finished = False
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            try:
                kind, payload = self._queue.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self.close()
                    raise RuntimeError(
                        "BatchLoader: the prefetch thread ended without finishing the epoch"
                    ) from None
        if kind == _BATCH:
            return payload
        self.close()
        if kind == _ERROR:
            raise payload
        raise StopIteration

    def close(self) -> None:
        """Stop the thread and wait for it (it finishes at most the batch in hand)."""
        self._finished = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown; the thread is a daemon
            pass
