"""Colour corrections: brightness, contrast, saturation and hue, drawn per image.

Each works in float32 on a copy (uint8 is rounded and clipped back, floats are not clipped;
see ``svertka.augment.base``). Saturation and hue need RGB (3 channels) and raise a
ValueError on grey images. The formulas are torchvision's: saturation blends with the grey
(ITU-R 601 luma) image, hue turns the HSV hue; brightness is additive as in TensorFlow and
albumentations, contrast scales about each image's mean.
"""

from __future__ import annotations

import numpy as np

from svertka.augment.base import Transform, check_range, from_float, max_value, to_float, uniform

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights of R, G, B in grey
_CHUNK_PIXELS = 1 << 15  # pixels converted to HSV at a time


def _hue6(r, g, b):
    """Hue in sixths of a turn [0, 6), value and chroma (max - min) of RGB planes (float)."""
    v = np.maximum(np.maximum(r, g), b)
    d = v - np.minimum(np.minimum(r, g), b)
    # the largest channel picks the sector: red 0, green 2, blue 4 (masked ufuncs, no copies)
    h6 = g - b
    not_r = v != r
    max_g = not_r & (v == g)
    max_b = not_r & (v != g)
    np.subtract(b, r, out=h6, where=max_g)
    np.subtract(r, g, out=h6, where=max_b)
    h6 /= np.maximum(d, np.finfo(h6.dtype).tiny)  # grey: 0 / tiny = hue 0
    np.add(h6, 2, out=h6, where=max_g)
    np.add(h6, 4, out=h6, where=max_b)
    return _wrap6(h6), v, d


def _wrap6(h6):
    h6 -= 6 * np.floor(h6 / 6)  # into [0, 6); np.remainder is far slower in float32
    return h6


def _rgb_planes(h6, v, d):
    """RGB planes (3, ...) from hue h6 in [0, 6), value v and chroma d: channel
    ``v - d clip(min(k, 4 - k), 0, 1)`` with ``k = (n + h6) mod 6``, n = 5, 3, 1 for R, G, B
    (the branch-free HSV -> RGB)."""
    out = np.empty((3, *v.shape), v.dtype)
    for c, n in enumerate((5, 3, 1)):
        k = out[c]
        np.add(h6, n, out=k)
        np.subtract(k, 6, out=k, where=k >= 6)
        np.minimum(k, 4 - k, out=k)
        np.clip(k, 0, 1, out=k)
        k *= d
        np.subtract(v, k, out=k)
    return out


def _planes(x):
    """(..., 3) -> three contiguous float planes."""
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    return np.ascontiguousarray(np.moveaxis(x, -1, 0), dtype=dtype)


def rgb_to_hsv(x: np.ndarray) -> np.ndarray:
    """RGB (..., 3) -> HSV (..., 3): hue in [0, 1) (a share of the colour circle), saturation in
    [0, 1], value = max(R, G, B) in the input's units. Grey pixels get hue 0.

    >>> import numpy as np
    >>> rgb_to_hsv(np.array([[0.0, 0.5, 1.0]])).round(4).tolist()
    [[0.5833, 1.0, 1.0]]
    """
    h6, v, d = _hue6(*_planes(x))
    s = d / np.where(v > 0, v, 1)
    return np.stack([h6 / 6, s, v], axis=-1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """HSV (..., 3) -> RGB (..., 3), the inverse of ``rgb_to_hsv``.

    >>> import numpy as np
    >>> hsv_to_rgb(np.array([[0.5833333, 1.0, 1.0]])).round(3).tolist()
    [[0.0, 0.5, 1.0]]
    """
    h, s, v = _planes(hsv)
    return np.moveaxis(_rgb_planes(_wrap6(h * 6), v, v * s), 0, -1)


def _per_image(values, dtype):
    return np.asarray(values, dtype=dtype)[:, None, None, None]


class Brightness(Transform):
    """Add a per-image delta drawn uniformly in ``[-max_delta, max_delta]`` (a share of the full
    range: of 255 for uint8, of 1.0 for floats) to every pixel and channel.

    >>> import numpy as np
    >>> x = np.full((1, 2, 2, 1), 100, np.uint8)
    >>> Brightness((0.2, 0.2))(x, np.random.default_rng(0))[0, 0, 0, 0]  # 100 + 0.2 * 255
    np.uint8(151)
    """

    def __init__(self, max_delta, p: float = 1.0):
        super().__init__(p)
        self.max_delta = check_range(max_delta, "Brightness", "max_delta", 0.0, -1.0, 1.0)

    def draw(self, n, rng, shape):
        return {"delta": uniform(rng, self.max_delta, n)}

    def apply(self, x, params):
        y = to_float(x)
        y += _per_image(params["delta"] * max_value(x.dtype), y.dtype)
        return from_float(y, x.dtype)

    def get_config(self):
        return {"max_delta": self.max_delta, **super().get_config()}


class Contrast(Transform):
    """Scale each image's deviation from its own mean (over pixels and channels) by a factor
    drawn uniformly in ``range`` (0: flat grey at the mean; 1: unchanged); a number ``m`` means
    ``(1 - m, 1 + m)``. The mean is kept (before uint8 clipping).

    >>> import numpy as np
    >>> x = np.array([0.2, 0.6]).reshape(1, 1, 2, 1)
    >>> Contrast((0.5, 0.5))(x, np.random.default_rng(0)).ravel().round(3).tolist()
    [0.3, 0.5]
    """

    def __init__(self, range=(0.8, 1.2), p: float = 1.0):  # noqa: A002
        super().__init__(p)
        self.range = check_range(range, "Contrast", "range", 1.0, 0.0)

    def draw(self, n, rng, shape):
        return {"factor": uniform(rng, self.range, n)}

    def apply(self, x, params):
        y = to_float(x)
        mean = y.mean(axis=(1, 2, 3), keepdims=True)
        y -= mean
        y *= _per_image(params["factor"], y.dtype)
        y += mean
        return from_float(y, x.dtype)

    def get_config(self):
        return {"range": self.range, **super().get_config()}


class Saturation(Transform):
    """Blend each RGB image with its grey version: ``grey + f (x - grey)``, ``f`` drawn
    uniformly in ``range`` (0: grey, 1: unchanged, above 1: more vivid); a number ``m`` means
    ``(1 - m, 1 + m)``. Grey pixels do not change. 3 channels only.

    >>> import numpy as np
    >>> x = np.array([200, 100, 0], np.uint8).reshape(1, 1, 1, 3)
    >>> Saturation((0.0, 0.0))(x, np.random.default_rng(0)).ravel().tolist()  # luma 118.4
    [118, 118, 118]
    """

    rgb_only = True

    def __init__(self, range=(0.8, 1.2), p: float = 1.0):  # noqa: A002
        super().__init__(p)
        self.range = check_range(range, "Saturation", "range", 1.0, 0.0)

    def draw(self, n, rng, shape):
        return {"factor": uniform(rng, self.range, n)}

    def apply(self, x, params):
        y = to_float(x)
        grey = y @ np.asarray(LUMA, dtype=y.dtype)  # (N, H, W)
        grey = grey[..., None]
        y -= grey
        y *= _per_image(params["factor"], y.dtype)
        y += grey
        return from_float(y, x.dtype)

    def get_config(self):
        return {"range": self.range, **super().get_config()}


class Hue(Transform):
    """Turn each RGB image's hue by a share of the colour circle drawn uniformly in
    ``[-max_delta, max_delta]`` (at most 0.5: half a turn); saturation and value (HSV) stay,
    so grey pixels do not change. Float input should be non-negative ([0, 1] pixels).
    3 channels only.

    >>> import numpy as np
    >>> x = np.array([255, 0, 0], np.uint8).reshape(1, 1, 1, 3)  # red
    >>> Hue((1 / 3, 1 / 3))(x, np.random.default_rng(0)).ravel().tolist()  # a third: green
    [0, 255, 0]
    """

    rgb_only = True

    def __init__(self, max_delta, p: float = 1.0):
        super().__init__(p)
        self.max_delta = check_range(max_delta, "Hue", "max_delta", 0.0, -0.5, 0.5)

    def draw(self, n, rng, shape):
        return {"delta": uniform(rng, self.max_delta, n)}

    def apply(self, x, params):
        y = np.empty(x.shape, np.float64 if x.dtype == np.float64 else np.float32)
        step = max(1, _CHUNK_PIXELS // (x.shape[1] * x.shape[2]))
        for start in range(0, len(x), step):  # small temporaries: fewer page faults
            part = slice(start, start + step)
            h6, v, d = _hue6(*_planes(x[part]))
            h6 += (6 * params["delta"][part]).astype(h6.dtype)[:, None, None]
            y[part] = np.moveaxis(_rgb_planes(_wrap6(h6), v, d), 0, -1)
        return from_float(y, x.dtype)

    def get_config(self):
        return {"max_delta": self.max_delta, **super().get_config()}
