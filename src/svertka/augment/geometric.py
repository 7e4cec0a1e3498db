"""Flips and whole-pixel shifts: exact (no interpolation), vectorised over the batch.

A shift moves the content by an integer ``(dy, dx)`` (down and right positive): output pixel
``(i, j)`` is input pixel ``(i - dy, j - dx)``; what comes in from outside is filled by one of
the padding modes of ``svertka.kernels.pad`` (``'zeros'``, ``'replicate'``, ``'reflect'``,
``'symmetric'``, ``'circular'``). It is done as one padding of the batch plus a strided view
of every possible window, from which each image picks its own (no loop over images).
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.augment.base import Transform, check_mode
from svertka.kernels.pad import MODES, check_pad_fits, pad_forward


class HorizontalFlip(Transform):
    """Mirror left-right (``x[:, :, ::-1]``) each image with probability ``p``.

    Suits natural images (CIFAR); not digits or text, whose mirror image is another symbol.

    >>> import numpy as np
    >>> x = np.arange(3, dtype=np.uint8).reshape(1, 1, 3, 1)
    >>> HorizontalFlip(p=1.0)(x, np.random.default_rng(0)).ravel().tolist()
    [2, 1, 0]
    """

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def apply(self, x, params):
        return np.take(x, np.arange(x.shape[2] - 1, -1, -1), axis=2)


class VerticalFlip(Transform):
    """Mirror top-bottom (``x[:, ::-1]``) each image with probability ``p``.

    >>> import numpy as np
    >>> x = np.arange(3, dtype=np.uint8).reshape(1, 3, 1, 1)
    >>> VerticalFlip(p=1.0)(x, np.random.default_rng(0)).ravel().tolist()
    [2, 1, 0]
    """

    def __init__(self, p: float = 0.5):
        super().__init__(p)

    def apply(self, x, params):
        return x[:, ::-1].copy()


def shift_images(x: np.ndarray, dy, dx, mode: str = "zeros") -> np.ndarray:
    """Shift each image n of x (N, H, W, C) by ``(dy[n], dx[n])`` whole pixels.

    Output pixel ``(i, j)`` of image n is input pixel ``(i - dy[n], j - dx[n])``; outside the
    image, ``mode`` (a padding mode of ``svertka.kernels.pad``) says what is seen.

    >>> import numpy as np
    >>> x = np.arange(4, dtype=np.uint8).reshape(1, 1, 4, 1)
    >>> shift_images(x, [0], [1]).ravel().tolist()
    [0, 0, 1, 2]
    """
    n, h, w, c = x.shape
    dy = np.asarray(dy, dtype=np.intp).reshape(n)
    dx = np.asarray(dx, dtype=np.intp).reshape(n)
    mh = int(np.abs(dy).max()) if n else 0
    mw = int(np.abs(dx).max()) if n else 0
    pads = ((mh, mh), (mw, mw))
    check_pad_fits((h, w), pads, mode, "shift_images")
    xp = pad_forward(x, pads, mode)
    if xp is x:
        return x.copy()
    s = xp.strides
    # every (2mh+1) x (2mw+1) window of the padded batch, as a view: (N, 2mh+1, 2mw+1, H, W, C)
    windows = np.lib.stride_tricks.as_strided(
        xp,
        (n, 2 * mh + 1, 2 * mw + 1, h, w, c),
        (s[0], s[1], s[2], s[1], s[2], s[3]),
        writeable=False,
    )
    # the window starting at row mh - dy holds input rows i - dy for output rows i
    return windows[np.arange(n), mh - dy, mw - dx]


class Shift(Transform):
    """Shift each image by whole pixels drawn uniformly in ``[-m, m]``, ``m = round(max_fraction
    * size)`` per axis (height and width each), filled with ``mode``.

    Integer shifts move pixels exactly (no interpolation blur); ``Affine(shift=...)`` does
    sub-pixel ones.

    >>> import numpy as np
    >>> Shift(0.1)(np.zeros((2, 32, 32, 3), np.uint8), np.random.default_rng(0)).shape
    (2, 32, 32, 3)
    """

    def __init__(self, max_fraction: float = 0.1, mode: str = "zeros", p: float = 1.0):
        super().__init__(p)
        self.max_fraction = checks.finite_float("Shift", "max_fraction", max_fraction, 0.0, 1.0)
        self.mode = check_mode(mode, "Shift", MODES)

    def max_shift(self, shape) -> tuple[int, int]:
        """The largest shift ``(m_rows, m_cols)`` in pixels for images of ``shape``."""
        return round(self.max_fraction * shape[1]), round(self.max_fraction * shape[2])

    def draw(self, n, rng, shape):
        mh, mw = self.max_shift(shape)
        check_pad_fits(shape[1:3], ((mh, mh), (mw, mw)), self.mode, type(self).__name__)
        return {"dy": rng.integers(-mh, mh + 1, n), "dx": rng.integers(-mw, mw + 1, n)}

    def apply(self, x, params):
        return shift_images(x, params["dy"], params["dx"], self.mode)

    def get_config(self):
        return {"max_fraction": self.max_fraction, "mode": self.mode, **super().get_config()}


class RandomCrop(Shift):
    """Pad by ``padding`` pixels on each side and crop a random window of the original size.

    The CIFAR recipe (``padding=4``). Equivalent to a shift drawn uniformly in
    ``[-padding, padding]`` on each axis; ``mode`` is the padding: ``'zeros'`` (the usual
    choice) or ``'reflect'`` (or any of ``svertka.kernels.pad.MODES``).

    >>> import numpy as np
    >>> RandomCrop(4)(np.zeros((2, 32, 32, 3), np.uint8), np.random.default_rng(0)).shape
    (2, 32, 32, 3)
    """

    def __init__(self, padding: int = 4, mode: str = "zeros", p: float = 1.0):
        Transform.__init__(self, p)
        self.padding = checks.non_negative_int("RandomCrop", "padding", padding)
        self.mode = check_mode(mode, "RandomCrop", MODES)

    def max_shift(self, shape):
        return self.padding, self.padding

    def get_config(self):
        return {"padding": self.padding, "mode": self.mode, "p": self.p}
