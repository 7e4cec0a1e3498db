"""The protocol every augmentation follows, and the checks and conversions they share.

A transform works on a *batch* ``x`` of shape (N, H, W, C), channels-last, NumPy ``uint8`` or
floating point, with a NumPy ``Generator``: ``t(x, rng) -> y``, same shape and dtype. It never
modifies ``x``; the result is always a new array.

Conventions shared by all transforms (SPEC §10):

* **per image**: every image draws its own parameters (angle, shift, ...), and with
  probability ``p`` an image is transformed at all (``p=0`` is the identity, ``p=1`` always
  applies);
* **uint8 stays uint8**: the work is done in float32, then rounded to the nearest integer and
  clipped to [0, 255];
* **float stays float** (float32 or float64; float16 is worked in float32 and cast back) and
  is *not* clipped: values can leave [0, 1] after brightness, contrast or noise;
* **value units**: amounts given as a share of the full range (``Brightness``,
  ``GaussianNoise``) mean a share of 255 for uint8 and of 1.0 for floats, i.e. float images
  are assumed to hold [0, 1] pixels (augment before mean/std normalisation, as
  ``svertka.datasets.loader.BatchLoader`` does);
* **CPU**: transforms run on NumPy arrays (in the loader's background thread), before a batch
  moves to the GPU. A transform keeps no state between calls, so one object can serve
  several threads; all randomness comes from the ``rng`` passed in.

A subclass implements ``draw(n, rng, shape) -> params`` (a dict of per-image arrays) and
``apply(x, params) -> y`` (deterministic). Splitting the two lets a test replay a draw or fix
a parameter: ``Rotation(30).apply(x, {"angle": np.full(len(x), 90.0)})``.
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka import random as _random

_REGISTRY: dict[str, type] = {}


def check_images(x, op: str) -> np.ndarray:
    """Return ``x`` if it is a NumPy batch (N, H, W, C) of uint8 or floats, else raise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{op}: argument 'x' must be a NumPy array (N, H, W, C) (augmentation "
            f"runs on the CPU, before a batch moves to the GPU), received "
            f"{type(x).__name__}"
        )
    if x.ndim != 4:
        hint = " (one image: x[None]; a grey batch (N, H, W): x[..., None])" if x.ndim == 3 else ""
        raise ValueError(
            f"{op}: argument 'x' must be 4-D (N, H, W, C){hint}, received shape {x.shape}"
        )
    if x.dtype != np.uint8 and x.dtype.kind != "f":
        raise TypeError(
            f"{op}: argument 'x' must be uint8 or floating point, received dtype {x.dtype}"
        )
    return x


def check_rng(rng, op: str) -> np.random.Generator:
    """A ``Generator`` as is, an int as a seed, None as svertka's global generator (seeded by
    ``svertka.utils.set_random_seed``)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return _random.generator()
    if checks.is_int(rng):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{op}: argument 'rng' must be a numpy Generator, an int seed or None, "
        f"received {type(rng).__name__}"
    )


def check_range(value, op: str, arg: str, centre=0.0, low=None, high=None) -> tuple:
    """A number ``m`` as ``(centre - m, centre + m)``, or a ``(low, high)`` pair as is."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        a, b = (checks.finite_float(op, arg, v, low, high) for v in value)
    else:
        try:
            m = checks.finite_float(op, arg, value, 0.0)
        except TypeError:
            raise TypeError(
                f"{op}: argument '{arg}' must be a number or a (low, high) pair, "
                f"received {value!r}"
            ) from None
        a, b = centre - m, centre + m
        for v in (a, b):
            checks.finite_float(op, arg, v, low, high)
    if a > b:
        raise ValueError(f"{op}: argument '{arg}' must have low <= high, received {value!r}")
    return a, b


def check_mode(mode, op: str, modes: tuple) -> str:
    if mode not in modes:
        raise ValueError(
            f"{op}: argument 'mode' must be one of {', '.join(map(repr, modes))}, received {mode!r}"
        )
    return mode


def max_value(dtype) -> float:
    """The full-range value: 255 for uint8, 1.0 for floats (assumed in [0, 1])."""
    return 255.0 if np.dtype(dtype) == np.uint8 else 1.0


def to_float(x: np.ndarray) -> np.ndarray:
    """A float working copy: float32 for uint8 and float16, the same dtype otherwise."""
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    return x.astype(dtype)


def from_float(y: np.ndarray, dtype) -> np.ndarray:
    """Back to ``dtype``; for uint8 rounded to the nearest integer and clipped to [0, 255]."""
    if np.dtype(dtype) == np.uint8:
        y = np.rint(y, out=y) if y.flags.writeable else np.rint(y)
        return np.clip(y, 0, 255, out=y).astype(np.uint8)
    return y.astype(dtype, copy=False)


def uniform(rng: np.random.Generator, bounds: tuple, n: int) -> np.ndarray:
    """``n`` draws uniform in ``bounds`` (float64)."""
    return rng.uniform(bounds[0], bounds[1], n)


class Transform:
    """Base class: subclasses implement ``draw`` and ``apply`` and extend ``get_config``.

    ``__call__(x, rng)`` validates the batch, picks each image with probability ``p``,
    draws parameters for the picked images only, and applies them.
    """

    rgb_only = False  # colour transforms set this: 1-channel input is an error

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    def __init__(self, p: float = 1.0):
        self.p = checks.finite_float(type(self).__name__, "p", p, 0.0, 1.0)

    def __call__(self, x: np.ndarray, rng=None) -> np.ndarray:
        op = type(self).__name__
        x = check_images(x, op)
        rng = check_rng(rng, op)
        if self.rgb_only and x.shape[-1] != 3:
            raise ValueError(
                f"{op}: needs colour images with 3 channels (RGB), received "
                f"{x.shape[-1]} channel(s) (shape {x.shape}); it has no meaning "
                f"for grey images"
            )
        if self.p >= 1.0 and len(x):
            return self.transform(x, rng)
        if self.p <= 0.0 or not len(x):
            return x.copy()
        idx = np.flatnonzero(rng.random(len(x)) < self.p)
        y = x.copy()
        if idx.size:
            y[idx] = self.transform(x[idx], rng)
        return y

    def transform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Transform every image of a validated batch (``p`` already applied)."""
        return self.apply(x, self.draw(len(x), rng, x.shape))

    def draw(self, n: int, rng: np.random.Generator, shape: tuple) -> dict:
        """Per-image random parameters for ``n`` images of ``shape`` (a dict of arrays)."""
        return {}

    def apply(self, x: np.ndarray, params: dict) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"p": self.p}

    @classmethod
    def from_config(cls, config: dict) -> Transform:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def serialize(transform: Transform) -> dict:
    """``{"class_name": ..., "config": ...}``, JSON-serialisable.

    >>> from svertka.augment import Shift
    >>> serialize(Shift(0.1))
    {'class_name': 'Shift', 'config': {'max_fraction': 0.1, 'mode': 'zeros', 'p': 1.0}}
    """
    if not isinstance(transform, Transform):
        raise TypeError(
            f"augment.serialize: argument 'transform' must be a Transform, "
            f"received {type(transform).__name__}"
        )
    return {"class_name": type(transform).__name__, "config": transform.get_config()}


def deserialize(config: dict) -> Transform:
    """The transform ``serialize`` described."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in _REGISTRY:
        raise ValueError(
            f"augment.deserialize: unknown class_name {name!r}; known: {sorted(_REGISTRY)}"
        )
    return _REGISTRY[name].from_config(dict(config.get("config", {})))
