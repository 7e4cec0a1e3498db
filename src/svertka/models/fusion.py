"""Layers a model runs as one kernel, when nothing needs what passes between.

A ``Conv2D`` with a 3x3 kernel, stride 1, no dilation, zero padding and ReLU (or no
activation), whose output goes only to a ``MaxPooling2D`` with 2x2 windows at stride 2 and
no padding, runs at inference as one pass that never stores the unpooled output
(:func:`svertka.kernels.conv_pool.conv2d_maxpool`). The notes' model has two such pairs; at
batch 1,000 fusing them took its inference from about 100 to 80 ms on two cores.

Inference here means a model call with gradients off (``predict``, ``evaluate``, or a call
under ``svertka.no_grad()``), where no backward will need the convolution's output. The
results are those of the layers one by one, up to float rounding (exactly equal max and
ReLU, see :mod:`svertka.kernels.direct_jit`). Set ``model.fuse_inference = False`` to run
every layer by itself.

Training (gradients on) fuses such pairs too, with Numba: the fused op
(:mod:`svertka.ops.conv_pool`) records each window's winner and takes the pooled gradient
straight back, without the unpooled output or its gradient (on the notes' model at batch
32, arrays of 3.2 and 1.6 MB and the passes over them, each way). A convolution of fewer
than 8 channels (the direct loop) has no input gradient, so there its input must need none,
as a network's first layer's does; elsewhere the layers run one by one.
``model.fuse_training = False`` turns training fusion off.
"""

from __future__ import annotations

from svertka.autograd import Tensor, grad_enabled
from svertka.kernels.conv_pool import NO_PADS, UNIT, conv2d_maxpool, trains_fused
from svertka.kernels.shapes import resolve_padding
from svertka.layers.convolutional import Conv2D
from svertka.layers.pooling import MaxPooling2D
from svertka.ops import relu
from svertka.ops.conv_pool import conv2d_maxpool as conv2d_maxpool_op


def _fusable(conv, pool) -> bool:
    """Whether the two layers' settings allow the fused kernel (sizes are checked per call)."""
    return (type(conv) is Conv2D and type(pool) is MaxPooling2D
            and conv.kernel_size == (3, 3) and conv.strides == UNIT
            and conv.dilation_rate == UNIT and conv._activation in (None, relu)
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
    """The pooled output of ``pool(conv(x))`` by the fused kernel; None where the layers
    must run one by one: this input's sizes need padding the kernel does not do (a 'same'
    pooling of an odd size, a non-zero fill of the convolution's padding), or, with
    gradients on, the fused op cannot train this pair (see the module docstring)."""
    conv._ensure_built((None, *x.shape[1:]))
    size = tuple(x.shape[1:3])
    pads = resolve_padding(conv.padding, size, (3, 3), UNIT, UNIT, "Conv2D")
    if pads != NO_PADS and conv.padding_mode != "zeros":
        return None
    conv_hw = tuple(size[a] + sum(pads[a]) - 2 for a in range(2))
    if min(conv_hw) < 2:
        return None  # too small for a window: the layers raise their own errors
    if resolve_padding(pool.padding, conv_hw, (2, 2), (2, 2), UNIT, "MaxPooling2D") != NO_PADS:
        return None
    fuse_relu = conv._activation is relu
    if grad_enabled():
        if not trains_fused(x.data, conv.kernel.data, need_gx=x.requires_grad):
            return None
        return conv2d_maxpool_op(x, conv.kernel, conv.bias, pads, fuse_relu)
    b = None if conv.bias is None else conv.bias.data
    return Tensor(conv2d_maxpool(x.data, conv.kernel.data, b, pads, fuse_relu))
