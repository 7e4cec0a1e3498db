"""The ONNX form of each layer type, for ``svertka.interop.onnx.export_onnx``.

A converter ``(g, layer, node)`` reads the ONNX names of ``node``'s inputs from the graph
``g`` (in the layout it needs: ``g.get(sym, "nchw")``), adds the nodes and initialisers that
compute the layer at inference, and records its output (``g.set``). ``CONVERTERS`` maps each
layer class to its converter, by exact type (``TableConv2D`` is a ``Conv2D`` subclass with
its own rule).
"""

from __future__ import annotations

import math

import numpy as np

from svertka import layers, ops
from svertka.kernels.pad import pad_index
from svertka.layers.conv1d import width_pads
from svertka.ops.resample import aspect_window, resize_matrix
from svertka.ops.shapes import resolve_padding
from svertka.ops.transpose_conv import conv_transpose_geometry

TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


# -- activations ---------------------------------------------------------------------------
def _gelu(g, x, hint, approximate=False):
    if approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [x, x], hint), x], hint)
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(f"{hint}/c", 0.044715)], hint)],
                     hint)
        t = g.op("Tanh", [g.op("Mul", [inner, g.const(f"{hint}/k", math.sqrt(2 / math.pi))],
                               hint)], hint)
    else:  # x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
        t = g.op("Erf", [g.op("Mul", [x, g.const(f"{hint}/k", 1 / math.sqrt(2))], hint)], hint)
    half = g.op("Mul", [x, g.const(f"{hint}/half", 0.5)], hint)
    return g.op("Mul", [half, g.op("Add", [t, g.const(f"{hint}/one", 1.0)], hint)], hint)


def _swish(g, x, hint):
    return g.op("Mul", [x, g.op("Sigmoid", [x], hint)], hint)


def _step(g, x, hint, threshold=0.0, low=0.0, high=1.0):
    above = g.op("Greater", [x, g.const(f"{hint}/threshold", threshold)], hint)
    return g.op("Where", [above, g.const(f"{hint}/high", high), g.const(f"{hint}/low", low)],
                hint)


def _clip(g, x, hint, min_value=-1.0, max_value=1.0):
    return g.op("Clip", [x, g.const(f"{hint}/min", min_value), g.const(f"{hint}/max",
                                                                       max_value)], hint)


def _l2_normalize(g, x, hint, axis=-1, epsilon=1e-12):
    """``x / max(||x||, epsilon)`` along ``axis``, as ``ops.l2_normalize``."""
    norm = g.op("Sqrt", [g.reduce("ReduceSumSquare", x, [axis], hint)], hint)
    return g.op("Div", [x, g.op("Max", [norm, g.const(f"{hint}/eps", epsilon)], hint)], hint)


# name -> builder(g, x, hint, axis, **arguments); ``axis`` is where the channels are
_ACTIVATIONS = {
    "linear": lambda g, x, hint, axis: x,
    "relu": lambda g, x, hint, axis: g.op("Relu", [x], hint),
    "sigmoid": lambda g, x, hint, axis: g.op("Sigmoid", [x], hint),
    "tanh": lambda g, x, hint, axis: g.op("Tanh", [x], hint),
    "softplus": lambda g, x, hint, axis: g.op("Softplus", [x], hint),
    "softsign": lambda g, x, hint, axis: g.op("Softsign", [x], hint),
    "swish": lambda g, x, hint, axis: _swish(g, x, hint),
    "silu": lambda g, x, hint, axis: _swish(g, x, hint),
    "leaky_relu": lambda g, x, hint, axis, alpha=0.2: g.op("LeakyRelu", [x], hint,
                                                           alpha=float(alpha)),
    "elu": lambda g, x, hint, axis, alpha=1.0: g.op("Elu", [x], hint, alpha=float(alpha)),
    "gelu": lambda g, x, hint, axis, approximate=False: _gelu(g, x, hint, approximate),
    "step": lambda g, x, hint, axis: _step(g, x, hint),
    "linear_threshold": lambda g, x, hint, axis, **kw: _clip(g, x, hint, **kw),
    "softmax": lambda g, x, hint, axis: g.op("Softmax", [x], hint, axis=axis),
    "log_softmax": lambda g, x, hint, axis: g.op("LogSoftmax", [x], hint, axis=axis),
}


def _activation(g, layer, x: str, channel_axis: int) -> str:
    """``layer``'s fused activation (None, a name or a function of ``ops.ACTIVATIONS``)
    applied to ``x``, whose channels are on ``channel_axis``."""
    fn = getattr(layer, "_activation", None)
    if fn is None:
        return x
    name = next((n for n, f in ops.ACTIVATIONS.items() if f is fn and n in _ACTIVATIONS), None)
    if name is None:
        raise ValueError(f"export_onnx: layer {layer.name!r} has the activation {fn!r}, which "
                         f"has no ONNX form; supported: {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name](g, x, f"{layer.name}/{name}", channel_axis)


def _channel_axis(g, sym) -> int:
    return 1 if g.layout(sym) == "nchw" else -1


# -- window geometry -----------------------------------------------------------------------
def _window_attrs(layer, shape, kernel, strides, dilation, padding) -> dict:
    """ONNX ``pads`` (top, left, bottom, right) for svertka's padding on inputs of ``shape``,
    or ``auto_pad='SAME_UPPER'`` for 'same' padding on an unknown size (the same rule)."""
    h, w = shape[1:3]
    if (h is None or w is None) and padding == "same":
        return {"auto_pad": "SAME_UPPER"}
    (top, bottom), (left, right) = resolve_padding(padding, (h or 1, w or 1), kernel, strides,
                                                   dilation, type(layer).__name__)
    return {"pads": [top, left, bottom, right]}


def _known_size(layer, shape, what: str) -> None:
    if None in shape[1:3]:
        raise ValueError(f"export_onnx: layer {layer.name!r} ({type(layer).__name__}) with "
                         f"{what} needs a known input height and width, received input shape "
                         f"{shape}")


def _pad_gather(g, layer, x: str, size_hw, pads, mode: str) -> str:
    """x (NCHW) padded by ``pads`` in ``mode`` (not zeros): a Gather of the source indices
    along H, then W."""
    for a, (size, (before, after)) in enumerate(zip(size_hw, pads)):
        if before or after:
            index = g.ints(f"{layer.name}/pad_index", pad_index(size, before, after, mode))
            x = g.op("Gather", [x, index], f"{layer.name}/pad", axis=2 + a)
    return x


# -- converters: each reads its inputs from g, adds nodes and records its output ------------
def _conv2d(g, layer, node):
    kernel = layer.kernel.numpy()
    if isinstance(layer, layers.TableConv2D):
        kernel = kernel * layer.mask
    bias = None if layer.bias is None else layer.bias.numpy()
    y = _conv(g, layer, node.parents[0], kernel, bias)
    g.set(node, _activation(g, layer, y, 1), "nchw")


def _maxout_conv2d(g, layer, node):
    """The convolution to ``filters * pieces`` maps (NCHW), then the element-wise Max of its
    ``pieces`` Gathers along the channels: piece i of unit j is map j*pieces + i."""
    f, k = layer.filters, layer.pieces
    bias = None if layer.bias is None else layer.bias.numpy()
    y = _conv(g, layer, node.parents[0], layer.kernel.numpy(), bias)
    pieces = [g.op("Gather", [y, g.ints(f"{layer.name}/piece", np.arange(f) * k + i)],
                   layer.name, axis=1) for i in range(k)]
    g.set(node, g.op("Max", pieces, layer.name), "nchw")


def _conv(g, layer, x_sym, kernel, bias) -> str:
    """The convolution of ``layer`` (``Conv2D``'s geometry) by ``kernel`` (KH, KW, C, F) and
    ``bias`` (F,) or None, on the input ``x_sym``: the output's name, NCHW."""
    x = g.get(x_sym, "nchw")
    attrs = _window_attrs(layer, x_sym.shape, layer.kernel_size, layer.strides,
                          layer.dilation_rate, layer.padding)
    if layer.padding_mode != "zeros":
        _known_size(layer, x_sym.shape, f"padding_mode={layer.padding_mode!r}")
        top, left, bottom, right = attrs.pop("pads")
        x = _pad_gather(g, layer, x, x_sym.shape[1:3], ((top, bottom), (left, right)),
                        layer.padding_mode)
    w = g.const(f"{layer.name}/kernel", kernel.transpose(3, 2, 0, 1))  # HWIO -> OIHW
    inputs = [x, w] + ([g.const(f"{layer.name}/bias", bias)] if bias is not None else [])
    return g.op("Conv", inputs, layer.name, kernel_shape=list(layer.kernel_size),
                strides=list(layer.strides), dilations=list(layer.dilation_rate),
                group=getattr(layer, "groups", 1), **attrs)


def _depthwise(g, layer, x, shape, kernel, bias) -> str:
    """The depthwise convolution of x (NCHW) by ``kernel`` (KH, KW, C, M): a grouped
    convolution with C groups, output channel c*M + m (svertka's and Keras's order)."""
    kh, kw, c, m = kernel.shape
    w = g.const(f"{layer.name}/depthwise_kernel",
                kernel.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw))  # (C*M, 1, KH, KW)
    inputs = [x, w] + ([g.const(f"{layer.name}/bias", bias)] if bias is not None else [])
    return g.op("Conv", inputs, f"{layer.name}/depthwise", kernel_shape=[kh, kw],
                strides=list(layer.strides), dilations=list(layer.dilation_rate), group=c,
                **_window_attrs(layer, shape, layer.kernel_size, layer.strides,
                                layer.dilation_rate, layer.padding))


def _depthwise_conv2d(g, layer, node):
    x_sym = node.parents[0]
    bias = None if layer.bias is None else layer.bias.numpy()
    y = _depthwise(g, layer, g.get(x_sym, "nchw"), x_sym.shape, layer.kernel.numpy(), bias)
    g.set(node, _activation(g, layer, y, 1), "nchw")


def _separable_conv2d(g, layer, node):
    x_sym = node.parents[0]
    y = _depthwise(g, layer, g.get(x_sym, "nchw"), x_sym.shape,
                   layer.depthwise_kernel.numpy(), None)
    inputs = [y, g.const(f"{layer.name}/pointwise_kernel",
                         layer.pointwise_kernel.numpy().transpose(3, 2, 0, 1))]
    if layer.bias is not None:
        inputs.append(g.const(f"{layer.name}/bias", layer.bias.numpy()))
    y = g.op("Conv", inputs, f"{layer.name}/pointwise", kernel_shape=[1, 1])
    g.set(node, _activation(g, layer, y, 1), "nchw")


def _conv2d_transpose(g, layer, node):
    x_sym = node.parents[0]
    _known_size(layer, x_sym.shape, "its output size fixed at export")
    size_hw = x_sym.shape[1:3]
    out_hw, pads = conv_transpose_geometry(size_hw, layer.kernel_size, layer.strides,
                                           layer.dilation_rate, layer.padding,
                                           layer.output_padding)
    begin, end, extra = [], [], []
    for a in range(2):  # crop ``before`` off the full length L, then end at the output size
        full = ((size_hw[a] - 1) * layer.strides[a]
                + layer.dilation_rate[a] * (layer.kernel_size[a] - 1) + 1)
        crop_end = full - pads[a][0] - out_hw[a]
        begin.append(pads[a][0])
        end.append(max(crop_end, 0))
        extra.append(max(-crop_end, 0))
    w = g.const(f"{layer.name}/kernel", layer.kernel.numpy().transpose(3, 2, 0, 1))  # (C, F, ..)
    inputs = [g.get(x_sym, "nchw"), w]
    if layer.bias is not None:
        inputs.append(g.const(f"{layer.name}/bias", layer.bias.numpy()))
    y = g.op("ConvTranspose", inputs, layer.name, kernel_shape=list(layer.kernel_size),
             strides=list(layer.strides), dilations=list(layer.dilation_rate),
             pads=begin + end, output_padding=extra)
    g.set(node, _activation(g, layer, y, 1), "nchw")


def _dense(g, layer, node):
    y = g.op("MatMul", [g.get(node.parents[0], "nhwc"),
                        g.const(f"{layer.name}/kernel", layer.kernel.numpy())], layer.name)
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(f"{layer.name}/bias", layer.bias.numpy())], layer.name)
    g.set(node, _activation(g, layer, y, -1))


def _maxout(g, layer, node):
    x_sym = node.parents[0]
    y = g.op("MatMul", [g.get(x_sym, "nhwc"),
                        g.const(f"{layer.name}/kernel", layer.kernel.numpy())], layer.name)
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(f"{layer.name}/bias", layer.bias.numpy())], layer.name)
    # unit j is the max of the consecutive channels j*pieces ... : (..., units, pieces)
    shape = g.ints(f"{layer.name}/shape", [0] * (len(x_sym.shape) - 1)
                   + [layer.units, layer.pieces])
    y = g.op("Reshape", [y, shape], layer.name)
    g.set(node, g.reduce("ReduceMax", y, [-1], layer.name, keepdims=0))


def _flatten(g, layer, node):
    g.set(node, g.op("Flatten", [g.get(node.parents[0], "nhwc")], layer.name, axis=1))


def _reshape(g, layer, node):
    shape = g.ints(f"{layer.name}/shape", [0, *layer.target_shape])  # 0: keep the batch
    g.set(node, g.op("Reshape", [g.get(node.parents[0], "nhwc"), shape], layer.name))


def _identity(g, layer, node):
    g.values[id(node)] = g.values[id(node.parents[0])]  # one value, shared transposes


def _elementwise(build):
    """A converter for a layer that acts on each value alone: it keeps its input's layout;
    ``build(g, layer, x, channel_axis)`` makes the output."""
    def convert(g, layer, node):
        x_sym = node.parents[0]
        layout = g.layout(x_sym)
        g.set(node, build(g, layer, g.get(x_sym, layout), _channel_axis(g, x_sym)), layout)
    return convert


def _activation_layer(g, layer, x, axis):
    return _activation(g, layer, x, axis)


def _rescaling(g, layer, x, axis):
    y = g.op("Mul", [x, g.const(f"{layer.name}/scale", layer.scale)], layer.name)
    if layer.offset:
        y = g.op("Add", [y, g.const(f"{layer.name}/offset", layer.offset)], layer.name)
    return y


def _prelu(g, layer, node):
    # the slope broadcasts over the trailing axes of the NHWC input, as in ops.prelu
    slope = g.const(f"{layer.name}/alpha", layer.alpha.numpy())
    g.set(node, g.op("PRelu", [g.get(node.parents[0], "nhwc"), slope], layer.name))


def _softmax(g, layer, node):
    x_sym = node.parents[0]
    axis = layer.axis % len(x_sym.shape)
    g.set(node, g.op("Softmax", [g.get(x_sym, "nhwc")], layer.name, axis=axis))


def _batch_norm(g, layer, node):
    x_sym = node.parents[0]
    c = layer.moving_mean.shape[0]
    gamma = np.ones(c, np.float32) if layer.gamma is None else layer.gamma.numpy()
    beta = np.zeros(c, np.float32) if layer.beta is None else layer.beta.numpy()
    mean, var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    if len(x_sym.shape) in (2, 4):  # ONNX's BatchNormalization: channels on axis 1
        layout = "nchw" if len(x_sym.shape) == 4 else "nhwc"
        inputs = [g.get(x_sym, layout)] + [g.const(f"{layer.name}/{n}", v) for n, v in (
            ("gamma", gamma), ("beta", beta), ("moving_mean", mean), ("moving_variance", var))]
        g.set(node, g.op("BatchNormalization", inputs, layer.name, epsilon=layer.epsilon),
              layout)
        return
    # other ranks: channels last, the statistics folded into one scale and shift
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + layer.epsilon)
    shift = beta - mean * scale
    y = g.op("Mul", [g.get(x_sym, "nhwc"), g.const(f"{layer.name}/scale", scale)], layer.name)
    g.set(node, g.op("Add", [y, g.const(f"{layer.name}/shift", shift)], layer.name))


def _lrn(g, layer, node):
    x_sym = node.parents[0]
    size, alpha, beta, k = layer.size, layer.alpha, layer.beta, layer.k
    if size % 2 and len(x_sym.shape) == 4:  # ONNX's LRN centres an odd window as PyTorch
        g.set(node, g.op("LRN", [g.get(x_sym, "nchw")], layer.name, size=size, alpha=alpha,
                         beta=beta, bias=k), "nchw")
        return
    # PyTorch's window: size // 2 channels before, (size - 1) // 2 after; as a band matrix
    x = g.get(x_sym, "nhwc")
    c = x_sym.shape[-1]
    i = np.arange(c)
    band = ((i[:, None] >= i[None, :] - size // 2)
            & (i[:, None] <= i[None, :] + (size - 1) // 2))  # band[c', c]: c' in window(c)
    sums = g.op("MatMul", [g.op("Mul", [x, x], layer.name),
                           g.const(f"{layer.name}/window", band)], layer.name)
    den = g.op("Add", [g.op("Mul", [sums, g.const(f"{layer.name}/alpha", alpha / size)],
                            layer.name), g.const(f"{layer.name}/k", k)], layer.name)
    den = g.op("Pow", [den, g.const(f"{layer.name}/beta", beta)], layer.name)
    g.set(node, g.op("Div", [x, den], layer.name))


def _standardize(g, layer, x, axes, hint):
    """(x - mean) / sqrt(var + epsilon) over ``axes``, the biased variance."""
    d = g.op("Sub", [x, g.reduce("ReduceMean", x, axes, hint)], hint)
    var = g.reduce("ReduceMean", g.op("Mul", [d, d], hint), axes, hint)
    std = g.op("Sqrt", [g.op("Add", [var, g.const(f"{hint}/eps", layer.epsilon)], hint)], hint)
    return g.op("Div", [d, std], hint)


def _affine(g, layer, y, shape):
    """y * gamma + beta, each (when present) reshaped to broadcast as ``shape``."""
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(f"{layer.name}/gamma", layer.gamma.numpy().reshape(shape))],
                 layer.name)
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(f"{layer.name}/beta", layer.beta.numpy().reshape(shape))],
                 layer.name)
    return y


def _layer_norm(g, layer, node):
    x_sym = node.parents[0]
    rank = len(x_sym.shape)
    axes = layer._axes(x_sym.shape)
    y = _standardize(g, layer, g.get(x_sym, "nhwc"), axes, layer.name)
    shape = [x_sym.shape[a] if a in axes else 1 for a in range(1, rank)]
    g.set(node, _affine(g, layer, y, shape))


def _group_norm(g, layer, node):
    x_sym = node.parents[0]
    x = g.get(x_sym, "nhwc")
    c = x_sym.shape[-1]
    grouped = g.op("Reshape", [x, g.ints(f"{layer.name}/groups",
                                         [0, -1, layer.groups, c // layer.groups])],
                   layer.name)  # (N, L, G, C/G): channel c in group c // (C/G)
    y = _standardize(g, layer, grouped, [1, 3], layer.name)
    y = g.op("Reshape", [y, g.op("Shape", [x], layer.name)], layer.name)
    g.set(node, _affine(g, layer, y, [c]))


def _pool(onnx_op, extra=None):
    """A converter for windowed pooling by ``onnx_op`` (on NCHW); ``extra(g, layer, y)``
    finishes (SumPooling's scaling)."""
    def convert(g, layer, node):
        x_sym = node.parents[0]
        attrs = _window_attrs(layer, x_sym.shape, layer.pool_size, layer.strides, (1, 1),
                              layer.padding)
        if onnx_op == "AveragePool":  # padded cells are not counted (SumPool: they add 0)
            attrs["count_include_pad"] = int(extra is not None)
        x = g.get(x_sym, "nchw")
        if layer.__class__ is layers.MinPooling2D:
            x = g.op("Neg", [x], layer.name)
        y = g.op(onnx_op, [x], layer.name, kernel_shape=list(layer.pool_size),
                 strides=list(layer.strides), **attrs)
        if layer.__class__ is layers.MinPooling2D:
            y = g.op("Neg", [y], layer.name)
        g.set(node, y if extra is None else extra(g, layer, y), "nchw")
    return convert


def _times_window(g, layer, y):
    return g.op("Mul", [y, g.const(f"{layer.name}/window", math.prod(layer.pool_size))],
                layer.name)


def _global_pool(onnx_op):
    def convert(g, layer, node):
        y = g.op(onnx_op, [g.get(node.parents[0], "nchw")], layer.name)  # (N, C, 1, 1)
        if layer.keepdims:
            g.set(node, y, "nchw")
        else:
            g.set(node, g.op("Flatten", [y], layer.name, axis=1))
    return convert


def _merge(op_type: str, variadic: bool = True):
    """A merge of inputs of one shape (Add, Average, ...) as one ONNX op: a variadic one (Sum,
    Mean, Max, Min) takes them all, a binary one (Sub, Mul) is chained left to right."""
    def convert(g, layer, node):
        layout = g.layout(node.parents[0])
        xs = [g.get(p, layout) for p in node.parents]
        if variadic:
            y = g.op(op_type, xs, layer.name)
        else:
            y = xs[0]
            for x in xs[1:]:
                y = g.op(op_type, [y, x], layer.name)
        g.set(node, y, layout)
    return convert


_ARITHMETIC = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div"}


def _arithmetic(g, layer, node):
    """svertka's Arithmetic (symbolic ``x + 2``, ``a / b``): one binary ONNX op, the constant
    (if any) an initializer on its side of the operator."""
    layout = g.layout(node.parents[0])
    xs = [g.get(p, layout) for p in node.parents]
    if layer.constant is not None:
        c = g.const(f"{layer.name}/constant", layer.constant)
        xs = [c, xs[0]] if layer.reverse else [xs[0], c]
    g.set(node, g.op(_ARITHMETIC[layer.op], xs, layer.name), layout)


def _concatenate(g, layer, node):
    rank = len(node.parents[0].shape)
    axis = layer.axis % rank
    layout = g.layout(node.parents[0])
    if layout == "nchw":
        axis = TO_NCHW.index(axis)
    g.set(node, g.op("Concat", [g.get(p, layout) for p in node.parents], layer.name,
                     axis=axis), layout)


def _upsampling(g, layer, node):
    sh, sw = layer.size
    if layer.interpolation == "nearest":  # each pixel repeated: floor(o / S)
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
                 "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    scales = g.const(f"{layer.name}/scales", [1.0, 1.0, sh, sw])
    g.set(node, g.op("Resize", [g.get(node.parents[0], "nchw"), "", scales], layer.name,
                     **attrs), "nchw")


def _zero_padding(g, layer, node):
    (top, bottom), (left, right) = layer.padding
    pads = g.ints(f"{layer.name}/pads", [0, 0, top, left, 0, 0, bottom, right])
    g.set(node, g.op("Pad", [g.get(node.parents[0], "nchw"), pads], layer.name), "nchw")


def _cropping(g, layer, node):
    (top, bottom), (left, right) = layer.cropping
    big = np.iinfo(np.int64).max
    starts = g.ints(f"{layer.name}/starts", [top, left])
    ends = g.ints(f"{layer.name}/ends", [-bottom if bottom else big, -right if right else big])
    axes = g.ints(f"{layer.name}/axes", [2, 3])
    g.set(node, g.op("Slice", [g.get(node.parents[0], "nchw"), starts, ends, axes],
                     layer.name), "nchw")


def _identity_shortcut(g, layer, node):
    x_sym = node.parents[0]
    s, c = layer.strides, x_sym.shape[-1]
    y = g.get(x_sym, "nchw")
    if s > 1:  # every s-th pixel: x[:, :, ::s, ::s]
        big = np.iinfo(np.int64).max
        y = g.op("Slice", [y, g.ints(f"{layer.name}/starts", [0, 0]),
                           g.ints(f"{layer.name}/ends", [big, big]),
                           g.ints(f"{layer.name}/axes", [2, 3]),
                           g.ints(f"{layer.name}/steps", [s, s])], layer.name)
    lo = (layer.filters - c) // 2  # zero channels around x's, the odd one after
    if layer.filters > c:
        pads = g.ints(f"{layer.name}/pads", [0, lo, 0, 0, 0, layer.filters - c - lo, 0, 0])
        y = g.op("Pad", [y, pads], layer.name)
    g.set(node, y, "nchw")


def _netvlad(g, layer, node):
    """``ops.netvlad`` written out (see svertka.ops.netvlad for the maths)."""
    x_sym = node.parents[0]
    name, d = layer.name, x_sym.shape[-1]
    x = g.op("Reshape", [g.get(x_sym, "nhwc"), g.ints(f"{name}/descriptors", [0, -1, d])],
             name)  # (N, L, D)
    if layer.normalize_input:
        x = _l2_normalize(g, x, f"{name}/normalize_input")
    scores = g.op("Add", [g.op("MatMul", [x, g.const(f"{name}/kernel", layer.kernel.numpy())],
                               name), g.const(f"{name}/bias", layer.bias.numpy())], name)
    a = g.op("Softmax", [scores], name, axis=2)  # (N, L, K) soft assignments
    vlad = g.op("MatMul", [g.op("Transpose", [a], name, perm=[0, 2, 1]), x], name)  # (N, K, D)
    mass = g.reduce("ReduceSum", a, [1], name)  # (N, 1, K)
    mass = g.op("Transpose", [mass], name, perm=[0, 2, 1])  # (N, K, 1)
    residual = g.op("Mul", [mass, g.const(f"{name}/centroids", layer.centroids.numpy())], name)
    v = _l2_normalize(g, g.op("Sub", [vlad, residual], name), f"{name}/intra")
    v = g.op("Flatten", [v], name, axis=1)  # (N, K*D)
    g.set(node, _l2_normalize(g, v, f"{name}/l2"))


def _lambda(g, layer, node):
    fn, kwargs = layer.function, dict(layer.arguments)
    name = next((n for n, f in ops.ACTIVATIONS.items() if f is fn and n in _ACTIVATIONS), None)
    if node.many or (name is None and fn is not ops.l2_normalize):
        raise ValueError(
            f"export_onnx: Lambda layer {layer.name!r} applies {fn!r}, which has no ONNX form; "
            f"supported functions: l2_normalize and the activations {sorted(_ACTIVATIONS)}")
    x = g.get(node.parents[0], "nhwc")
    if fn is ops.l2_normalize:
        g.set(node, _l2_normalize(g, x, layer.name, **kwargs))
        return
    axis = kwargs.pop("axis", -1)
    g.set(node, _ACTIVATIONS[name](g, x, layer.name, axis, **kwargs))


def _with(build):
    return _elementwise(lambda g, layer, x, axis: build(g, layer, x))


def _center_window(g, layer, node, x, top, left, height, width, hint):
    """Slice rows [top, top + height) and cols [left, left + width) of x (NCHW)."""
    starts = g.ints(f"{hint}/starts", [top, left])
    ends = g.ints(f"{hint}/ends", [top + height, left + width])
    axes = g.ints(f"{hint}/axes", [2, 3])
    return g.op("Slice", [x, starts, ends, axes], hint)


def _resize_to(g, layer, x, in_hw, out_hw, interpolation, hint):
    """x (NCHW, known H, W) resized to out_hw as svertka does: ``A_h x A_w^T``, two MatMuls
    with the constant matrices of ``resize_matrix`` (exact for 'bilinear' and 'nearest')."""
    if tuple(in_hw) == tuple(out_hw):
        return x
    a_h = resize_matrix(in_hw[0], out_hw[0], interpolation).astype(np.float32)
    a_w = resize_matrix(in_hw[1], out_hw[1], interpolation).astype(np.float32)
    x = g.op("MatMul", [x, g.const(f"{hint}/a_w_t", a_w.T)], hint)  # (N, C, H, OW)
    return g.op("MatMul", [g.const(f"{hint}/a_h", a_h), x], hint)  # (N, C, OH, OW)


def _known_hw(layer, node):
    h, w = node.parents[0].shape[1:3]
    if h is None or w is None:
        raise ValueError(f"export_onnx: layer {layer.name!r} ({type(layer).__name__}) needs a "
                         f"known image size; the model's input has height {h} and width {w}")
    return h, w


def _resizing(g, layer, node):
    h, w = _known_hw(layer, node)
    x = g.get(node.parents[0], "nchw")
    size = (layer.height, layer.width)
    if layer.crop_to_aspect_ratio:
        top, left, ch, cw = aspect_window((h, w), size)
        x = _center_window(g, layer, node, x, top, left, ch, cw, f"{layer.name}/crop")
        h, w = ch, cw
    elif layer.pad_to_aspect_ratio:
        ph, pw = int(float(w * size[0]) / size[1]), int(float(h * size[1]) / size[0])
        top, left = max(int(float(ph - h) / 2), 0), max(int(float(pw - w) / 2), 0)
        if top or left:
            pads = g.ints(f"{layer.name}/pads", [0, 0, top, left, 0, 0, top, left])
            value = g.const(f"{layer.name}/fill", layer.fill_value)
            x = g.op("Pad", [x, pads, value], layer.name)
            h, w = h + 2 * top, w + 2 * left
    y = _resize_to(g, layer, x, (h, w), size, layer.interpolation, layer.name)
    # integer inputs are rounded by the layer; ONNX inputs are float32, so nothing to do
    g.set(node, y, "nchw")


def _center_crop(g, layer, node):
    h, w = _known_hw(layer, node)
    x = g.get(node.parents[0], "nchw")
    size = (layer.height, layer.width)
    if h >= size[0] and w >= size[1]:
        y = _center_window(g, layer, node, x, (h - size[0]) // 2, (w - size[1]) // 2, *size,
                           layer.name)
    else:
        top, left, ch, cw = aspect_window((h, w), size)
        y = _center_window(g, layer, node, x, top, left, ch, cw, f"{layer.name}/crop")
        y = _resize_to(g, layer, y, (ch, cw), size, "bilinear", layer.name)
    g.set(node, y, "nchw")


def _to_ncl(g, x, hint):
    return g.op("Transpose", [x], f"{hint}/to_ncl", perm=[0, 2, 1])


def _to_nlc(g, y, hint):
    return g.op("Transpose", [y], f"{hint}/to_nlc", perm=[0, 2, 1])


def _window_attrs_1d(layer, length, kernel, stride, dilation):
    """ONNX ``pads`` [left, right] for the layer's padding on ``length`` steps, or SAME_UPPER
    for 'same' on an unknown length (the same rule: the odd step at the end)."""
    if length is None and layer.padding == "same":
        return {"auto_pad": "SAME_UPPER"}
    left, right = width_pads(type(layer).__name__, layer.padding, length, kernel, stride,
                              dilation)
    return {"pads": [left, right]}


def _conv1d(g, layer, node):
    x_sym = node.parents[0]
    x = _to_ncl(g, g.get(x_sym, "nhwc"), layer.name)
    w = g.const(f"{layer.name}/kernel", layer.kernel.numpy().transpose(2, 1, 0))  # KIO -> OIK
    inputs = [x, w] + ([g.const(f"{layer.name}/bias", layer.bias.numpy())]
                       if layer.bias is not None else [])
    y = g.op("Conv", inputs, layer.name, kernel_shape=[layer.kernel_size],
             strides=[layer.strides], dilations=[layer.dilation_rate], group=layer.groups,
             **_window_attrs_1d(layer, x_sym.shape[1], layer.kernel_size, layer.strides,
                                layer.dilation_rate))
    y = _activation(g, layer, y, 1)  # noqa: F821 - onnx_layers._activation
    g.set(node, _to_nlc(g, y, layer.name))


def _pool1d(onnx_op):
    def convert(g, layer, node):
        x_sym = node.parents[0]
        attrs = _window_attrs_1d(layer, x_sym.shape[1], layer.pool_size, layer.strides, 1)
        if onnx_op == "AveragePool":  # padded steps are not counted
            attrs["count_include_pad"] = 0
        x = _to_ncl(g, g.get(x_sym, "nhwc"), layer.name)
        y = g.op(onnx_op, [x], layer.name, kernel_shape=[layer.pool_size],
                 strides=[layer.strides], **attrs)
        g.set(node, _to_nlc(g, y, layer.name))
    return convert


def _global_pool1d(reduce_op):
    def convert(g, layer, node):
        x = g.get(node.parents[0], "nhwc")
        g.set(node, g.reduce(reduce_op, x, [1], layer.name, keepdims=int(layer.keepdims)))
    return convert


def _embedding(g, layer, node):
    """A Gather of table rows; the graph's float input holds the ids, cast to int64."""
    ids = g.op("Cast", [g.get(node.parents[0], "nhwc")], f"{layer.name}/ids",
               to=g.onnx.TensorProto.INT64)
    table = g.const(f"{layer.name}/embeddings", layer.embeddings.numpy())
    g.set(node, g.op("Gather", [table, ids], layer.name, axis=0))


CONVERTERS = {
    layers.Conv2D: _conv2d,
    layers.TableConv2D: _conv2d,
    layers.Dense: _dense,
    layers.Flatten: _flatten,
    layers.Resizing: _resizing,
    layers.CenterCrop: _center_crop,
    layers.RandomFlip: _identity,
    layers.RandomRotation: _identity,
    layers.RandomZoom: _identity,
    layers.RandomTranslation: _identity,
    layers.RandomContrast: _identity,
    layers.Conv1D: _conv1d,
    layers.MaxPooling1D: _pool1d("MaxPool"),
    layers.AveragePooling1D: _pool1d("AveragePool"),
    layers.GlobalAveragePooling1D: _global_pool1d("ReduceMean"),
    layers.GlobalMaxPooling1D: _global_pool1d("ReduceMax"),
    layers.Embedding: _embedding,
    layers.Dropout: _identity,
    layers.Activation: _elementwise(_activation_layer),
    layers.MaxPooling2D: _pool("MaxPool"),
    layers.AveragePooling2D: _pool("AveragePool"),
    layers.SumPooling2D: _pool("AveragePool", _times_window),
    layers.MinPooling2D: _pool("MaxPool"),
    layers.GlobalAveragePooling2D: _global_pool("GlobalAveragePool"),
    layers.GlobalMaxPooling2D: _global_pool("GlobalMaxPool"),
    layers.BatchNormalization: _batch_norm,
    layers.LocalResponseNormalization: _lrn,
    layers.Add: _merge("Sum"),
    layers.Subtract: _merge("Sub", variadic=False),
    layers.Multiply: _merge("Mul", variadic=False),
    layers.Average: _merge("Mean"),
    layers.Maximum: _merge("Max"),
    layers.Minimum: _merge("Min"),
    layers.Arithmetic: _arithmetic,
    layers.IdentityShortcut: _identity_shortcut,
    layers.ZeroPadding2D: _zero_padding,
    layers.NetVLAD: _netvlad,
    layers.Lambda: _lambda,
    layers.Rescaling: _elementwise(_rescaling),
    layers.ReLU: _with(lambda g, layer, x: g.op("Relu", [x], layer.name)),
    layers.LeakyReLU: _with(lambda g, layer, x: g.op("LeakyRelu", [x], layer.name,
                                                     alpha=layer.alpha)),
    layers.ELU: _with(lambda g, layer, x: g.op("Elu", [x], layer.name, alpha=layer.alpha)),
    layers.GELU: _with(lambda g, layer, x: _gelu(g, x, layer.name, layer.approximate)),
    layers.Step: _with(lambda g, layer, x: _step(g, x, layer.name, layer.threshold, layer.low,
                                                 layer.high)),
    layers.LinearThreshold: _with(lambda g, layer, x: _clip(g, x, layer.name, layer.low,
                                                            layer.high)),
    layers.PReLU: _prelu,
    layers.Softmax: _softmax,
    layers.Maxout: _maxout,
    layers.MaxoutConv2D: _maxout_conv2d,
    layers.Reshape: _reshape,
    layers.Concatenate: _concatenate,
    layers.DepthwiseConv2D: _depthwise_conv2d,
    layers.SeparableConv2D: _separable_conv2d,
    layers.Conv2DTranspose: _conv2d_transpose,
    layers.UpSampling2D: _upsampling,
    layers.Cropping2D: _cropping,
    layers.LayerNormalization: _layer_norm,
    layers.GroupNormalization: _group_norm,
}
