"""The dtype rule at the op boundary: svertka's ops compute in floating point.

An integer or boolean array given to a real-valued op (convolution, pooling, dense, the
activations, normalisation, the losses' predictions, arithmetic) is cast to float32 before
anything is computed, as Keras casts a layer's inputs: raw uint8 pixels and int64 labels are
exact in float32 (below 2**24). Computing in the input's own dtype is what went wrong before:
uint8 arithmetic wraps around (``200 + 100 == 44``) and ``uint8 * 0.5`` truncated the 0.5 to
0. Floating-point inputs keep their dtype (float64 stays float64 for gradient checks);
anything that is not a real number (complex, strings, objects) is a TypeError naming the op,
the argument and the dtype. Python numbers and lists are left to ``Tensor`` (float32, or the
dtype of the Tensor they meet). Shape-only ops (reshape, transpose, getitem, concat, flatten)
and reductions keep any dtype.

>>> import numpy as np
>>> float_input("conv2d", np.full((1, 2), 200, np.uint8)).numpy().tolist()
[[200.0, 200.0]]
"""

from __future__ import annotations

import numpy as np

from svertka.autograd import Tensor, as_tensor


def float_input(op: str, x, arg: str = "x") -> Tensor:
    """``x`` as a Tensor of floats: integers and booleans cast to float32 (see above)."""
    x = as_tensor(x)
    kind = x.dtype.kind
    if kind == "f":
        return x
    if kind in "biu":
        return Tensor(x.data.astype(np.float32))
    raise TypeError(
        f"{op}: argument '{arg}' must hold real numbers, received dtype {x.dtype}"
    )


def float_inputs(op: str, **values) -> list:
    """Each value through ``float_input``, except numbers and lists (no dtype), kept as given so
    that they take the dtype of the Tensor they meet."""
    return [
        value if getattr(value, "dtype", None) is None else float_input(op, value, arg)
        for arg, value in values.items()
    ]


__all__ = ["float_input", "float_inputs"]
