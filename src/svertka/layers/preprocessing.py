"""Preprocessing inside the model, so a saved model takes raw pixels (SPEC §6: ``x / 255``)."""

from __future__ import annotations

from svertka import checks
from svertka.layers.base import Layer


class Rescaling(Layer):
    """``y = x * scale + offset``; ``Rescaling(1 / 255)`` maps uint8 pixels to [0, 1].

    Integer inputs (raw pixels) are computed in float32, as every op does
    (``svertka.ops._inputs``).

    >>> import numpy as np
    >>> Rescaling(1 / 255)(np.full((1, 2), 255, np.uint8)).numpy().tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, scale: float, offset: float = 0.0, **kwargs):
        self.scale = checks.finite_float("Rescaling", "scale", scale)
        self.offset = checks.finite_float("Rescaling", "offset", offset)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        y = inputs * self.scale
        return y + self.offset if self.offset else y

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
