"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to document
recognition"): the network that read the digits on bank cheques and envelopes (SPEC §9).

32x32 input (a 28x28 digit centred in a 4-pixel border), then layers named as in the paper:

========  =============================  ===========  ==========
layer     what                            output       parameters
========  =============================  ===========  ==========
C1        6 filters 5x5, tanh             28x28x6             156
S2        2x2 average subsampling         14x14x6               0
C3        16 filters 5x5, tanh            10x10x16   2,416 (1,516)
S4        2x2 average subsampling         5x5x16                0
C5        120 filters 5x5, tanh           1x1x120          48,120
F6        84 units, tanh                  84               10,164
output    10 units, softmax               10                  850
========  =============================  ===========  ==========

61,706 parameters with C3 fully connected; ``c3_table=True`` connects C3 as the paper's
Table I (1,516 parameters there, 60,806 in all). The paper's subsampling layers also had a
trainable scale and bias per map and its output layer was made of Euclidean RBF units; as in
the usual modern rendering, these are plain average pooling and a softmax layer here.

>>> lenet5().count_params(), lenet5(c3_table=True).count_params()
(61706, 60806)
"""

from __future__ import annotations

from svertka.layers import AveragePooling2D, Conv2D, Dense, Flatten, TableConv2D, ZeroPadding2D
from svertka.models import Sequential
from svertka.zoo.weights import load

# LeCun et al. 1998, Table I: which of S2's 6 maps each of C3's 16 maps combines
C3_TABLE = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
    [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
    [0, 1, 2, 3, 4, 5],
]


def lenet5(input_shape=(32, 32, 1), classes: int = 10, include_top: bool = True,
           c3_table: bool = False, activation: str = "tanh", weights=None) -> Sequential:
    """LeNet-5 as in the table above; ``include_top=False`` stops after S4. A 28x28 input
    (MNIST) is first padded to the paper's 32x32 field by 2 zero pixels on each side.
    ``weights="mnist"`` loads the shipped weights (trained here on MNIST, built for 28x28
    inputs scaled to [0, 1]: ``lenet5((28, 28, 1), weights="mnist")``)."""
    first = {"input_shape": tuple(input_shape)}
    pad = []
    if tuple(input_shape[:2]) == (28, 28):
        pad, first = [ZeroPadding2D(2, name="pad_to_32", **first)], {}
    c3 = (TableConv2D(5, C3_TABLE, activation=activation, name="C3") if c3_table
          else Conv2D(16, 5, activation=activation, name="C3"))
    layers = [
        *pad,
        Conv2D(6, 5, activation=activation, name="C1", **first),
        AveragePooling2D(2, name="S2"),
        c3,
        AveragePooling2D(2, name="S4"),
    ]
    if include_top:
        layers += [
            Conv2D(120, 5, activation=activation, name="C5"),
            Flatten(name="flatten"),
            Dense(84, activation=activation, name="F6"),
            Dense(classes, activation="softmax", name="output"),
        ]
    return load(Sequential(layers, name="lenet5"), "lenet5", weights)
