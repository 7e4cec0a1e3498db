"""From whatever the user hands in to a mask of ink: loading, polarity, local thresholding.

A scanned or photographed page has uneven lighting, so one global threshold either loses the
faint corner or floods the dark one. Sauvola's rule (Sauvola and Pietikainen 2000) thresholds
each pixel against its neighbourhood::

    T(x, y) = m(x, y) * (1 + k * (s(x, y) / R - 1))

with ``m`` and ``s`` the mean and standard deviation in a window around the pixel, ``R`` the
largest standard deviation possible (0.5 for grey levels in [0, 1]) and ``k = 0.2``. Where the
window holds only paper, ``s`` is small and ``T`` drops below the paper level, so the paper's
own grain is not taken for ink; a pixel must also be darker than its surroundings by a quarter
of the page's ink-to-paper contrast (``min_contrast``; both as fractions of the paper's
brightness, since lighting multiplies), which keeps noise out of blank areas.

Polarity: paper is most of the page, so the median grey is the paper's; ink lies on the far
side of it. Light ink on a dark ground is inverted first, so the rest of the reader only ever
sees dark ink.
"""

from __future__ import annotations

import os

import numpy as np

MAX_PIXELS = 50_000_000  # an A4 page scanned at 600 dpi is 35 million


def load_grey(image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """``image`` (a path, a PIL image, or an array (H, W), (H, W, 3) or (H, W, 4) of uint8,
    bool, or floats in [0, 1]) as float32 grey levels in [0, 1], (H, W). Photos are turned
    upright by their EXIF orientation. An image of more than ``max_pixels`` pixels is refused
    before it is decoded.

    >>> load_grey(np.array([[0, 255]], np.uint8)).tolist()
    [[0.0, 1.0]]
    """
    from PIL import Image

    from svertka.datasets.images import open_image

    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"read: the image {path!r} does not exist or is not a file")
        img = open_image(path, repr(path), "read",
                         lambda size: _check_size(size, max_pixels, repr(path)))
        return _grey_from_pil(img)
    if isinstance(image, Image.Image):
        _check_size(image.size, max_pixels, "the image")
        return _grey_from_pil(image)
    if isinstance(image, np.ndarray):
        return _grey_from_array(image, max_pixels)
    raise TypeError(f"read: argument 'image' must be a path, a PIL image or a numpy array, "
                    f"received {type(image).__name__}")


def _check_size(size, max_pixels, what):
    w, h = size
    if w == 0 or h == 0:
        raise ValueError(f"read: {what} is empty ({w}x{h} pixels)")
    if w * h > max_pixels:
        raise ValueError(f"read: {what} is {w}x{h} = {w * h:,} pixels, more than the limit of "
                         f"{max_pixels:,} (argument 'max_pixels'; scale the image down, or "
                         f"raise the limit if this machine has the memory)")


def _grey_from_pil(img) -> np.ndarray:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # transparent pixels are paper: composite on white, as a viewer shows them
        rgba = img.convert("RGBA")
        from PIL import Image

        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("L"), dtype=np.float32) / np.float32(255)


def _grey_from_array(a: np.ndarray, max_pixels) -> np.ndarray:
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(f"read: argument 'image' must be an array (H, W), (H, W, 1), (H, W, 3) "
                         f"or (H, W, 4), received shape {a.shape}")
    _check_size((a.shape[1], a.shape[0]), max_pixels, "the image")
    if a.dtype == bool:
        a = a.astype(np.float32)
    elif a.dtype == np.uint8:
        a = a.astype(np.float32) / np.float32(255)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError("read: a float image must hold finite grey levels in [0, 1], "
                             f"received values in [{np.nanmin(a)}, {np.nanmax(a)}]")
        a = a.astype(np.float32)
    else:
        raise TypeError(f"read: argument 'image' must be uint8, bool or float, "
                        f"received {a.dtype}")
    if a.ndim == 3:
        if a.shape[2] == 4:  # transparent pixels are paper
            alpha = a[..., 3:]
            a = a[..., :3] * alpha + (1 - alpha)
        a = a[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32) if a.shape[2] >= 3 \
            else a[..., 0]
    return np.ascontiguousarray(a, dtype=np.float32)


def default_window(shape) -> int:
    """Sauvola's window for a page of ``shape``: a twelfth of its shorter side, at least
    25 pixels, odd.

    >>> default_window((120, 400)), default_window((1200, 900))
    (25, 75)
    """
    return max(25, min(shape) // 12) | 1


def dark_ink(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the paper: the median grey is the paper's, and the ink
    is on the side of it where the tail of the histogram reaches further.

    >>> page = np.ones((20, 20), np.float32); page[5:8, 5:15] = 0.1
    >>> dark_ink(page), dark_ink(1 - page)
    (True, False)
    """
    lo, paper, hi = np.percentile(grey, [0.5, 50, 99.5])
    return bool(paper - lo >= hi - paper)


def ink_mask(grey: np.ndarray, window: int | None = None, k: float = 0.2,
             min_contrast: float = 0.25, polarity: str = "auto") -> np.ndarray:
    """Boolean (H, W), True on ink: Sauvola's local threshold (see the module note) over a
    ``window`` (odd; default about a twelfth of the shorter side, at least 25 pixels), and a
    pixel must be darker than its window's mean by ``min_contrast`` times the page's
    ink-to-paper contrast (relative to the paper's level there). ``polarity``: ``"auto"``
    (detected), ``"dark"`` (dark ink on light paper) or ``"light"``. A page with no contrast
    at all (blank, all black) has no ink.

    >>> page = np.ones((40, 60), np.float32); page[10:30, 20:24] = 0.0
    >>> m = ink_mask(page); int(m.sum()), int(ink_mask(1 - page).sum())
    (80, 80)
    """
    from scipy import ndimage
    from skimage.filters import threshold_sauvola

    if polarity not in ("auto", "dark", "light"):
        raise ValueError(f"ink_mask: argument 'polarity' must be 'auto', 'dark' or 'light', "
                         f"received {polarity!r}")
    if polarity == "light" or (polarity == "auto" and not dark_ink(grey)):
        grey = 1.0 - grey
    window = int(default_window(grey.shape) if window is None else window) | 1
    lo, paper = np.percentile(grey, [0.5, 50])
    if paper - lo < 0.08:  # nothing stands out from the paper: no ink anywhere
        return np.zeros(grey.shape, bool)
    contrast = float(paper - lo) / float(paper)
    t = threshold_sauvola(grey, window_size=window, k=k, r=0.5)
    mean = ndimage.uniform_filter(grey, size=window, mode="reflect")
    # lighting multiplies: contrast is measured relative to the local paper level (but not
    # below half the page's paper level, or the dark end of a bare gradient turns to ink)
    return (grey < t) & (mean - grey > min_contrast * contrast * np.maximum(mean, paper / 2))
