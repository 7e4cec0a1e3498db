"""Padding of the spatial axes of channels-last images, five fill modes, forward and backward.

Shapes: x (N, H, W, C); pads ``((top, bottom), (left, right))``; y (N, H+top+bottom,
W+left+right, C). The modes, on the row ``ABC`` padded by 2 on each side (SPEC §2):

    zeros      00[ABC]00   constant zero
    replicate  AA[ABC]CC   the edge pixel extends
    symmetric  BA[ABC]CB   mirror; the edge pixel repeats        needs pad <= size
    reflect    CB[ABC]BA   mirror; the edge is not repeated       needs pad <= size - 1
    circular   BC[ABC]AB   the row wraps around                   needs pad <= size

(``reflect`` is PyTorch's and NumPy's ``reflect``; ``symmetric`` is NumPy's ``symmetric``.)

Every non-zero mode copies input pixels, so each padded position has one *source* pixel.
``pad_index`` builds that source map for one axis; forward gathers with it, and backward
sends each border position's gradient back to its source. A source can receive several
contributions (replicate sends a whole border strip to the edge pixel), so backward
accumulates; this is what makes the gradient right for every mode, not only for zeros.

:func:`naive_pad` and :func:`naive_pad_backward` are the definition, one position at a time:
the reference the tests compare the fast pair with.
"""

from __future__ import annotations

import numpy as np

from svertka.backend import get_array_module

MODES = ("zeros", "replicate", "reflect", "symmetric", "circular")


def _source(i: int, size: int, mode: str):
    """Where padded position ``i`` (may be < 0 or >= size) copies from; None for a zero."""
    if 0 <= i < size:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if i < 0 else size - 1
    if mode == "circular":
        return i % size
    if mode == "reflect":  # mirror through the edge pixel: it is not repeated
        return -i if i < 0 else 2 * (size - 1) - i
    if mode == "symmetric":  # mirror through the edge: the edge pixel repeats
        return -i - 1 if i < 0 else 2 * size - 1 - i
    raise ValueError(f"_source: argument 'mode' must be one of {MODES}, received {mode!r}")


def naive_pad(x, pads, mode: str):
    """The definition: each output position copies its source pixel, or is zero.

    x (N, H, W, C) -> y (N, H+top+bottom, W+left+right, C), NumPy, slow (Python loops).

    >>> x = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)  # the row A B C
    >>> naive_pad(x, ((0, 0), (2, 2)), "reflect")[0, 0, :, 0].tolist()  # C B [A B C] B A
    [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
    """
    (top, bottom), (left, right) = pads
    n, height, width, c = x.shape
    y = np.zeros((n, height + top + bottom, width + left + right, c), x.dtype)
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            si, sj = _source(i - top, height, mode), _source(j - left, width, mode)
            if si is not None and sj is not None:
                y[:, i, j] = x[:, si, sj]
    return y


def naive_pad_backward(gy, pads, mode: str):
    """Gradient of :func:`naive_pad`, its adjoint element by element: every output position
    adds its gradient to its source. gy (N, H', W', C) -> gx (N, H, W, C).

    >>> gy = np.ones((1, 1, 7, 1))
    >>> naive_pad_backward(gy, ((0, 0), (2, 2)), "replicate")[0, 0, :, 0].tolist()
    [3.0, 1.0, 3.0]
    """
    (top, bottom), (left, right) = pads
    n, hp, wp, c = gy.shape
    height, width = hp - top - bottom, wp - left - right
    gx = np.zeros((n, height, width, c), gy.dtype)
    for i in range(hp):
        for j in range(wp):
            si, sj = _source(i - top, height, mode), _source(j - left, width, mode)
            if si is not None and sj is not None:
                gx[:, si, sj] += gy[:, i, j]
    return gx


def check_mode(mode, op: str, arg: str = "mode") -> str:
    """Return ``mode`` if it is one of ``MODES``, else raise a ValueError listing them."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(
            f"{op}: argument '{arg}' must be one of {', '.join(map(repr, MODES))}, "
            f"received {mode!r}"
        )
    return mode


def check_pad_fits(size_hw, pads, mode: str, op: str) -> None:
    """Raise when ``mode`` is undefined for padding this wide on an input this small.

    A mirror or a wrap can only copy pixels that exist: reflect skips the edge, so it has
    ``size - 1`` pixels to copy per side; symmetric and circular have ``size``.
    """
    if mode == "zeros":  # any padding is defined
        return
    for a, axis in enumerate(("height", "width")):
        size, widest = size_hw[a], max(pads[a])
        if widest == 0:
            continue
        if mode == "replicate":
            if size < 1:
                raise ValueError(
                    f"{op}: padding mode 'replicate' needs an input of at least 1 pixel, "
                    f"received {axis} {size} with padding {pads[a]}"
                )
            continue
        most, rule = (size - 1, "size - 1") if mode == "reflect" else (size, "size")
        if widest > most:
            raise ValueError(
                f"{op}: padding mode {mode!r} needs padding <= {rule} on each side, received "
                f"padding {pads[a]} along the {axis} of size {size} (at most {max(most, 0)})"
            )


def pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index in the unpadded axis for each of the ``before + size + after`` positions.

    ``-1`` marks a position that holds a constant zero (``mode='zeros'``). The sizes must
    satisfy ``check_pad_fits``; a single fold of the mirror is then enough.

    >>> pad_index(3, 2, 2, "reflect").tolist()  # C B [A B C] B A
    [2, 1, 0, 1, 2, 1, 0]
    >>> pad_index(3, 2, 2, "symmetric").tolist()  # B A [A B C] C B
    [1, 0, 0, 1, 2, 2, 1]
    """
    i = np.arange(-before, size + after)
    if mode == "zeros":
        return np.where((i >= 0) & (i < size), i, -1)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    if mode == "circular":
        return i % size
    if mode == "reflect":  # mirror about the edge pixel: -1 -> 1, size -> size - 2
        i = np.abs(i)
        return np.where(i >= size, 2 * (size - 1) - i, i)
    if mode == "symmetric":  # mirror about the edge itself: -1 -> 0, size -> size - 1
        i = np.where(i < 0, -1 - i, i)
        return np.where(i >= size, 2 * size - 1 - i, i)
    raise ValueError(f"pad_index: argument 'mode' must be one of {MODES}, received {mode!r}")


def pad_forward(x, pads, mode: str = "zeros"):
    """Pad x (N, H, W, C) by ``pads = ((top, bottom), (left, right))`` -> (N, H', W', C).

    Returns ``x`` itself when there is nothing to pad. No cache is needed: backward reads
    the input size off the gradient's shape and ``pads``.
    """
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    xp = get_array_module(x)
    n, height, width, c = x.shape
    if mode == "zeros":  # only the border is zeroed: the core is overwritten anyway
        y = xp.empty((n, height + top + bottom, width + left + right, c), dtype=x.dtype)
        y[:, :top] = 0
        y[:, top + height :] = 0
        y[:, top : top + height, :left] = 0
        y[:, top : top + height, left + width :] = 0
        y[:, top : top + height, left : left + width] = x
        return y
    rows = xp.asarray(pad_index(height, top, bottom, mode))
    cols = xp.asarray(pad_index(width, left, right, mode))
    return x.take(rows, axis=1).take(cols, axis=2)


def pad_backward(gy, pads, mode: str = "zeros"):
    """Gradient of ``pad_forward``: gy (N, H', W', C) -> gx (N, H, W, C).

    The core of gy belongs to the pixel it came from; each border position adds its gradient
    to its source. The axes are undone in the reverse order of forward (width, then height),
    so a corner pixel's gradient travels along both folds.
    """
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return gy
    height, width = gy.shape[1] - top - bottom, gy.shape[2] - left - right
    if mode == "zeros":
        return gy[:, top : top + height, left : left + width].copy()
    g = _fold_axis(gy, pad_index(width, left, right, mode), left, width, axis=2)
    return _fold_axis(g, pad_index(height, top, bottom, mode), top, height, axis=1)


def _fold_axis(g, index, before: int, size: int, axis: int):
    """Sum the padded ``axis`` of g back onto ``size`` pixels, following ``index``."""

    def at(i):
        return (slice(None),) * axis + (i,)

    gx = g[at(slice(before, before + size))].copy()
    # Only the border positions move; the loop is over pad pixels (a few), never over the core.
    for j in [*range(before), *range(before + size, len(index))]:
        src = int(index[j])
        if src >= 0:
            gx[at(src)] += g[at(j)]
    return gx
