"""``TableConv2D``: a convolution in which each output map sees only some input maps, by a
fixed connection table: LeNet-5's layer C3 (LeCun et al. 1998, Table I), where the 16 maps
each combine 3, 4 or all 6 of S2's maps, "to break the symmetry in the network" and to keep
the number of connections in bounds.

>>> from svertka.layers import Input
>>> c3 = TableConv2D(5, [[0, 1, 2], [1, 2, 3, 4, 5]])
>>> c3(Input((14, 14, 6))).shape, c3.count_params()   # (25*3 + 1) + (25*5 + 1)
((None, 10, 10, 2), 202)
"""

from __future__ import annotations

import numpy as np

from svertka import ops
from svertka.layers.convolutional import Conv2D


class TableConv2D(Conv2D):
    """``Conv2D`` with ``len(table)`` filters, filter j connected to the input maps
    ``table[j]`` only: its kernel is multiplied by a fixed 0/1 mask in every call, so the
    cut connections stay zero and get no gradient. ``count_params`` counts the connected
    weights (and the biases), as the paper does; the stored kernel is the full one."""

    def __init__(self, kernel_size, table, **kwargs):
        if (not isinstance(table, (list, tuple)) or not table
                or not all(isinstance(row, (list, tuple)) and row for row in table)):
            raise ValueError(f"TableConv2D: argument 'table' must be a non-empty list of "
                             f"non-empty lists of input map indices, received {table!r}")
        self.table = [sorted(int(c) for c in row) for row in table]
        kwargs.pop("filters", None)
        super().__init__(len(self.table), kernel_size, **kwargs)

    def build(self, input_shape) -> None:
        super().build(input_shape)
        c = self.kernel.shape[2]
        mask = np.zeros((1, 1, c, self.filters), self.kernel.dtype)
        for j, row in enumerate(self.table):
            if min(row) < 0 or max(row) >= c:
                raise ValueError(f"TableConv2D: argument 'table' row {j} names input maps "
                                 f"{row}; the input has maps 0..{c - 1}")
            mask[0, 0, row, j] = 1
        self.mask = mask
        self.kernel.data = self.kernel.data * mask

    def count_params(self) -> int:
        kh, kw = self.kernel_size
        return sum(kh * kw * len(row) for row in self.table) + (self.filters if self.use_bias
                                                                 else 0)

    def macs(self, input_shape, output_shape) -> int:
        """Multiply-accumulates per image: the connected weights at each output position."""
        kh, kw = self.kernel_size
        return output_shape[1] * output_shape[2] * kh * kw * sum(len(r) for r in self.table)

    def call(self, inputs, training: bool = False):
        kernel = ops.mul(self.kernel, self.mask)
        return ops.conv2d(inputs, kernel, self.bias, self.strides, self.padding,
                          self.padding_mode, self.dilation_rate, activation=self._activation)

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("filters")
        return {**config, "table": self.table}
