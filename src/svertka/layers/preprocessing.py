"""Preprocessing inside the model, so a saved model takes raw pixels (SPEC §6: ``x / 255``)."""

from __future__ import annotations

from svertka.layers.base import Layer


class Rescaling(Layer):
    """``y = x * scale + offset``; ``Rescaling(1 / 255)`` maps uint8 pixels to [0, 1].

    >>> import numpy as np
    >>> Rescaling(1 / 255)(np.full((1, 2), 255, np.float32)).numpy().tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, scale: float, offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Rescaling: argument '{name}' must be a number, "
                                f"received {value!r}")
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs, training: bool = False):
        y = inputs * self.scale
        return y + self.offset if self.offset else y

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
