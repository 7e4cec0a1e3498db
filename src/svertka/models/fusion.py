"""Layer pairs a model runs as one op, when nothing needs what passes between them.

A ``Conv2D`` with a 3x3 kernel, stride 1, no dilation, zero padding and ReLU (or no
activation), whose output goes only to a ``MaxPooling2D`` with 2x2 windows at stride 2 and
no padding, runs as ``svertka.ops.conv_pool.conv2d_maxpool`` (through
``Conv2D.call_maxpooled``): one pass that never stores the unpooled output, nor, in
training, its gradient. Why: that output is 4 times what the pooling keeps, written once
and read back once per layer and per direction.

At inference (``predict``, ``evaluate``, or a call under ``svertka.no_grad()``) every such
pair runs the op. With gradients on, a pair runs it where a fused kernel can train it (see
the plan in ``kernels/conv.py``): the direct loop of a convolution of fewer than 8 channels
has no input gradient, so there its input must need none, as a network's first layer's
does; elsewhere the layers run one by one. The results are those of the layers one by one,
up to float rounding (exactly equal max and ReLU, see ``kernels/direct_jit.py``).
``model.fuse_inference = False`` and ``model.fuse_training = False`` turn fusion off.
"""

from __future__ import annotations

from svertka.autograd import Tensor
from svertka.layers.convolutional import Conv2D
from svertka.layers.pooling import MaxPooling2D
from svertka.ops.activations import get_activation, linear, relu
from svertka.ops.shapes import conv_output_size, resolve_padding

UNIT = (1, 1)
NO_PADS = ((0, 0), (0, 0))


def _fusable(conv, pool) -> bool:
    """Whether the two layers' settings allow the fused op (sizes are checked per call)."""
    return (type(conv) is Conv2D and type(pool) is MaxPooling2D
            and conv.kernel_size == (3, 3) and conv.strides == UNIT
            and conv.dilation_rate == UNIT and get_activation(conv.activation) in (linear, relu)
            and pool.pool_size == pool.strides == (2, 2))


def pairs(nodes, outputs) -> dict:
    """``{id(conv node): pool node}`` for every fusable Conv2D -> MaxPooling2D pair among the
    graph ``nodes``: the pooling is the only consumer of the convolution, whose output is
    not a model output."""
    consumers: dict[int, list] = {}
    for node in nodes:
        for parent in node.parents:
            consumers.setdefault(id(parent), []).append(node)
    found = {}
    for node in nodes:
        users = consumers.get(id(node), [])
        if (len(users) == 1 and not users[0].many and not any(o is node for o in outputs)
                and _fusable(node.layer, users[0].layer)):
            found[id(node)] = users[0]
    return found


def conv_maxpool(conv: Conv2D, pool: MaxPooling2D, x: Tensor) -> Tensor | None:
    """The pooled output of ``pool(conv(x))`` by the fused op; None where the layers must
    run one by one: this input's sizes need padding the op does not do (a 'same' pooling of
    an odd size, a non-zero fill of the convolution's padding), or, with gradients on, no
    fused kernel can train this pair (see the module docstring)."""
    size = tuple(x.shape[1:3])
    pads = resolve_padding(conv.padding, size, (3, 3), UNIT, UNIT, "Conv2D")
    if pads != NO_PADS and conv.padding_mode != "zeros":
        return None
    conv_hw = tuple(conv_output_size(size[a], 3, padding=sum(pads[a])) for a in range(2))
    if min(conv_hw) < 2:
        return None  # too small for a window: the layers raise their own errors
    if resolve_padding(pool.padding, conv_hw, (2, 2), (2, 2), UNIT, "MaxPooling2D") != NO_PADS:
        return None
    return conv.call_maxpooled(x, pads)
