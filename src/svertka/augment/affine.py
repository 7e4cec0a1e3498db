"""Rotations, shears and zooms: one affine warp per image with bilinear resampling.

Geometry: coordinates are (row, col) of pixel centres, the centre of an H x W image is
``((H - 1) / 2, (W - 1) / 2)``, and every transform turns about it. Angles are in degrees;
a positive rotation turns the content counter-clockwise as displayed (rows down), so
``Rotation((90, 90))`` of a square image is ``np.rot90(x, axes=(1, 2))``. A positive shear
moves the rows below the centre to the right. A zoom factor above 1 enlarges the content.

Fill (``mode``): ``'zeros'`` (constant 0, Keras's ``fill_mode='constant'``) fades to black over
the one pixel beyond the border, as bilinear sampling of a zero-padded image does;
``'replicate'`` (Keras's ``'nearest'``) repeats the edge pixels.

Why NumPy and not Pillow: Pillow's ``Image.transform(AFFINE, BILINEAR)`` called image by
image is no faster than this vectorised sampler (docs/performance.md), and the sampler also
handles float images, any channel count and edge replication, with no optional dependency.
The loops are over chunks of images, the 4 bilinear taps and the channels, never over single
images or pixels.
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.augment.base import (
    Transform,
    check_mode,
    check_range,
    from_float,
    uniform,
)

FILL_MODES = ("zeros", "replicate")


_CHUNK_PIXELS = 1 << 15  # output pixels warped at a time


def warp_affine(x: np.ndarray, matrices, mode: str = "zeros") -> np.ndarray:
    """Resample each image of x (N, H, W, C) through its own affine map, bilinearly.

    ``matrices`` (N, 2, 3) maps an output pixel ``(row, col, 1)`` to the input position it is
    read from; uint8 results are rounded and clipped, floats keep their dtype.

    >>> import numpy as np
    >>> x = np.arange(4.0, dtype=np.float32).reshape(1, 1, 4, 1)
    >>> shift_right = np.array([[[1.0, 0, 0], [0, 1, -1]]])  # output col j reads input j - 1
    >>> warp_affine(x, shift_right).ravel().tolist()
    [0.0, 0.0, 1.0, 2.0]
    """
    check_mode(mode, "warp_affine", FILL_MODES)
    n, h, w, c = x.shape
    m = np.asarray(matrices, dtype=np.float32)
    if m.shape != (n, 2, 3):
        raise ValueError(
            f"warp_affine: argument 'matrices' must have shape ({n}, 2, 3), received {m.shape}"
        )
    rows, cols = np.meshgrid(
        np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij"
    )
    grid = np.stack([rows.ravel(), cols.ravel(), np.ones(h * w, np.float32)])  # (3, HW)
    y = np.empty(x.shape, np.float64 if x.dtype == np.float64 else np.float32)
    # a few dozen images at a time: the temporaries then stay small and are reused, where
    # fresh megabyte-sized ones cost more in page faults than the arithmetic (docs/performance.md)
    step = max(1, _CHUNK_PIXELS // (h * w))
    for start in range(0, n, step):
        part = slice(start, start + step)
        y[part] = _warp_chunk(x[part], m[part], grid, mode, y.dtype)
    return from_float(y, x.dtype)


def _warp_chunk(x, m, grid, mode, dtype):
    n, h, w, c = x.shape
    src = m @ grid  # (n, 2, HW): input row and col of each output pixel
    sr, sc = src[:, 0], src[:, 1]
    if mode == "replicate":
        np.clip(sr, 0, h - 1, out=sr)
        np.clip(sc, 0, w - 1, out=sc)
    else:  # one pixel beyond the border already reads only zeros; keeps the ints small
        np.clip(sr, -1, h, out=sr)
        np.clip(sc, -1, w, out=sc)
    r0, c0 = np.floor(sr), np.floor(sc)
    fr, fc = sr - r0, sc - c0  # (n, HW) bilinear fractions
    r0, c0 = r0.astype(np.int32), c0.astype(np.int32)
    planes = np.ascontiguousarray(np.moveaxis(x, -1, 0)).reshape(c, n * h * w)
    base = (np.arange(n, dtype=np.int32) * (h * w))[:, None]
    y = np.zeros((c, n, h * w), dtype)
    weight, tap, index = np.empty(fr.shape, np.float32), np.empty(fr.shape, dtype), None
    for dr, wr in ((0, 1 - fr), (1, fr)):
        r = r0 + dr
        inside_r = (r >= 0) & (r < h)
        np.clip(r, 0, h - 1, out=r)
        r *= w
        r += base
        for dc, wc in ((0, 1 - fc), (1, fc)):
            col = c0 + dc
            np.multiply(wr, wc, out=weight)
            if mode == "zeros":  # taps outside the image read the constant 0
                weight *= inside_r & (col >= 0) & (col < w)
            np.clip(col, 0, w - 1, out=col)
            index = np.add(r, col, out=index)
            for k in range(c):
                np.multiply(planes[k].take(index), weight, out=tap)
                y[k] += tap
    return np.moveaxis(y.reshape(c, n, h, w), 0, -1)


def affine_matrices(shape, rotation=0.0, shear=0.0, zoom=1.0, shift=(0.0, 0.0)) -> np.ndarray:
    """The (N, 2, 3) matrices for ``warp_affine`` that rotate (degrees), then shear (degrees),
    then zoom (factor), then shift (pixels, (rows, cols)) the content about the image centre.

    Each argument is a scalar or one value per image (``shift``: (N, 2) or a pair).
    """
    n, h, w = shape[0], shape[1], shape[2]
    t = np.deg2rad(np.broadcast_to(np.asarray(rotation, dtype=np.float64), (n,)))
    s = np.tan(np.deg2rad(np.broadcast_to(np.asarray(shear, dtype=np.float64), (n,))))
    z = np.broadcast_to(np.asarray(zoom, dtype=np.float64), (n,))
    move = np.broadcast_to(np.asarray(shift, dtype=np.float64), (n, 2))
    cos, sin = np.cos(t), np.sin(t)
    zeros, ones = np.zeros(n), np.ones(n)
    # each matrix maps an output offset from the centre to the input offset (the inverses)
    unrotate = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
    unshear = np.stack([np.stack([ones, zeros], -1), np.stack([-s, ones], -1)], -2)
    a = unrotate @ unshear / z[:, None, None]  # (N, 2, 2)
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    offset = centre - (a @ (centre + move)[:, :, None])[:, :, 0]  # input = a @ out + offset
    return np.concatenate([a, offset[:, :, None]], axis=2)


class _Warp(Transform):
    """A transform done by one ``warp_affine`` per batch; subclasses give ``matrices``."""

    def __init__(self, mode: str, p: float):
        super().__init__(p)
        self.mode = check_mode(mode, type(self).__name__, FILL_MODES)

    def apply(self, x, params):
        return warp_affine(x, self.matrices(x.shape, params), self.mode)

    def get_config(self):
        return {"mode": self.mode, **super().get_config()}


class Rotation(_Warp):
    """Rotate each image by an angle (degrees) drawn uniformly in ``[-max_degrees,
    max_degrees]``, or in ``(low, high)`` when a pair is given (``(90, 90)``: always 90).

    >>> import numpy as np
    >>> x = np.arange(9, dtype=np.uint8).reshape(1, 3, 3, 1)
    >>> y = Rotation((90, 90))(x, np.random.default_rng(0))
    >>> bool((y == np.rot90(x, axes=(1, 2))).all())
    True
    """

    def __init__(self, max_degrees, mode: str = "zeros", p: float = 1.0):
        super().__init__(mode, p)
        self.max_degrees = check_range(max_degrees, "Rotation", "max_degrees", 0.0, -360, 360)

    def draw(self, n, rng, shape):
        return {"angle": uniform(rng, self.max_degrees, n)}

    def matrices(self, shape, params):
        return affine_matrices(shape, rotation=params["angle"])

    def get_config(self):
        return {"max_degrees": self.max_degrees, **super().get_config()}


class Shear(_Warp):
    """Shear each image horizontally by an angle (degrees) drawn uniformly in
    ``[-max_degrees, max_degrees]`` (or a ``(low, high)`` pair); positive moves the lower rows
    right. Keras's ``shear_range``.

    >>> import numpy as np
    >>> Shear(10)(np.zeros((2, 8, 8, 1), np.float32), np.random.default_rng(0)).shape
    (2, 8, 8, 1)
    """

    def __init__(self, max_degrees, mode: str = "zeros", p: float = 1.0):
        super().__init__(mode, p)
        self.max_degrees = check_range(max_degrees, "Shear", "max_degrees", 0.0, -80, 80)

    def draw(self, n, rng, shape):
        return {"angle": uniform(rng, self.max_degrees, n)}

    def matrices(self, shape, params):
        return affine_matrices(shape, shear=params["angle"])

    def get_config(self):
        return {"max_degrees": self.max_degrees, **super().get_config()}


class Zoom(_Warp):
    """Scale each image about its centre by a factor drawn uniformly in ``range`` (above 1
    enlarges the content and crops it; below 1 shrinks it and fills the border); a number
    ``m`` means ``(1 - m, 1 + m)``.

    >>> import numpy as np
    >>> Zoom((0.9, 1.1))(np.zeros((2, 8, 8, 3), np.uint8), np.random.default_rng(0)).dtype
    dtype('uint8')
    """

    def __init__(self, range=(0.9, 1.1), mode: str = "zeros", p: float = 1.0):  # noqa: A002
        super().__init__(mode, p)
        self.range = check_range(range, "Zoom", "range", 1.0, 0.01, 100.0)

    def draw(self, n, rng, shape):
        return {"zoom": uniform(rng, self.range, n)}

    def matrices(self, shape, params):
        return affine_matrices(shape, zoom=params["zoom"])

    def get_config(self):
        return {"range": self.range, **super().get_config()}


class Affine(_Warp):
    """Rotation, shear, zoom and a sub-pixel shift in one warp (one interpolation, not one
    per step); each part is drawn per image as in ``Rotation``, ``Shear``, ``Zoom``, and the
    shift uniformly in ``[-shift, shift]`` times the image size, per axis.

    >>> import numpy as np
    >>> t = Affine(rotation=10, shear=5, zoom=(0.9, 1.1), shift=0.05)
    >>> t(np.zeros((4, 16, 16, 3), np.uint8), np.random.default_rng(0)).shape
    (4, 16, 16, 3)
    """

    def __init__(
        self,
        rotation=0.0,
        shear=0.0,
        zoom=(1.0, 1.0),
        shift: float = 0.0,
        mode: str = "zeros",
        p: float = 1.0,
    ):
        super().__init__(mode, p)
        self.rotation = check_range(rotation, "Affine", "rotation", 0.0, -360, 360)
        self.shear = check_range(shear, "Affine", "shear", 0.0, -80, 80)
        self.zoom = check_range(zoom, "Affine", "zoom", 1.0, 0.01, 100.0)
        self.shift = checks.finite_float("Affine", "shift", shift, 0.0, 1.0)

    def draw(self, n, rng, shape):
        size = np.array([shape[1], shape[2]], dtype=np.float64)
        return {
            "angle": uniform(rng, self.rotation, n),
            "shear": uniform(rng, self.shear, n),
            "zoom": uniform(rng, self.zoom, n),
            "shift": rng.uniform(-self.shift, self.shift, (n, 2)) * size,
        }

    def matrices(self, shape, params):
        return affine_matrices(
            shape, params["angle"], params["shear"], params["zoom"], params["shift"]
        )

    def get_config(self):
        return {
            "rotation": self.rotation,
            "shear": self.shear,
            "zoom": self.zoom,
            "shift": self.shift,
            **super().get_config(),
        }
