"""2-D transposed convolution of channels-last images, differentiable in x, w and b.

Shape legend:

    x   (N, H, W, C)         input             w   (KH, KW, F, C)   filters (Keras's layout)
    y   (N, OH, OW, F)       output            b   (F,)             biases
    gy  like y               upstream grad

A transposed convolution is the adjoint of a convolution: the convolution ``conv`` with the
same filters, strides, dilation and padding maps an (N, OH, OW, F) image to (N, H, W, C),
and ``conv_transpose(x) = conv^T(x)``, so that ``<conv(z), x> = <z, conv_transpose(x)>``
for every z. Read as a scatter (:func:`naive_conv_transpose`), each input pixel adds its
filter-weighted copy of the kernel into the output at ``stride`` steps:

    full[n, i*SH + kh*DH, j*SW + kw*DW, f] += x[n, i, j, c] * w[kh, kw, f, c]

``full`` has ``L = (I-1)*S + D*(K-1) + 1`` pixels per axis; the output is ``full`` with
``before`` pixels cropped at the top/left and cut (or zero-extended) to ``O`` pixels, where
``(before, after)`` is the padding of the matching convolution (:func:`transpose_output_axis`).

So the kernels are the convolution's own (``svertka.kernels.conv``), with the roles swapped:
forward is the convolution's input gradient (col2im of ``x @ w2d.T``), and backward is a
convolution of gy (for gx) and the convolution's weight gradient with gy as its input and x
as its output gradient (for gw).
"""

from __future__ import annotations

import numpy as np

from svertka.autograd import Function, Tensor
from svertka.kernels.conv import Im2colCache, conv2d_backward, conv2d_forward, gemm_backward
from svertka.kernels.jit import usable
from svertka.kernels.shapes import effective_kernel, pair, resolve_padding
from svertka.ops._inputs import float_inputs
from svertka.ops.activations import get_activation, linear
from svertka.ops.padding import image_shape

PADDINGS = ("valid", "same")


# -- geometry: one rule, for the op, the layer and its compute_output_shape -------------------
def transpose_output_axis(size: int, kernel: int, stride: int = 1, dilation: int = 1,
                          padding="valid", output_padding: int | None = None):
    """``(O, (before, after))`` along one axis: the output size, and the padding of the
    convolution whose adjoint this is (``before`` is also the crop at the top/left).

    Keras's sizes (``L = (I-1)*S + D*(K-1) + 1``, the uncropped length):

    - ``'valid'``: ``I*S + max(D*(K-1) + 1 - S, 0)``, or ``L + output_padding`` when given;
      nothing is cropped.
    - ``'same'``: ``I*S``, or ``L - 2*((D*(K-1) + 1) // 2) + output_padding`` when given; the
      ``L - O`` extra pixels are cropped as the convolution's 'same' pads them, the odd one at
      the bottom/right (TensorFlow's rule: the adjoint of ``conv2d(padding='same')``).
    - ``(before, after)``: those crops (PyTorch's ``padding``, given per side), plus
      ``output_padding`` (default 0) more at the bottom/right: ``L - before - after + op``.

    >>> transpose_output_axis(4, 3, stride=2, padding="same")
    (8, (0, 1))
    >>> transpose_output_axis(4, 3, stride=2)
    (9, (0, 0))
    """
    span = effective_kernel(kernel, dilation)
    full = (size - 1) * stride + span
    if padding == "valid":
        before = 0
        out = size * stride + max(span - stride, 0) if output_padding is None else (
            full + output_padding)
    elif padding == "same":
        out = size * stride if output_padding is None else (
            full - 2 * (span // 2) + output_padding)
        before = max(full - out, 0) // 2
    else:
        before, after = padding
        out = full - before - after + (output_padding or 0)
    # the convolution over the padded output must give back exactly `size` positions
    return out, (before, max(full - before - out, 0))


def conv_transpose_geometry(size_hw, kernel_hw, strides=(1, 1), dilation=(1, 1),
                            padding="valid", output_padding=None, op: str = "conv2d_transpose"):
    """``((OH, OW), ((top, bottom), (left, right)))`` for an (H, W) input, checked.

    ``padding``: 'valid', 'same', an int, a pair or ``((top, bottom), (left, right))``
    (crops, see :func:`transpose_output_axis`); ``output_padding``: None, an int or a pair,
    each smaller than the stride along its axis (Keras's rule). An unknown size (None) gives
    an unknown output size. Raises when nothing would be left of the output.

    >>> conv_transpose_geometry((4, 5), (3, 3), (2, 2), padding="same")
    ((8, 10), ((0, 1), (0, 1)))
    """
    padding = check_transpose_padding(op, padding)
    output_padding = check_output_padding(op, output_padding, strides)
    outs, pads = [], []
    for a, axis in enumerate(("height", "width")):
        form = padding if isinstance(padding, str) else padding[a]
        extra = None if output_padding is None else output_padding[a]
        size = 1 if size_hw[a] is None else size_hw[a]
        out, conv_pads = transpose_output_axis(size, kernel_hw[a], strides[a], dilation[a],
                                               form, extra)
        if out < 1:
            raise ValueError(
                f"{op}: the output would have {out} pixels along the {axis} (input "
                f"{size_hw[a]}, kernel {kernel_hw[a]}, stride {strides[a]}, dilation "
                f"{dilation[a]}, padding {padding!r}, output_padding {output_padding!r}); "
                f"expected at least 1: crop less"
            )
        outs.append(None if size_hw[a] is None else out)
        pads.append(conv_pads)
    return tuple(outs), tuple(pads)


def check_transpose_padding(op: str, padding):
    """'valid'/'same' lower-cased, or explicit ``((top, bottom), (left, right))`` crops."""
    if isinstance(padding, str):
        if padding.lower() in PADDINGS:
            return padding.lower()
        raise ValueError(
            f"{op}: argument 'padding' must be 'valid', 'same', an int, a pair or "
            f"((top, bottom), (left, right)), received {padding!r}"
        )
    return resolve_padding(padding, (1, 1), (1, 1), op=op)


def check_output_padding(op: str, output_padding, strides):
    """None, or ``(oh, ow)`` with ``0 <= o < stride`` on each axis."""
    if output_padding is None:
        return None
    values = pair(output_padding, op, "output_padding", minimum=0)
    if any(v >= s for v, s in zip(values, strides)):
        raise ValueError(
            f"{op}: argument 'output_padding' must be smaller than the stride along each axis, "
            f"received output_padding={output_padding!r} with strides={tuple(strides)!r}"
        )
    return values


# -- the definition, and the kernel pair ------------------------------------------------------
def naive_conv_transpose(x, w, b, out_hw, strides=(1, 1), pads=((0, 0), (0, 0)),
                         dilation=(1, 1)):
    """The definition: scatter every input pixel's filter-weighted kernel into ``full``, then
    crop ``before`` at the top/left and keep ``out_hw`` (zeros past the end of ``full``).

    >>> x, w = np.ones((1, 2, 2, 1)), np.ones((2, 2, 1, 1))
    >>> naive_conv_transpose(x, w, None, (3, 3))[0, :, :, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    (sh, sw), (dh, dw), ((top, _), (left, _)) = strides, dilation, pads
    n, h, w_in, c = x.shape
    kh, kw, f, _ = w.shape
    oh, ow = out_hw
    full = np.zeros((n, max((h - 1) * sh + (kh - 1) * dh + 1, top + oh),
                     max((w_in - 1) * sw + (kw - 1) * dw + 1, left + ow), f))
    for i in range(h):
        for j in range(w_in):
            for u in range(kh):
                for v in range(kw):
                    full[:, i * sh + u * dh, j * sw + v * dw] += x[:, i, j] @ w[u, v].T
    y = full[:, top : top + oh, left : left + ow]
    return y if b is None else y + b


def conv_transpose_forward(x, w, b, out_hw, strides=(1, 1), pads=((0, 0), (0, 0)),
                           dilation=(1, 1)):
    """y (N, OH, OW, F) = conv^T(x) + b: the input gradient of the convolution (N, OH, OW, F)
    -> (N, H, W, C) with filters w, padding ``pads``, for the output gradient x."""
    f = w.shape[2]
    method = "im2col" if usable(x, w) and x.dtype == w.dtype else "im2col-numpy"
    conv = Im2colCache(method, None, w, (x.shape[0], *out_hw, f), pads, strides, dilation,
                       False, None)
    y, _, _ = gemm_backward(x, conv, need_gx=True, need_gw=False)
    if b is not None:
        y += b
    return y


def conv_transpose_backward(gy, x, w, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1),
                            has_bias: bool = False, need_gx: bool = True, need_gw: bool = True):
    """Gradients of :func:`conv_transpose_forward`, gy (N, OH, OW, F) -> (gx, gw, gb).

    gx (N, H, W, C) = conv(gy): the adjoint of the adjoint. gw (KH, KW, F, C): the
    convolution's weight gradient with gy as its input and x as its output gradient, from the
    cache of that same convolution. gb (F,) = gy summed over N, OH, OW. None where not needed.
    """
    gx = gw = None
    if need_gx or need_gw:
        y, cache = conv2d_forward(gy, w, None, strides, pads, dilation, for_backward=need_gw)
        gx = y if need_gx else None
        if need_gw:
            gw = conv2d_backward(x, cache, need_gx=False, need_gw=True)[1]
    gb = gy.sum(axis=(0, 1, 2)) if has_bias else None
    return gx, gw, gb


# -- the Function and the functional entry ----------------------------------------------------
class ConvTranspose2d(Function):
    """``y = conv_transpose(x, w) + b``; inputs (x, w) or (x, w, b)."""

    def __init__(self, out_hw, strides, pads, dilation):
        self.out_hw, self.strides, self.pads, self.dilation = out_hw, strides, pads, dilation

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        return conv_transpose_forward(x, w, b, self.out_hw, self.strides, self.pads,
                                      self.dilation)

    def backward(self, gy):
        need_gx, need_gw = (t.requires_grad for t in self.inputs[:2])
        has_bias = len(self.inputs) == 3
        gx, gw, gb = conv_transpose_backward(gy, self.x, self.w, self.strides, self.pads,
                                             self.dilation, has_bias, need_gx, need_gw)
        return (gx, gw, gb) if has_bias else (gx, gw)


def check_transpose_filters(op: str, x_shape, w, b) -> tuple[int, int]:
    """Raise unless w is (KH, KW, F, C) for x of shape (N, H, W, C) and b is None or (F,);
    returns (KH, KW)."""
    w_shape = tuple(getattr(w, "shape", ()))
    if len(w_shape) != 4:
        raise ValueError(
            f"{op}: argument 'w' must be 4-D (KH, KW, filters, C_in), received shape {w_shape}"
        )
    c, f = x_shape[3], w_shape[2]
    if w_shape[3] != c:
        raise ValueError(
            f"{op}: argument 'w' must have w.shape[3] == {c} input channels to match "
            f"x of shape {tuple(x_shape)} (Keras's layout (KH, KW, filters, C_in)), "
            f"received w of shape {w_shape}"
        )
    if b is not None and tuple(getattr(b, "shape", ())) != (f,):
        raise ValueError(
            f"{op}: argument 'b' must have shape ({f},), one bias per filter, "
            f"received {tuple(getattr(b, 'shape', ()))}"
        )
    return w_shape[:2]


def conv2d_transpose(x, w, b=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1, activation=None) -> Tensor:
    """Transposed convolution of x (N, H, W, C) with filters w (KH, KW, F, C) (Keras's
    layout), plus b (F,): the adjoint of ``conv2d`` with the same filters, strides, dilation
    and padding, so an upsampling that learns its weights. Returns (N, OH, OW, F).

    Output size per axis, with ``L = (I-1)*S + D*(K-1) + 1`` (Keras's rules):

    - ``padding='valid'``: ``I*S + max(D*(K-1) + 1 - S, 0)``; ``L + output_padding`` when
      ``output_padding`` is given.
    - ``padding='same'``: ``I*S``; ``L - 2*((D*(K-1) + 1) // 2) + output_padding`` when given.
      The extra pixels are cropped as ``conv2d``'s 'same' pads them: when their number is odd,
      the odd one comes off the bottom/right (TensorFlow's rule; PyTorch's symmetric
      ``padding`` cannot express it).
    - ``padding`` an int, a pair or ``((top, bottom), (left, right))``: that many pixels
      cropped off each side of the ``L`` pixels (PyTorch's ``padding``), then
      ``output_padding`` (default 0) more at the bottom/right: ``L - top - bottom + op``.

    ``output_padding``: None, an int or a pair, each smaller than the stride (Keras's rule).
    ``activation``: None, a name of ``svertka.ops.ACTIVATIONS`` or a callable, applied to the
    output.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.ones((2, 4, 4, 3), np.float32))
    >>> w = svertka.Tensor(np.ones((3, 3, 8, 3), np.float32))
    >>> conv2d_transpose(x, w, strides=2).shape
    (2, 9, 9, 8)
    >>> conv2d_transpose(x, w, strides=2, padding="same").shape
    (2, 8, 8, 8)
    """
    op = "conv2d_transpose"
    _, h, w_in, _ = image_shape(x, op)
    x, w, b = float_inputs(op, x=x, w=w, b=b)
    kh, kw = check_transpose_filters(op, x.shape, w, b)
    strides = pair(strides, op, "strides")
    dilation = pair(dilation_rate, op, "dilation_rate")
    out_hw, pads = conv_transpose_geometry((h, w_in), (kh, kw), strides, dilation, padding,
                                           output_padding, op)
    fn = get_activation(activation)
    args = (x, w) if b is None else (x, w, b)
    y = ConvTranspose2d(out_hw, strides, pads, dilation)(*args)
    return y if fn is linear else fn(y)


__all__ = [
    "ConvTranspose2d",
    "check_output_padding",
    "check_transpose_filters",
    "check_transpose_padding",
    "conv2d_transpose",
    "conv_transpose_backward",
    "conv_transpose_forward",
    "conv_transpose_geometry",
    "naive_conv_transpose",
    "transpose_output_axis",
]
