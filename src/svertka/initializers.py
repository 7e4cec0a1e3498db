"""Weight initialisers (SPEC §6) with Keras 3's classes, names, defaults and configs.

Glorot/Xavier for tanh/sigmoid, He/Kaiming for ReLU, LeCun for SELU, all ``VarianceScaling``
with Keras's fans: for a convolution kernel (KH, KW, C_in, C_out), fan_in = KH*KW*C_in and
fan_out = KH*KW*C_out; for a dense matrix (K, M), fan_in = K and fan_out = M. An initialiser
is called as ``init(shape, dtype=None)`` and returns a NumPy array (float32 by default).

Seeds: an initialiser seeded with an int gives the same values on every call, one seeded with
a ``svertka.random.SeedGenerator`` new values on each call, as in Keras 3. An unseeded one
draws from ``svertka.utils``'s global generator on each call, so ``set_random_seed`` makes a
whole model repeat and svertka's weights are those it always drew; Keras 3 instead fixes an
unseeded initialiser's values at its first call (and warns when one instance serves two
layers).

The lower-case names (``he_normal``, ``random_normal``, ...) work both ways: called with a
shape they draw at once (``he_normal((3, 3, 1, 32), "float32")``, svertka's older use), called
without one they make the initialiser as Keras's aliases do (``he_normal(seed=1)``).

>>> w = get("he_normal")((3, 3, 1, 32), "float32")
>>> w.shape, str(w.dtype)
((3, 3, 1, 32), 'float32')
>>> GlorotUniform(seed=1).get_config()
{'seed': 1, 'input_axes': None, 'output_axes': None}
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from svertka import random as srandom
from svertka.naming import snake_case


def fans(shape: tuple, input_axes=None, output_axes=None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras's ``compute_fans``; given both
    ``input_axes`` and ``output_axes``, the products of those axes' sizes.

    >>> fans((3, 3, 16, 32)), fans((4, 5, 6), input_axes=[0], output_axes=[1, 2])
    ((144, 288), (4, 30))
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(math.prod(shape[a] for a in input_axes)),
                int(math.prod(shape[a] for a in output_axes)))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive = math.prod(shape[:-2])
    return int(shape[-2] * receptive), int(shape[-1] * receptive)


def _dtype(name: str, dtype) -> np.dtype:
    dtype = np.dtype("float32" if dtype is None else dtype)
    if dtype.kind not in "fiub":
        raise ValueError(f"{name}: argument 'dtype' must be a numeric dtype, received {dtype}")
    return dtype


class Initializer:
    """Base class: subclasses define ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros.

    >>> Zeros()((2,)).tolist()
    [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None):
        return np.zeros(tuple(shape), _dtype("Zeros", dtype))


class Ones(Initializer):
    """All ones.

    >>> Ones()((2,), "int32").tolist()
    [1, 1]
    """

    def __call__(self, shape, dtype=None):
        return np.ones(tuple(shape), _dtype("Ones", dtype))


class Constant(Initializer):
    """Every entry ``value``.

    >>> Constant(0.5)((2,)).tolist()
    [0.5, 0.5]
    """

    def __init__(self, value=0.0):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"Constant: argument 'value' must be a number, received {value!r}")
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(tuple(shape), self.value, _dtype("Constant", dtype))

    def get_config(self) -> dict:
        return {"value": self.value}


class Identity(Initializer):
    """``gain`` times the identity matrix; 2-D shapes only (Keras's ``Identity``).

    >>> Identity(2.0)((2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity: argument 'shape' must be 2-D, received {tuple(shape)}")
        return (self.gain * np.eye(*shape)).astype(_dtype("Identity", dtype))

    def get_config(self) -> dict:
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """An initialiser that draws random numbers with ``seed`` (see the module docstring)."""

    def __init__(self, seed=None):
        if isinstance(seed, dict) and seed.get("class_name") == "SeedGenerator":
            seed = srandom.SeedGenerator(**seed.get("config", {}))
        if seed is not None and not isinstance(seed, srandom.SeedGenerator) and (
                isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: argument 'seed' must be None, an int or a "
                            f"svertka.random.SeedGenerator, received {seed!r}")
        self._init_seed = int(seed) if isinstance(seed, np.integer) else seed

    @property
    def seed(self):
        """What the draws use: an int, a SeedGenerator, or None (the global generator)."""
        return self._init_seed

    def get_config(self) -> dict:
        seed = self._init_seed
        if isinstance(seed, srandom.SeedGenerator):
            seed = {"class_name": "SeedGenerator", "config": seed.get_config()}
        return {"seed": seed}


class RandomNormal(RandomInitializer):
    """Normal draws of ``mean`` and ``stddev``.

    >>> float(abs(RandomNormal(stddev=0.1, seed=0)((4000,)).std() - 0.1)) < 0.005
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = float(mean), float(stddev)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return srandom.normal(shape, self.mean, self.stddev, _dtype("RandomNormal", dtype),
                              self.seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal draws, those beyond two ``stddev`` from ``mean`` drawn again.

    >>> bool(abs(TruncatedNormal(seed=0)((1000,))).max() <= 0.1)
    True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = float(mean), float(stddev)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return srandom.truncated_normal(shape, self.mean, self.stddev,
                                        _dtype("TruncatedNormal", dtype), self.seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Uniform draws in ``[minval, maxval)``.

    >>> x = RandomUniform(seed=0)((1000,)); bool(x.min() >= -0.05 and x.max() < 0.05)
    True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = float(minval), float(maxval)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return srandom.uniform(shape, self.minval, self.maxval, _dtype("RandomUniform", dtype),
                               self.seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Draws of variance ``scale / n``, n the fan given by ``mode`` (``'fan_in'``,
    ``'fan_out'`` or ``'fan_avg'``), from a ``'truncated_normal'`` (``'normal'`` means the
    same, as in Keras), ``'untruncated_normal'`` or ``'uniform'`` distribution.

    >>> w = VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=0)((200, 100))
    >>> round(float(w.std()) ** 2 * 200, 1)
    2.0
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        name = type(self).__name__
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.number)) \
                or not scale > 0 or not math.isfinite(scale):
            raise ValueError(f"{name}: argument 'scale' must be a positive number, "
                             f"received {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"{name}: argument 'mode' must be one of 'fan_in', 'fan_out', "
                             f"'fan_avg', received {mode!r}")
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        dist = "truncated_normal" if dist == "normal" else dist
        if dist not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"{name}: argument 'distribution' must be one of 'truncated_normal'"
                             f", 'untruncated_normal', 'uniform', 'normal', received "
                             f"{distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, dist
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dtype = _dtype(type(self).__name__, dtype)
        fan_in, fan_out = fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            # a unit normal truncated to [-2, 2] has std 0.8796...: undo it
            std = math.sqrt(variance) / 0.87962566103423978
            return srandom.truncated_normal(shape, 0.0, std, dtype, self.seed)
        if self.distribution == "untruncated_normal":
            return srandom.normal(shape, 0.0, math.sqrt(variance), dtype, self.seed)
        limit = math.sqrt(3.0 * variance)
        return srandom.uniform(shape, -limit, limit, dtype, self.seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


def _preset(name: str, scale: float, mode: str, distribution: str, doc: str):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self) -> dict:
        return {**RandomInitializer.get_config(self), "input_axes": self.input_axes,
                "output_axes": self.output_axes}

    return type(name, (VarianceScaling,), {
        "__init__": __init__, "get_config": get_config, "__doc__": doc, "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in ±sqrt(6 / (fan_in + fan_out)) (Glorot/Xavier).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal of std sqrt(2 / (fan_in + fan_out)) (Glorot/Xavier).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "Uniform in ±sqrt(6 / fan_in) (He/Kaiming).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal of std sqrt(2 / fan_in) (He/Kaiming).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "Uniform in ±sqrt(3 / fan_in) (LeCun).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal of std sqrt(1 / fan_in) (LeCun).")


class Orthogonal(RandomInitializer):
    """``gain`` times an orthogonal matrix from the QR decomposition of normal draws; shapes
    of rank > 2 are flattened to (prod(shape[:-1]), shape[-1]) and back, as in Keras.

    >>> q = Orthogonal(seed=0)((4, 4)).astype("float64"); bool(np.allclose(q @ q.T, np.eye(4),
    ...                                                                      atol=1e-6))
    True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = float(gain)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: argument 'shape' must have rank >= 2, received "
                             f"{shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = srandom.normal((max(rows, cols), min(rows, cols)), dtype="float64", seed=self.seed)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))  # makes the decomposition unique, so Q is uniform
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype("Orthogonal", dtype))

    def get_config(self) -> dict:
        return {**super().get_config(), "gain": self.gain}


CLASSES = {cls.__name__: cls for cls in (
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, LecunNormal,
    LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, Zeros)}


def _alias(cls):
    """Keras's lower-case name for ``cls``: makes it, or with a shape draws at once."""
    def make(*args, **kwargs):
        if "shape" in kwargs:
            shape, rest = kwargs.pop("shape"), args
        elif args and isinstance(args[0], (tuple, list)):
            shape, rest = args[0], args[1:]
        else:
            return cls(*args, **kwargs)
        dtype = kwargs.pop("dtype", rest[0] if rest else None)
        return cls(**kwargs)(shape, dtype)

    make.__name__ = make.__qualname__ = snake_case(cls.__name__)
    make.__doc__ = (f"``{cls.__name__}(**kwargs)``; with a shape, "
                    f"``{cls.__name__}(**kwargs)(shape, dtype)``.")
    return make


INITIALIZERS = {snake_case(name): _alias(cls) for name, cls in CLASSES.items()}
globals().update(INITIALIZERS)
zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal = (
    INITIALIZERS[n] for n in ("zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform",
                              "he_normal"))
_NAMES = {**CLASSES, **{n: CLASSES[c] for n, c in (
    *((snake_case(c), c) for c in CLASSES), ("normal", "RandomNormal"),
    ("uniform", "RandomUniform"), ("one", "Ones"), ("zero", "Zeros"),
    ("IdentityInitializer", "Identity"), ("OrthogonalInitializer", "Orthogonal"))}}


def serialize(initializer) -> dict | str:
    """Keras's serialised form ``{'module', 'class_name', 'config', 'registered_name'}``.

    >>> serialize(HeNormal(seed=3))["config"]["seed"]
    3
    """
    if isinstance(initializer, Initializer) and type(initializer).__name__ in CLASSES:
        return {"module": "keras.initializers", "class_name": type(initializer).__name__,
                "config": initializer.get_config(), "registered_name": None}
    name = getattr(initializer, "__name__", None)
    if INITIALIZERS.get(name) is initializer:
        return name
    raise ValueError(f"initializers.serialize: argument 'initializer' must be one of "
                     f"svertka's initializers, received {initializer!r}")


def deserialize(config):
    """An initialiser from ``serialize``'s dict (or a name).

    >>> deserialize({"class_name": "Constant", "config": {"value": 2.0}})((1,)).tolist()
    [2.0]
    """
    if isinstance(config, str):
        return get(config)
    if not (isinstance(config, dict) and config.get("class_name") in _NAMES
            and isinstance(config.get("config", {}), dict)):
        raise ValueError(f"initializers.deserialize: argument 'config' must be a dict "
                         f"{{'class_name': one of {sorted(CLASSES)}, 'config': dict}}, "
                         f"received {config!r}")
    cls = _NAMES[config["class_name"]]
    try:
        return cls.from_config(config.get("config", {}))
    except TypeError as e:
        raise ValueError(f"initializers.deserialize: the config of {cls.__name__} is not "
                         f"valid ({e}), received {config!r}") from None


def get(initializer):
    """An initialiser from a Keras name (``'glorot_uniform'``, ``'HeNormal'``, ``'normal'``),
    a config dict, a class, an instance, a callable ``(shape, dtype) -> array``, or an array
    of the weight's exact shape; None gives None.

    >>> get("random_normal").get_config()["stddev"]
    0.05
    """
    if initializer is None or (callable(initializer) and not inspect.isclass(initializer)):
        return initializer
    if inspect.isclass(initializer) and issubclass(initializer, Initializer):
        return initializer()
    if isinstance(initializer, str) and initializer in _NAMES:
        return _NAMES[initializer]()
    if isinstance(initializer, dict):
        return deserialize(initializer)
    if isinstance(initializer, (np.ndarray, np.generic)) or hasattr(initializer, "data"):
        values = np.asarray(getattr(initializer, "data", initializer))

        def initialize(shape, dtype=None):
            if tuple(shape) != values.shape:
                raise ValueError(f"initializers.get: the array given as initializer has shape "
                                 f"{values.shape}, the weight {tuple(shape)}")
            return values.astype(_dtype("initializers.get", dtype))
        return initialize
    raise ValueError(f"initializers.get: argument 'initializer' must be one of "
                     f"{sorted(INITIALIZERS)}, a config dict or a callable, received "
                     f"{initializer!r}")
