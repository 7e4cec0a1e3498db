"""Window geometry for layers, models and the calculator: output sizes, padding, receptive
fields, and whether a padding fill fits. The rules are written once, in
:mod:`svertka.kernels.shapes` and :mod:`svertka.kernels.pad`; layers and models ask for them
here, at the ops level, and never import the kernels.

>>> conv_output_size(7, 3, stride=3)
2
"""

from svertka.kernels.pad import check_mode, check_pad_fits
from svertka.kernels.shapes import (
    check_window_fits,
    conv_output_size,
    effective_kernel,
    pair,
    receptive_field_step,
    resolve_padding,
    same_padding,
    window_remainder,
)

__all__ = ["check_mode", "check_pad_fits", "check_window_fits", "conv_output_size",
           "effective_kernel", "pair", "receptive_field_step", "resolve_padding", "same_padding",
           "window_remainder"]
