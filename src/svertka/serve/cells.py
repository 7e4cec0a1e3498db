"""One output cell of a layer, worked out as the notes work their examples (SPEC §2, §3):

    convolution:  y[i, j, c] = act( sum over a, b, k of
                                        xp[i*s + a*d, j*s + b*d, k] * w[a, b, k, c]  + bias[c] )
    pooling:      y[i, j, c] = max (or mean) of x[i*s + a - top, j*s + b - left, c]

with ``xp`` the layer's input padded as the layer pads it (zeros, or its ``padding_mode``),
``s`` the stride, ``d`` the dilation. ``conv`` and ``pool`` take the layer's real input for
one sample, (H, W, C_in), and return every number of that working, so that the page can
show them and the tests can check that they give the layer's own output.
"""

from __future__ import annotations

import numpy as np

SHOWN_CHANNELS = 8  # input channels whose window, kernel and products are listed in full


def kind(layer) -> str:
    """``"conv"``, ``"pool"`` or ``"other"``: which working ``conv``/``pool`` can show for an
    image-shaped layer. Subclasses are left out: they may compute otherwise."""
    from svertka.layers import AveragePooling2D, Conv2D, MaxPooling2D

    if type(layer) is Conv2D and layer.groups == 1 and layer.activation not in (
            "softmax", "log_softmax"):  # these mix channels: one cell cannot show them
        return "conv"
    if type(layer) in (MaxPooling2D, AveragePooling2D):
        return "pool"
    return "other"


def check_index(where: str, arg: str, value, n: int, what: str = "", low: int = 0) -> int:
    """``value`` if it is an int in [low, n), else a ValueError naming the argument, the
    range and what was received."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not low <= value < n:
        raise ValueError(f"{where}: argument '{arg}' must be an int in [{low}, {n}){what}, "
                         f"received {value!r}")
    return int(value)


def conv(layer, x: np.ndarray, channel: int, row: int, col: int) -> dict:
    """The convolution of ``layer`` (a Conv2D, groups=1) at output (``row``, ``col``) of
    ``channel``, from its input ``x`` (H, W, C_in): the window of the padded input under
    the kernel, the kernel, their element-wise products, the sum, the bias, the sum plus
    bias (``pre_activation``) and the activation of it (``output``). Arrays are
    [KH][KW][C_in]; past ``SHOWN_CHANNELS`` input channels only the first ones are listed,
    with every channel's sum of products in ``per_channel``."""
    from svertka import ops

    kh, kw = layer.kernel_size
    (sh, sw), (dh, dw) = layer.strides, layer.dilation_rate
    pads = layer.window((None, *x.shape))[3]
    padded = ops.pad(np.asarray(x, np.float64)[None], pads, layer.padding_mode).numpy()[0]
    rows = row * sh + dh * np.arange(kh)
    cols = col * sw + dw * np.arange(kw)
    window = padded[np.ix_(rows, cols)]  # (KH, KW, C_in)
    kernel = np.asarray(layer.kernel.numpy(), np.float64)[..., channel]  # (KH, KW, C_in)
    products = window * kernel
    total = float(products.sum())
    bias = float(layer.bias.numpy()[channel]) if layer.use_bias else 0.0
    pre = total + bias
    result = {"sum": total, "bias": bias, "pre_activation": pre,
              "activation": activation_label(layer), "output": activate(layer, pre)}
    cin = window.shape[-1]
    if cin > SHOWN_CHANNELS:
        result.update(per_channel=products.sum(axis=(0, 1)).tolist(),
                      channels_shown=SHOWN_CHANNELS, channels=cin)
        window, kernel, products = (a[..., :SHOWN_CHANNELS] for a in (window, kernel, products))
    result.update(window=window.tolist(), kernel=kernel.tolist(), products=products.tolist())
    return result


def activation_label(layer) -> str:
    """The name of the layer's activation; "linear" without one."""
    a = layer.activation
    if a is None:
        return "linear"
    return a if isinstance(a, str) else getattr(a, "__name__", type(a).__name__)


def activate(layer, value: float) -> float:
    """The layer's own activation function applied to one pre-activation value."""
    from svertka.autograd import Tensor, no_grad

    fn = layer._activation
    if fn is None:
        return float(value)
    with no_grad():
        return float(np.asarray(fn(Tensor(np.array([value], np.float64))).numpy())[0])


def pool(layer, x: np.ndarray, channel: int, row: int, col: int) -> dict:
    """The pooling window of ``layer`` (MaxPooling2D or AveragePooling2D) at output
    (``row``, ``col``) of ``channel``, from its input ``x`` (H, W, C): the window's values
    ([PH][PW], None on padding, which never wins and is left out of averages), the mode,
    the position of the value kept (max; the first in reading order on a tie) and the
    output."""
    from svertka.layers import MaxPooling2D

    ph, pw = layer.pool_size
    sh, sw = layer.strides
    (top, _), (left, _) = layer.window((None, *x.shape))[3]
    h, w = x.shape[:2]
    rows = row * sh - top + np.arange(ph)
    cols = col * sw - left + np.arange(pw)
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    values = np.asarray(x, np.float64)[np.ix_(rows.clip(0, h - 1), cols.clip(0, w - 1))]
    values = values[..., channel]  # (PH, PW)
    if isinstance(layer, MaxPooling2D):
        ranked = np.where(inside, values, -np.inf)
        k = int(np.argmax(ranked))
        mode, chosen, output = "max", [k // pw, k % pw], float(ranked.max())
    else:
        mode, chosen, output = "average", None, float(values[inside].mean())
    window = [[float(v) if ok else None for v, ok in zip(vr, ir)]
              for vr, ir in zip(values, inside)]
    return {"window": window, "mode": mode, "chosen": chosen, "output": output}
