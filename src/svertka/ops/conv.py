"""2-D convolution of channels-last images, differentiable in x, w and b.

The maths, and the plan that picks how to run it, live in ``svertka.kernels.conv`` (grouped
convolution, ``groups > 1``, in ``svertka.kernels.depthwise``); this module checks and
normalises every argument once, so the kernels see explicit per-side padding, and says which
activation the kernels apply in the convolution's own pass (ReLU).
"""

from __future__ import annotations

from svertka import checks
from svertka.autograd import Function, Tensor
from svertka.kernels.conv import conv2d_backward, conv2d_forward
from svertka.kernels.depthwise import grouped_backward, grouped_forward
from svertka.kernels.pad import check_mode, check_pad_fits
from svertka.kernels.shapes import check_window_fits, pair, resolve_padding
from svertka.ops._inputs import float_inputs
from svertka.ops.activations import get_activation, linear, relu
from svertka.ops.padding import Pad, image_shape

NO_PADDING = ((0, 0), (0, 0))


def split_activation(activation):
    """``(fused, after)`` for an activation given by name, as a callable or None: ``fused``
    whether the convolution kernels apply it in their own pass (ReLU, whose max also commutes
    with a following max pooling), ``after`` the function to apply to their output, or None.

    >>> split_activation("relu"), split_activation(None)
    ((True, None), (False, None))
    """
    fn = get_activation(activation)
    if fn is relu:
        return True, None
    return False, None if fn is linear else fn


def check_groups(op: str, x_shape, w_shape, groups: int) -> None:
    """Raise unless ``groups`` divides the channels of x (N, H, W, C) and the filters of w
    (KH, KW, C // groups, C_out), and w has C // groups input channels."""
    c, c_out = x_shape[3], w_shape[3]
    if c % groups:
        raise ValueError(
            f"{op}: argument 'groups' must divide the input channels: received groups={groups}, "
            f"but x of shape {tuple(x_shape)} has {c} channels"
        )
    if c_out % groups:
        raise ValueError(
            f"{op}: argument 'groups' must divide the filters: received groups={groups}, but "
            f"w of shape {tuple(w_shape)} has {c_out} filters"
        )
    if w_shape[2] != c // groups:
        raise ValueError(
            f"{op}: argument 'w' must have w.shape[2] == C // groups = {c // groups} input "
            f"channels per group (x of shape {tuple(x_shape)}, groups={groups}), received w of "
            f"shape {tuple(w_shape)}"
        )


def check_filters(op: str, x_shape, w, b, groups: int = 1) -> tuple[int, int]:
    """Raise unless w is (KH, KW, C // groups, C_out) for x of shape (N, H, W, C) and b is
    None or (C_out,); returns (KH, KW)."""
    w_shape = tuple(getattr(w, "shape", ()))
    if len(w_shape) != 4:
        raise ValueError(
            f"{op}: argument 'w' must be 4-D (KH, KW, C_in, C_out), received shape {w_shape}"
        )
    c, c_out = x_shape[3], w_shape[3]
    if groups != 1:
        check_groups(op, x_shape, w_shape, groups)
    elif w_shape[2] != c:
        raise ValueError(
            f"{op}: argument 'w' must have w.shape[2] == {c} input channels to match "
            f"x of shape {tuple(x_shape)}, received w of shape {w_shape}"
        )
    if b is not None and tuple(getattr(b, "shape", ())) != (c_out,):
        raise ValueError(
            f"{op}: argument 'b' must have shape ({c_out},), one bias per filter, "
            f"received {tuple(getattr(b, 'shape', ()))}"
        )
    return w_shape[:2]


class Conv2d(Function):
    """``y = conv(x, w) + b`` with zero padding ``pads``; inputs (x, w) or (x, w, b)."""

    def __init__(self, strides, pads, dilation, relu: bool = False):
        self.strides, self.pads, self.dilation, self.relu = strides, pads, dilation, relu

    def forward(self, x, w, b=None):
        y, self.cache = conv2d_forward(x, w, b, self.strides, self.pads, self.dilation,
                                       self.relu, for_backward=self.recording)
        return y

    def backward(self, gy):
        need_gx, need_gw = (t.requires_grad for t in self.inputs[:2])
        gx, gw, gb = conv2d_backward(gy, self.cache, need_gx, need_gw)
        return (gx, gw) if len(self.inputs) == 2 else (gx, gw, gb)


class GroupedConv2d(Function):
    """``y = conv(x, w) + b`` in ``groups`` groups (``svertka.kernels.depthwise``) with zero
    padding ``pads``; inputs (x, w) or (x, w, b)."""

    def __init__(self, groups: int, strides, pads, dilation):
        self.groups, self.strides, self.pads, self.dilation = groups, strides, pads, dilation

    def forward(self, x, w, b=None):
        y, self.cache = grouped_forward(x, w, b, self.groups, self.strides, self.pads,
                                        self.dilation, for_backward=self.recording)
        return y

    def backward(self, gy):
        need_gx, need_gw = (t.requires_grad for t in self.inputs[:2])
        gx, gw, gb = grouped_backward(gy, self.cache, need_gx, need_gw)
        return (gx, gw) if len(self.inputs) == 2 else (gx, gw, gb)


def conv2d(
    x, w, b=None, strides=1, padding="valid", padding_mode: str = "zeros", dilation_rate=1,
    activation=None, groups: int = 1,
) -> Tensor:
    """Convolve x (N, H, W, C) with filters w (KH, KW, C, C_out), add b (C_out,).

    Returns (N, OH, OW, C_out) with ``O = (I + P - D*(K-1) - 1) // S + 1`` per axis (P the
    total padding); as in every framework the kernel is not flipped (cross-correlation).

    - ``strides``, ``dilation_rate``: an int or a pair (h, w), each >= 1. A dilated kernel
      spans ``D*(K-1) + 1`` pixels with holes between its taps.
    - ``padding``: ``'valid'`` (none), ``'same'`` (output ``ceil(I / S)``, also with stride
      and dilation), an int, a pair ``(ph, pw)``, or ``((top, bottom), (left, right))``.
      'same' follows TensorFlow/Keras: when the total padding is odd (even kernel, or
      stride > 1), the extra pixel goes to the bottom/right; padding both sides equally, as
      PyTorch's ``padding=int`` does, would shift the output by one pixel there.
    - ``padding_mode``: what fills the padding: ``'zeros'``, ``'replicate'``, ``'reflect'``,
      ``'symmetric'`` or ``'circular'`` (see ``svertka.ops.padding``). Non-zero modes pad with the
      differentiable pad op first, then convolve without padding, so the gradient reaching a
      copied border pixel flows back to the pixel it was copied from.
    - ``activation``: None, a name of ``svertka.ops.ACTIVATIONS`` or a callable, applied to
      the output. ReLU runs inside the convolution op: the same values and gradients as
      ``relu(conv2d(...))``, with one array and one pass over memory fewer.
    - ``groups``: G dividing C and C_out; w is then (KH, KW, C // G, C_out), and the filters
      ``g*C_out/G ..`` see only the channels ``g*C/G ..`` (Keras's and PyTorch's ``groups``).
      G = C is a depthwise convolution (see ``svertka.ops.depthwise_conv2d``).

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.ones((2, 7, 7, 3), np.float32))
    >>> w = svertka.Tensor(np.ones((3, 3, 3, 8), np.float32))
    >>> conv2d(x, w, strides=2).shape
    (2, 3, 3, 8)
    >>> conv2d(x, w, strides=2, padding="same", activation="relu").shape
    (2, 4, 4, 8)
    >>> conv2d(x, svertka.Tensor(np.ones((3, 3, 1, 6), np.float32)), groups=3).shape
    (2, 5, 5, 6)
    """
    op = "conv2d"
    _, h, w_in, _ = image_shape(x, op)
    x, w, b = float_inputs(op, x=x, w=w, b=b)
    groups = checks.positive_int(op, "groups", groups)
    kh, kw = check_filters(op, x.shape, w, b, groups)
    strides = pair(strides, op, "strides")
    dilation = pair(dilation_rate, op, "dilation_rate")
    pads = resolve_padding(padding, (h, w_in), (kh, kw), strides, dilation, op=op)
    padding_mode = check_mode(padding_mode, op, "padding_mode")
    check_pad_fits((h, w_in), pads, padding_mode, op)
    check_window_fits((h, w_in), pads, (kh, kw), dilation, op)
    if padding_mode != "zeros" and pads != NO_PADDING:
        x, pads = Pad(pads, padding_mode)(x), NO_PADDING
    fused, after = split_activation(activation)
    args = (x, w) if b is None else (x, w, b)
    if groups == 1:
        y = Conv2d(strides, pads, dilation, fused)(*args)
    else:  # the grouped kernels apply no activation of their own
        y = GroupedConv2d(groups, strides, pads, dilation)(*args)
        after = relu if fused else after
    return y if after is None else after(y)


__all__ = ["Conv2d", "GroupedConv2d", "check_filters", "check_groups", "conv2d",
           "split_activation"]
