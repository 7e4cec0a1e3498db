"""Image resampling for the preprocessing layers, as Functions with their backward: resize
(``y = A_h x A_w^T``, half-pixel centres), the affine warp behind rotation, zoom and translation
(bilinear or nearest taps, Keras's four fill modes), flips and contrast. Each is linear in its
input, so its backward is the adjoint: the transposed matrices, the gradient scattered back to
the taps that were read, the flipped gradient. Shapes: x (N, H, W, C), channels last.
"""

from __future__ import annotations

import numpy as np

from svertka import ops
from svertka.autograd import Function
from svertka.backend import get_array_module

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


# -- resizing: y = A_h x A_w^T ----------------------------------------------------------------
def resize_matrix(size: int, out: int, interpolation: str) -> np.ndarray:
    """The (out, size) matrix that resizes one axis, half-pixel centres (Keras 3, TensorFlow,
    PyTorch's ``interpolate(align_corners=False, antialias=False)``).

    ``'bilinear'``: output pixel ``o`` reads ``s = (o + 0.5) * size / out - 0.5`` (at least
    0), mixing ``floor(s)`` and the next pixel (the last one repeated). ``'nearest'``: pixel
    ``floor((o + 0.5) * size / out)``, as TensorFlow, JAX and PyTorch's ``'nearest-exact'``
    (Keras's torch backend uses PyTorch's ``'nearest'``, ``floor(o * size / out)``, instead).

    >>> resize_matrix(2, 4, "bilinear").tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    o = np.arange(out)
    a = np.zeros((out, size))
    if interpolation == "nearest":
        a[o, np.minimum(np.floor((o + 0.5) * size / out), size - 1).astype(np.intp)] = 1.0
        return a
    s = np.maximum((o + 0.5) * size / out - 0.5, 0.0)
    lo = np.minimum(np.floor(s), size - 1).astype(np.intp)
    t = s - lo
    np.add.at(a, (o, lo), 1.0 - t)  # add: both taps are the last pixel at the far edge
    np.add.at(a, (o, np.minimum(lo + 1, size - 1)), t)
    return a


def _both_axes(x, a_h, a_w):
    """``a_h`` (P, H) along the height and ``a_w`` (Q, W) along the width of x (N, H, W, C)."""
    xp = get_array_module(x)
    n, h, w, c = x.shape
    p, q = a_h.shape[0], a_w.shape[0]
    t = xp.matmul(a_h, x.reshape(n, h, w * c))  # (N, P, W*C)
    return xp.matmul(a_w, t.reshape(n * p, w, c)).reshape(n, p, q, c)  # (N, P, Q, C)


class Resize(Function):
    """``y = A_h x A_w^T`` per image and channel; the gradient is ``A_h^T gy A_w``."""

    def __init__(self, size: tuple[int, int], interpolation: str):
        self.size, self.interpolation = size, interpolation

    def forward(self, x):
        xp = get_array_module(x)
        h, w = x.shape[1:3]
        self.a_h, self.a_w = (
            xp.asarray(resize_matrix(n, out, self.interpolation), dtype=x.dtype)
            for n, out in ((h, self.size[0]), (w, self.size[1]))
        )
        return _both_axes(x, self.a_h, self.a_w)

    def backward(self, gy):
        return (_both_axes(gy, self.a_h.T, self.a_w.T),)


def aspect_window(hw: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the largest central window of an ``hw`` image with
    the aspect ratio of ``size`` (Keras's ``crop_to_aspect_ratio`` and ``smart_resize``).

    >>> aspect_window((4, 8), (2, 2))
    (0, 2, 4, 4)
    """
    (h, w), (th, tw) = hw, size
    ch = max(min(h, int(float(w * th) / tw)), 1)
    cw = max(min(w, int(float(h * tw) / th)), 1)
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


def crop_window(x, top: int, left: int, height: int, width: int):
    """The window ``x[:, top:top + height, left:left + width]`` (differentiable slicing)."""
    _, h, w, _ = x.shape
    if (top, left, height, width) == (0, 0, h, w):
        return x
    return ops.crop2d(x, ((top, h - top - height), (left, w - left - width)))


def resize(x, size: tuple[int, int], interpolation: str = "bilinear",
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
           fill_value: float = 0.0):
    """x (N, H, W, C), float Tensor -> (N, *size, C), as Keras's ``ops.image.resize``:
    first the central window of the target's aspect ratio (``crop_to_aspect_ratio``) or a
    symmetric ``fill_value`` border up to it (``pad_to_aspect_ratio``), then the resize.

    >>> import numpy as np, svertka
    >>> resize(svertka.Tensor(np.array([[1.0, 3.0]]).reshape(1, 1, 2, 1)), (1, 4)).numpy().ravel()
    array([1. , 1.5, 2.5, 3. ])
    """
    h, w = x.shape[1:3]
    if crop_to_aspect_ratio:
        x = crop_window(x, *aspect_window((h, w), size))
    elif pad_to_aspect_ratio:
        th, tw = size
        ph = int(float(w * th) / tw)
        pw = int(float(h * tw) / th)
        top, left = max(int(float(ph - h) / 2), 0), max(int(float(pw - w) / 2), 0)
        if top or left:
            pads = ((top, top), (left, left))
            x = ops.pad(x, pads)
            if fill_value:
                border = np.pad(np.zeros((1, h, w, 1), x.dtype), ((0, 0), *pads, (0, 0)),
                                constant_values=1.0)
                x = x + border * fill_value
    if tuple(x.shape[1:3]) == tuple(size):
        return x
    return Resize(tuple(size), interpolation)(x)


# -- warps: an affine resampling, tap by tap ----------------------------------------------------
def _reflect(index, size):
    """Keras's ``reflect`` (half-sample symmetric): ... b a | a b c d | d c ..."""
    s = 2 * size  # the period of the reflected sequence
    i = np.mod(index, s)
    return np.where(i < size, i, s - 1 - i)


_FIXERS = {
    "reflect": _reflect,
    "wrap": lambda index, size: np.mod(index, size),
    "nearest": lambda index, size: np.clip(index, 0, size - 1),
    "constant": lambda index, size: np.clip(index, 0, size - 1),
}


def sample_taps(shape, rows, cols, interpolation: str, fill_mode: str):
    """The taps of resampling images of ``shape`` (N, H, W, C) at the source positions
    ``rows``, ``cols`` (N, P): ``(index, weight, outside)`` with ``index`` and ``weight``
    (T, N*P) (T = 4 bilinear taps, 1 nearest) into the flattened pixels (N*H*W), and
    ``outside`` (N*P,) the weight that reads ``fill_value`` (zero unless ``'constant'``).
    Output pixel p of image n is ``sum_t weight[t] * x[index[t]] + outside * fill_value``.
    """
    n, h, w = shape[:3]
    fix = _FIXERS[fill_mode]
    per_axis = []  # per axis: (fixed index, weight, inside) of each tap
    for v, size in ((rows, h), (cols, w)):
        if interpolation == "nearest":
            taps = [(np.rint(v).astype(np.intp), np.ones_like(v))]
        else:
            lo = np.floor(v)
            t = v - lo
            lo = lo.astype(np.intp)
            taps = [(lo, 1.0 - t), (lo + 1, t)]
        per_axis.append([(fix(i, size), wt, (i >= 0) & (i < size)) for i, wt in taps])
    base = (np.arange(n, dtype=np.intp) * (h * w))[:, None]
    index, weight = [], []
    outside = np.zeros(rows.shape)
    for r, wr, inside_r in per_axis[0]:
        r = base + r * w
        for c, wc, inside_c in per_axis[1]:
            wt = wr * wc
            if fill_mode == "constant":
                inside = inside_r & inside_c
                outside += np.where(inside, 0.0, wt)
                wt = np.where(inside, wt, 0.0)
            index.append((r + c).ravel())
            weight.append(wt.ravel())
    return np.stack(index), np.stack(weight), outside.ravel()


def affine_sources(shape, matrices):
    """Source rows and cols (N, H*W) of every output pixel of images of ``shape``, for Keras's
    transforms ``[a0, a1, a2, b0, b1, b2]`` per image (N, 6): ``col_in = a0 col + a1 row +
    a2``, ``row_in = b0 col + b1 row + b2``."""
    h, w = shape[1:3]
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    rows, cols = rows.ravel()[None], cols.ravel()[None]
    m = np.asarray(matrices, dtype=np.float64)[:, :, None]  # (N, 6, 1)
    col_in = m[:, 0] * cols + m[:, 1] * rows + m[:, 2]
    row_in = m[:, 3] * cols + m[:, 4] * rows + m[:, 5]
    return row_in, col_in


class Sample(Function):
    """Resample x (N, H, W, C) through precomputed taps (``sample_taps``); linear in x, so the
    gradient scatters ``weight * gy`` back to the taps' pixels (summed where taps share one)."""

    def __init__(self, taps, fill_value: float):
        self.index, self.weight, self.outside = taps
        self.fill_value = fill_value

    def forward(self, x):
        xp = get_array_module(x)
        self.x_shape = x.shape
        n, h, w, c = x.shape
        planes = xp.moveaxis(x, -1, 0).reshape(c, n * h * w)  # one gather per channel plane
        weight = xp.asarray(self.weight, dtype=x.dtype)
        y = xp.zeros((c, self.index.shape[1]), x.dtype)
        for t in range(len(self.index)):
            y += weight[t] * xp.take(planes, xp.asarray(self.index[t]), axis=1)
        if self.fill_value:
            y += xp.asarray(self.outside * self.fill_value, dtype=x.dtype)
        return xp.moveaxis(y.reshape(c, n, h, w), 0, -1).copy()

    def backward(self, gy):
        xp = get_array_module(gy)
        n, h, w, c = self.x_shape
        g = gy.reshape(1, -1, c)  # (1, N*P, C)
        contrib = (xp.asarray(self.weight, dtype=gy.dtype)[:, :, None] * g).reshape(-1, c)
        index = xp.asarray(self.index.ravel())
        gx = xp.stack([xp.bincount(index, weights=contrib[:, k], minlength=n * h * w)
                       for k in range(c)], axis=-1)
        return (gx.astype(gy.dtype).reshape(self.x_shape),)


def warp(x, matrices, interpolation: str = "bilinear", fill_mode: str = "reflect",
         fill_value: float = 0.0):
    """x (N, H, W, C), float Tensor, resampled through Keras's affine ``matrices`` (N, 6)
    (see ``affine_sources``), the taps outside read by ``fill_mode``; differentiable.

    >>> import numpy as np, svertka
    >>> x = svertka.Tensor(np.arange(4.0).reshape(1, 1, 4, 1))
    >>> warp(x, [[1, 0, -1, 0, 1, 0]]).numpy().ravel().tolist()  # col_in = col - 1
    [0.0, 0.0, 1.0, 2.0]
    """
    rows, cols = affine_sources(x.shape, matrices)
    taps = sample_taps(x.shape, rows, cols, interpolation, fill_mode)
    return Sample(taps, fill_value if fill_mode == "constant" else 0.0)(x)


def rotation_matrices(angles_deg, h: int, w: int) -> np.ndarray:
    """Keras's rotation about the image centre by ``angles_deg`` (N,) degrees, as (N, 6)."""
    t = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    cos, sin = np.cos(t), np.sin(t)
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    return np.stack([cos, -sin, cx - cx * cos + cy * sin,
                     sin, cos, cy - cx * sin - cy * cos], axis=1)


class Flip(Function):
    """Mirror the images picked by ``cols`` left-right and those picked by ``rows`` top-bottom
    (boolean (N,) masks); a flip is its own adjoint, so the gradient is flipped back alike."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols

    def forward(self, x):
        xp = get_array_module(x)
        y = x.copy()
        for mask, axis in ((self.cols, 2), (self.rows, 1)):
            if mask.any():
                picked = xp.asarray(np.flatnonzero(mask))
                y[picked] = xp.flip(y[picked], axis=axis)
        return y

    def backward(self, gy):
        return (self.forward(gy),)


class Contrast(Function):
    """``y = clip((x - m) * f + m, low, high)`` with m the mean of each image's channel over
    (H, W) and one factor f per image (N, 1, 1, 1). Gradient, where not clipped (g = gy there,
    0 elsewhere): ``gx = f g + (1 - f) mean_HW(g)``."""

    def __init__(self, factor, value_range):
        self.factor, self.value_range = factor, value_range

    def forward(self, x):
        xp = get_array_module(x)
        f = xp.asarray(self.factor, dtype=x.dtype)
        m = x.mean(axis=(1, 2), keepdims=True)
        z = (x - m) * f + m
        low, high = self.value_range
        self.f, self.inside = f, (z >= low) & (z <= high)
        return xp.clip(z, low, high)

    def backward(self, gy):
        g = gy * self.inside
        return (self.f * g + (1 - self.f) * g.mean(axis=(1, 2), keepdims=True),)


