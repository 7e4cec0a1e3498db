"""The one global random generator (weights, shuffling, dropout), reseeded by
``svertka.utils.set_random_seed`` so that a CPU training run repeats exactly."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def generator() -> np.random.Generator:
    return _rng


def seed(n: int) -> None:
    global _rng
    _rng = np.random.default_rng(n)
