"""Pixel noise and occlusion: Gaussian noise and Cutout (DeVries & Taylor, 2017)."""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.augment.base import (
    Transform,
    check_range,
    from_float,
    max_value,
    to_float,
)


class GaussianNoise(Transform):
    """Add zero-mean Gaussian noise, independent per pixel and channel, with standard
    deviation ``std`` (a share of the full range: of 255 for uint8, of 1.0 for floats); a
    ``(low, high)`` pair draws each image's std uniformly in it.

    >>> import numpy as np
    >>> y = GaussianNoise(0.1)(np.full((1, 64, 64, 1), 0.5, np.float32), np.random.default_rng(0))
    >>> round(float(y.std()), 1)
    0.1
    """

    def __init__(self, std, p: float = 1.0):
        super().__init__(p)
        if isinstance(std, (tuple, list)):
            self.std = check_range(std, "GaussianNoise", "std", 0.0, 0.0, 1.0)
        else:
            self.std = checks.finite_float("GaussianNoise", "std", std, 0.0, 1.0)

    def draw(self, n, rng, shape):
        lo, hi = (self.std, self.std) if isinstance(self.std, float) else self.std
        return {
            "std": rng.uniform(lo, hi, n) if hi > lo else np.full(n, lo),
            "noise": rng.standard_normal(shape, dtype=np.float32),
        }

    def apply(self, x, params):
        y = to_float(x)
        scale = (params["std"] * max_value(x.dtype)).astype(y.dtype)[:, None, None, None]
        y += params["noise"] * scale
        return from_float(y, x.dtype)

    def get_config(self):
        return {"std": self.std, **super().get_config()}


class Cutout(Transform):
    """Set ``count`` squares of ``size`` x ``size`` pixels to ``fill`` (all channels) in each
    image. A square's centre is uniform over the image, so near the border only its inside
    part is cut (as in the paper); where squares overlap, the cut is their union.

    ``fill`` is in the image's units (0 is black for uint8 and for [0, 1] floats).

    >>> import numpy as np
    >>> y = Cutout(4)(np.ones((1, 16, 16, 3), np.float32), np.random.default_rng(0))
    >>> 0 < int((y == 0).all(axis=-1).sum()) <= 16
    True
    """

    def __init__(self, size: int, count: int = 1, fill: float = 0.0, p: float = 1.0):
        super().__init__(p)
        self.size = checks.positive_int("Cutout", "size", size)
        self.count = checks.positive_int("Cutout", "count", count)
        self.fill = checks.finite_float("Cutout", "fill", fill)

    def draw(self, n, rng, shape):
        return {
            "row": rng.integers(0, shape[1], (n, self.count)),
            "col": rng.integers(0, shape[2], (n, self.count)),
        }

    def apply(self, x, params):
        n, h, w, _ = x.shape
        top = np.asarray(params["row"])[:, :, None] - self.size // 2  # (N, count, 1)
        left = np.asarray(params["col"])[:, :, None] - self.size // 2
        rows = np.arange(h)
        cols = np.arange(w)
        in_rows = (rows >= top) & (rows < top + self.size)  # (N, count, H)
        in_cols = (cols >= left) & (cols < left + self.size)  # (N, count, W)
        cut = (in_rows[:, :, :, None] & in_cols[:, :, None, :]).any(axis=1)  # (N, H, W)
        y = x.copy()
        y[cut] = np.clip(np.rint(self.fill), 0, 255) if x.dtype == np.uint8 else self.fill
        return y

    def get_config(self):
        return {"size": self.size, "count": self.count, "fill": self.fill, **super().get_config()}
