"""``IdentityShortcut``: the parameter-free shortcut of the CIFAR ResNets (He et al. 2015,
§4.2, option A), subsampling the image and padding the channels with zeros.

>>> from svertka.layers import Input
>>> IdentityShortcut(32, strides=2)(Input((32, 32, 16))).shape
(None, 16, 16, 32)
"""

from __future__ import annotations

from svertka import checks, ops
from svertka.layers import _args
from svertka.layers.base import Layer


class IdentityShortcut(Layer):
    """Keep every ``strides``-th pixel and widen to ``filters`` channels with zeros (see
    ``svertka.ops.identity_shortcut``); no weights."""

    def __init__(self, filters: int, strides: int = 1, **kwargs):
        self.filters = checks.positive_int("IdentityShortcut", "filters", filters)
        self.strides = checks.positive_int("IdentityShortcut", "strides", strides)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        _, h, w, c = _args.image_shape("IdentityShortcut", input_shape)
        if c is not None and c > self.filters:
            raise ValueError(f"IdentityShortcut: argument 'filters' must be >= the {c} input "
                             f"channels, received filters={self.filters}")
        s = self.strides
        return (input_shape[0], None if h is None else -(-h // s),
                None if w is None else -(-w // s), self.filters)

    def check_input_shape(self, input_shape) -> None:
        self.compute_output_shape(input_shape)

    def call(self, inputs, training: bool = False):
        return ops.identity_shortcut(inputs, self.strides, self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}
