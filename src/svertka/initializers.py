"""Weight initialisers (SPEC §6): Xavier/Glorot for tanh/sigmoid, Kaiming/He for ReLU.

For a convolution kernel (KH, KW, C_in, C_out), fan_in = KH*KW*C_in and fan_out = KH*KW*C_out;
for a dense matrix (K, M), fan_in = K and fan_out = M (as Keras computes them).
They draw from ``svertka.utils``'s global generator, so ``set_random_seed`` makes them repeat.

>>> w = get("he_normal")((3, 3, 1, 32), "float32")
>>> w.shape, str(w.dtype)
((3, 3, 1, 32), 'float32')
"""

from __future__ import annotations

import numpy as np

from svertka.random import generator


def fans(shape: tuple) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype="float32"):
    return np.zeros(shape, dtype)


def ones(shape, dtype="float32"):
    return np.ones(shape, dtype)


def glorot_uniform(shape, dtype="float32"):
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return generator().uniform(-limit, limit, shape).astype(dtype)


def glorot_normal(shape, dtype="float32"):
    fan_in, fan_out = fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def he_uniform(shape, dtype="float32"):
    limit = np.sqrt(6.0 / fans(shape)[0])
    return generator().uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape, dtype="float32"):
    return _truncated_normal(shape, np.sqrt(2.0 / fans(shape)[0])).astype(dtype)


def _truncated_normal(shape, std: float) -> np.ndarray:
    """Normal draws redrawn beyond two standard deviations, with Keras's std correction."""
    std = std / 0.87962566103423978  # std of a unit normal truncated to [-2, 2]
    rng = generator()
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return x * std


INITIALIZERS = {f.__name__: f for f in (zeros, ones, glorot_uniform, glorot_normal,
                                        he_uniform, he_normal)}


def get(initializer):
    """An initialiser from its name or a callable ``(shape, dtype) -> array``."""
    if callable(initializer):
        return initializer
    if isinstance(initializer, str) and initializer in INITIALIZERS:
        return INITIALIZERS[initializer]
    raise ValueError(f"initializers.get: argument 'initializer' must be one of "
                     f"{sorted(INITIALIZERS)} or a callable, received {initializer!r}")
