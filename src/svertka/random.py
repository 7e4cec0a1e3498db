"""The one global random generator (weights, shuffling, dropout), reseeded by
``svertka.utils.set_random_seed`` so that a CPU training run repeats exactly.

``get_state``/``set_state`` export and restore it as a JSON-ready dict (the bit generator's
state), which is how ``BackupAndRestore`` resumes a run on the very draws it would have made.

>>> seed(0); state = get_state(); a = generator().random()
>>> set_state(state); generator().random() == a
True

Keras 3's ``keras.random`` functions (``normal``, ``uniform``, ``randint``,
``truncated_normal``, ``dropout``, ``shuffle``, ``SeedGenerator``) return NumPy arrays
(``dropout`` of a Tensor returns a differentiable Tensor). Their ``seed`` follows Keras:
``None`` draws from the global generator, an int gives the same numbers on every call, a
``SeedGenerator`` gives new, repeatable numbers on each call.

>>> bool((normal((2, 3), seed=1) == normal((2, 3), seed=1)).all())
True
>>> gen = SeedGenerator(7); bool((uniform((3,), seed=gen) == uniform((3,), seed=gen)).all())
False
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def generator() -> np.random.Generator:
    return _rng


def seed(n: int) -> None:
    global _rng
    _rng = np.random.default_rng(n)


def get_state(rng: np.random.Generator | None = None) -> dict:
    """The state of ``rng`` (the global generator by default): ``numpy``'s
    ``bit_generator.state`` as a dict of str, int and dicts that ``json`` writes and reads
    back exactly. PCG64's 128-bit integers are written as decimal strings, because model and
    backup files refuse integers outside the 64-bit range (other readers would round them)."""
    return _encode((_rng if rng is None else rng).bit_generator.state)


def _encode(value):
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return str(value)
    return value


def _decode(value):
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def set_state(state: dict, rng: np.random.Generator | None = None) -> None:
    """Put ``rng`` (the global generator by default) back in a state from ``get_state``.

    The generator object stays the same (code holding it sees the new state); only if the
    state is of another bit generator kind is the global one replaced by a new generator."""
    global _rng
    kind = state.get("bit_generator") if isinstance(state, dict) else None
    bit_generator = getattr(np.random, kind, None) if isinstance(kind, str) else None
    if not (isinstance(bit_generator, type) and issubclass(bit_generator, np.random.BitGenerator)):
        raise ValueError(f"svertka.random.set_state: argument 'state' must be a generator state "
                         f"from get_state, received {state!r:.200}")
    target = _rng if rng is None else rng
    if type(target.bit_generator) is not bit_generator:
        if rng is not None:
            raise ValueError(f"svertka.random.set_state: the state is of a {kind} generator, "
                             f"the generator given is {type(rng.bit_generator).__name__}")
        target = _rng = np.random.Generator(bit_generator())
    try:
        target.bit_generator.state = _decode(state)
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise ValueError(f"svertka.random.set_state: argument 'state' is not a valid {kind} "
                         f"state ({e})") from e


class SeedGenerator:
    """Keras's ``keras.random.SeedGenerator``: a seeded stream for the random functions.

    Each call that receives it draws new numbers; two generators made with the same ``seed``
    give the same sequence. ``seed=None`` takes a seed from the global generator.

    >>> a, b = SeedGenerator(3), SeedGenerator(3)
    >>> bool((normal((4,), seed=a) == normal((4,), seed=b)).all())
    True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"SeedGenerator: argument 'seed' must be an int or None, "
                            f"received {seed!r}")
        self.seed = int(generator().integers(2**31)) if seed is None else int(seed)
        self.name = name or "seed_generator"
        self.generator = np.random.default_rng(self.seed)

    def next(self, ordered=True) -> int:
        """A fresh int seed from the stream (Keras returns a seed tensor)."""
        return int(self.generator.integers(2**31))

    def get_config(self) -> dict:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        return cls(**config)


def _generator_for(where: str, seed) -> np.random.Generator:
    if seed is None:
        return generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"{where}: argument 'seed' must be None, an int or a "
                    f"svertka.random.SeedGenerator, received {seed!r}")


def _shape(where: str, shape) -> tuple:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: argument 'shape' must be a tuple of ints, "
                        f"received {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"{where}: argument 'shape' must hold sizes >= 0, received {shape}")
    return shape


def _float_dtype(where: str, dtype) -> np.dtype:
    dtype = np.dtype("float32" if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"{where}: argument 'dtype' must be a float dtype, received {dtype}")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> np.ndarray:
    """Draws from a normal distribution (Keras's ``keras.random.normal``).

    >>> normal((2, 2), seed=0).dtype
    dtype('float32')
    """
    where = "svertka.random.normal"
    shape, dtype = _shape(where, shape), _float_dtype(where, dtype)
    return (_generator_for(where, seed).standard_normal(shape) * stddev + mean).astype(dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None) -> np.ndarray:
    """Draws from ``[minval, maxval)`` (Keras's ``keras.random.uniform``).

    >>> x = uniform((1000,), -2.0, -1.0, seed=0); bool(x.min() >= -2 and x.max() < -1)
    True
    """
    where = "svertka.random.uniform"
    shape, dtype = _shape(where, shape), _float_dtype(where, dtype)
    return _generator_for(where, seed).uniform(minval, maxval, shape).astype(dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None) -> np.ndarray:
    """Integers in ``[minval, maxval)`` (Keras's ``keras.random.randint``).

    >>> sorted(set(randint((100,), 0, 3, seed=0).tolist()))
    [0, 1, 2]
    """
    where = "svertka.random.randint"
    shape = _shape(where, shape)
    if maxval <= minval:
        raise ValueError(f"{where}: argument 'maxval' must exceed minval={minval}, "
                         f"received {maxval}")
    return _generator_for(where, seed).integers(minval, maxval, shape).astype(dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None) -> np.ndarray:
    """Normal draws, those more than two ``stddev`` from ``mean`` drawn again (Keras's
    ``keras.random.truncated_normal``).

    >>> bool(abs(truncated_normal((1000,), seed=0)).max() <= 2)
    True
    """
    where = "svertka.random.truncated_normal"
    shape, dtype = _shape(where, shape), _float_dtype(where, dtype)
    rng = _generator_for(where, seed)
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return (x * stddev + mean).astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each value with probability ``rate`` and scale the rest by ``1 / (1 - rate)``
    (Keras's ``keras.random.dropout``); ``noise_shape`` broadcasts one mask (e.g.
    ``(N, 1, 1, C)`` drops whole channels). A Tensor gives a differentiable Tensor, an array
    an array.

    >>> sorted(set(dropout(np.ones((4, 4)), 0.5, seed=0).ravel().tolist()))
    [0.0, 2.0]
    """
    from svertka import checks, ops
    from svertka.autograd import Tensor

    where = "svertka.random.dropout"
    rate = checks.finite_float(where, "rate", rate, 0.0, 1.0, high_open=True)
    shape = tuple(inputs.shape)
    noise_shape = shape if noise_shape is None else _shape(where, noise_shape)
    try:
        np.broadcast_shapes(noise_shape, shape)
    except ValueError:
        raise ValueError(f"{where}: argument 'noise_shape' {noise_shape} does not broadcast "
                         f"to the inputs' shape {shape}") from None
    dtype = inputs.dtype if np.dtype(inputs.dtype).kind == "f" else np.dtype("float32")
    mask = ((_generator_for(where, seed).random(noise_shape) >= rate) / (1.0 - rate)).astype(dtype)
    if isinstance(inputs, Tensor):
        return ops.mul(inputs, Tensor(mask))
    return np.asarray(inputs, dtype) * mask


def shuffle(x, axis=0, seed=None) -> np.ndarray:
    """``x`` with its entries permuted along ``axis`` (Keras's ``keras.random.shuffle``).

    >>> sorted(shuffle(np.arange(5), seed=0).tolist())
    [0, 1, 2, 3, 4]
    """
    return _generator_for("svertka.random.shuffle", seed).permutation(np.asarray(x), axis=axis)
