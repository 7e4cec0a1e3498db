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

At inference a ``Conv2D`` (no activation of its own) whose output goes only to a
``BatchNormalization``, and that one's, if so, only to a ReLU, runs as one convolution with
the normalisation folded into its weights, the ReLU applied in the convolution's own pass
(:func:`conv_bn`): with the moving statistics fixed, ``gamma (conv(x) + b - mean) /
sqrt(var + eps) + beta`` is ``conv(x)`` with each filter scaled by ``s = gamma / sqrt(var +
eps)`` and the bias ``(b - mean) s + beta``. Why: ResNet and VGG-BN put one normalisation and
one ReLU after every convolution, two more passes over every feature map; this saves them
(``docs/performance.md``). Training, which normalises with the batch's statistics, runs the
layers as they are.

An ``Add`` of two inputs whose only reader is a ReLU runs as ``svertka.ops.add_relu``, and a
``BatchNormalization`` whose only reader is a ReLU as one ``ops.batch_norm(..., relu=True)``,
in training and inference alike (:func:`relu_pairs`; at inference the folding above goes
first): one pass and one array fewer each, the same values and gradients.
"""

from __future__ import annotations

import numpy as np

from svertka.autograd import Tensor
from svertka.backend import get_array_module
from svertka.kernels import memo
from svertka.layers.activations import ReLU
from svertka.layers.convolutional import Conv2D
from svertka.layers.core import Activation
from svertka.layers.merge import Add
from svertka.layers.normalization import BatchNormalization
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


def _consumers(nodes) -> dict:
    consumers: dict[int, list] = {}
    for node in nodes:
        for parent in node.parents:
            consumers.setdefault(id(parent), []).append(node)
    return consumers


def _only_user(node, consumers, outputs):
    """The one node that reads ``node``'s output, or None (several, none, or a model output)."""
    users = consumers.get(id(node), [])
    if len(users) != 1 or users[0].many or any(o is node for o in outputs):
        return None
    return users[0]


def _is_relu(layer) -> bool:
    return type(layer) is ReLU or (type(layer) is Activation
                                   and get_activation(layer.activation) is relu)


def batch_norm_chains(nodes, outputs) -> dict:
    """``{id(conv node): (batch-norm node, ReLU node or None)}`` for every Conv2D without an
    activation whose only reader is a BatchNormalization (on the channels), itself read,
    if so, by a ReLU only."""
    consumers = _consumers(nodes)
    found = {}
    for node in nodes:
        bn = _only_user(node, consumers, outputs)
        if (bn is None or type(node.layer) is not Conv2D or type(bn.layer) is not
                BatchNormalization or get_activation(node.layer.activation) is not linear):
            continue
        act = _only_user(bn, consumers, outputs)
        found[id(node)] = (bn, act if act is not None and _is_relu(act.layer) else None)
    return found


def relu_pairs(nodes, outputs) -> dict:
    """``{id(node): ReLU node}`` for every two-input ``Add`` and every
    ``BatchNormalization`` whose only reader is a ReLU."""
    consumers = _consumers(nodes)
    found = {}
    for node in nodes:
        kind = type(node.layer)
        if not (kind is BatchNormalization or (kind is Add and len(node.parents) == 2)):
            continue
        act = _only_user(node, consumers, outputs)
        if act is not None and _is_relu(act.layer):
            found[id(node)] = act
    return found


def with_relu(layer, args, training: bool) -> Tensor:
    """``relu(layer(args))`` by one op, for a pair of :func:`relu_pairs`."""
    from svertka import ops

    if type(layer) is Add:
        return ops.add_relu(*args)
    x = args[0]
    layer._ensure_built((None, *x.shape[1:]))
    return layer.call(x, training=training, relu=True)


def fold(kernel, conv_bias, gamma, beta, mean, var, epsilon):
    """The filters and bias of a convolution with a batch normalisation folded in (see the
    module docstring), in the kernel's dtype: ``(kernel * s, (conv_bias - mean) s + beta)``
    with ``s = gamma / sqrt(var + epsilon)``; None for an absent bias, gamma or beta."""
    xp = get_array_module(kernel)
    scale = 1 / xp.sqrt(var.astype(np.float64) + epsilon)
    if gamma is not None:
        scale = scale * gamma
    bias = -mean * scale
    if conv_bias is not None:
        bias = bias + conv_bias * scale
    if beta is not None:
        bias = bias + beta
    folded = kernel * scale.astype(kernel.dtype)  # in the kernel's dtype: no float64 copy
    return folded, bias.astype(kernel.dtype)


def _data(t):
    return None if t is None else t.data


def conv_bn(conv: Conv2D, bn: BatchNormalization, with_relu: bool, x: Tensor) -> Tensor:
    """``relu(bn(conv(x)))`` (or ``bn(conv(x))``) at inference, as one convolution with the
    normalisation folded into its weights (see the module docstring). The folded weights
    are kept while the layers' weights and statistics hold (:mod:`svertka.kernels.memo`), so
    a model called on one image after another folds them once."""
    from svertka import ops

    folded, bias = memo.derived(fold, (conv.kernel.data, _data(conv.bias), _data(bn.gamma),
                                       _data(bn.beta), bn.moving_mean.data,
                                       bn.moving_variance.data), (bn.epsilon,))
    return ops.conv2d(x, Tensor(folded), Tensor(bias), conv.strides,
                      conv.padding, conv.padding_mode, conv.dilation_rate,
                      activation="relu" if with_relu else None, groups=conv.groups)


def pairs(nodes, outputs) -> dict:
    """``{id(conv node): pool node}`` for every fusable Conv2D -> MaxPooling2D pair among the
    graph ``nodes``: the pooling is the only consumer of the convolution, whose output is
    not a model output."""
    consumers = _consumers(nodes)
    found = {}
    for node in nodes:
        user = _only_user(node, consumers, outputs)
        if user is not None and _fusable(node.layer, user.layer):
            found[id(node)] = user
    return found


def maxpool_pads(conv: Conv2D, pool: MaxPooling2D, size) -> tuple | None:
    """The convolution's padding, resolved, where the fused op can run the pair on inputs of
    height and width ``size``; None where the layers must run one by one: padding the op
    does not do (a 'same' pooling of an odd size, a non-zero fill of the convolution's
    padding), or a map too small for a window (the layers raise their own errors)."""
    pads = resolve_padding(conv.padding, size, (3, 3), UNIT, UNIT, "Conv2D")
    if pads != NO_PADS and conv.padding_mode != "zeros":
        return None
    conv_hw = tuple(conv_output_size(size[a], 3, padding=sum(pads[a])) for a in range(2))
    if min(conv_hw) < 2:
        return None
    if resolve_padding(pool.padding, conv_hw, (2, 2), (2, 2), UNIT, "MaxPooling2D") != NO_PADS:
        return None
    return pads


def conv_maxpool(conv: Conv2D, pool: MaxPooling2D, x: Tensor) -> Tensor | None:
    """The pooled output of ``pool(conv(x))`` by the fused op; None where the layers must
    run one by one: :func:`maxpool_pads` says no, or, with gradients on, no fused kernel can
    train this pair (see the module docstring)."""
    pads = maxpool_pads(conv, pool, tuple(x.shape[1:3]))
    return None if pads is None else conv.call_maxpooled(x, pads)
