"""The functional API: every operation of the notes, differentiable.

Images are channels-last ``(N, H, W, C)``; convolution weights are ``(KH, KW, C_in, C_out)``.
Every op computes in floating point: integer and boolean inputs (uint8 pixels, say) are cast
to float32 first, never wrapped around in their own dtype (``svertka.ops._inputs``). Sizes
and rates are checked once, at this boundary, by ``svertka.checks``: NumPy integers are ints,
NaN and infinity are errors.

>>> import numpy as np, svertka
>>> from svertka import ops
>>> x = svertka.Tensor(np.ones((1, 5, 5, 1)))
>>> ops.conv2d(x, svertka.Tensor(np.ones((3, 3, 1, 1))), padding="same").shape
(1, 5, 5, 1)
"""

from svertka.ops.activations import (
    ACTIVATIONS,
    elu,
    gelu,
    get_activation,
    leaky_relu,
    linear_threshold,
    log_softmax,
    maxout,
    prelu,
    relu,
    sigmoid,
    softmax,
    softplus,
    softsign,
    step,
    swish,
    tanh,
)
from svertka.ops.basic import (
    add,
    add_relu,
    concat,
    dense,
    div,
    exp,
    flatten,
    getitem,
    log,
    matmul,
    max,
    mean,
    mul,
    neg,
    power,
    reshape,
    sub,
    sum,
    transpose,
)
from svertka.ops.conv import conv2d
from svertka.ops.conv_pool import conv2d_maxpool
from svertka.ops.depthwise import depthwise_conv2d
from svertka.ops.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    mean_squared_error,
    robust_loss,
    robust_loss_nll,
    softmax_cross_entropy,
    triplet_margin_loss,
)
from svertka.ops.netvlad import l2_normalize, netvlad
from svertka.ops.norm import batch_norm, dropout
from svertka.ops.normalization import group_norm, layer_norm, local_response_norm
from svertka.ops.padding import pad
from svertka.ops.pool import (
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
    min_pool2d,
    sum_pool2d,
)
from svertka.ops.resize import crop2d, upsample2d
from svertka.ops.shortcut import identity_shortcut
from svertka.ops.transpose_conv import conv2d_transpose

__all__ = [
    "ACTIVATIONS",
    "add",
    "add_relu",
    "avg_pool2d",
    "batch_norm",
    "binary_crossentropy",
    "categorical_crossentropy",
    "concat",
    "conv2d",
    "conv2d_maxpool",
    "depthwise_conv2d",
    "conv2d_transpose",
    "crop2d",
    "dense",
    "div",
    "dropout",
    "elu",
    "exp",
    "flatten",
    "gelu",
    "get_activation",
    "getitem",
    "global_avg_pool2d",
    "global_max_pool2d",
    "group_norm",
    "identity_shortcut",
    "l2_normalize",
    "layer_norm",
    "leaky_relu",
    "linear_threshold",
    "local_response_norm",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "max_pool2d",
    "maxout",
    "mean",
    "mean_squared_error",
    "min_pool2d",
    "mul",
    "neg",
    "netvlad",
    "pad",
    "power",
    "prelu",
    "relu",
    "reshape",
    "robust_loss",
    "robust_loss_nll",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "softsign",
    "step",
    "sub",
    "sum",
    "sum_pool2d",
    "swish",
    "tanh",
    "transpose",
    "triplet_margin_loss",
    "upsample2d",
]
from svertka.ops.keras_names import *  # noqa: E402, F403 - Keras's names, listed in its __all__
from svertka.ops.keras_names import __all__ as _keras_names  # noqa: E402

__all__ += _keras_names
