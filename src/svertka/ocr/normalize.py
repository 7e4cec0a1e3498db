"""Normalising a segmented glyph exactly as MNIST's were made, so the classifier sees what it
was trained on.

MNIST's recipe (LeCun, Cortes, Burges): the bilevel NIST glyph was scaled to fit a 20x20 box
keeping its aspect ratio (the anti-aliasing of the scaling gives the grey levels), then placed
in a 28x28 field so that its centre of mass sits at the centre. Measured on MNIST's 10,000
test digits: the longer side of the ink box is 20 pixels in 99.97% of them, and the centre of
mass lies at row 13.99, column 14.01 on average (pixel indices; spread 0.29, i.e. the shift was
rounded to whole pixels). ``normalize_glyph`` does the same: ink bright on black, uint8.

``deslant`` (optional) removes the slant of handwriting first: it shears the glyph so that
its second moment ``mu11`` vanishes, the usual moment-based deskew.

Shapes: a glyph is ``(H, W)``, ink positive (a boolean mask, or grey levels with the ink
bright); the result is ``(28, 28)`` uint8.
"""

from __future__ import annotations

import numpy as np

BOX = 20
FIELD = 28
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel indices (see the module note)


def ink_box(glyph: np.ndarray):
    """``(y0, y1, x0, x1)`` of the nonzero pixels (ends exclusive), or None for an empty glyph.

    >>> ink_box(np.array([[0, 0, 0], [0, 5, 7], [0, 0, 0]]))
    (1, 2, 1, 3)
    """
    rows = np.flatnonzero(glyph.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(glyph.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """``(row, column)`` of the intensity-weighted mean position (pixel indices).

    >>> centre_of_mass(np.array([[0, 0], [0, 4]]))
    (1.0, 1.0)
    """
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    return (float(image.sum(axis=1) @ np.arange(image.shape[0]) / total),
            float(image.sum(axis=0) @ np.arange(image.shape[1]) / total))


def deslant(glyph: np.ndarray) -> np.ndarray:
    """The glyph sheared horizontally so that its slant (``mu11 / mu02``) is zero; the canvas
    widens to keep all the ink. Grey levels are kept (bilinear).

    >>> g = np.zeros((9, 9)); g[np.arange(9), np.arange(9)] = 1.0  # a stroke leaning 45 degrees
    >>> np.flatnonzero((deslant(g) > 0.5).any(axis=0)).size  # upright: one column of ink
    1
    """
    g = np.asarray(glyph, dtype=np.float32)
    total = float(g.sum())
    if total <= 0:
        return g
    cy, cx = centre_of_mass(g)
    ys, xs = np.mgrid[: g.shape[0], : g.shape[1]]
    mu02 = float((g * (ys - cy) ** 2).sum()) / total
    mu11 = float((g * (ys - cy) * (xs - cx)).sum()) / total
    if mu02 < 1e-6:
        return g
    return shear_rows(g, mu11 / mu02, cy)


def shear_rows(image: np.ndarray, shear: float, centre_row: float) -> np.ndarray:
    """``image`` (float grey levels) sheared horizontally: row y moves by ``shear * (y -
    centre_row)`` pixels to the left (the top leans right for a positive ``shear`` when the
    centre is below it), bilinear, on a canvas widened by ``ceil(|shear| * height)`` so that
    the ink stays inside.

    >>> shear_rows(np.ones((4, 3), np.float32), 0.5, 2.0).shape
    (4, 5)
    """
    from PIL import Image

    g = np.asarray(image, dtype=np.float32)
    h, w = g.shape
    extra = int(np.ceil(abs(shear) * h))
    # output (x, y) samples input (x + shear * (y - cy) - offset, y): the offset keeps it inside
    offset = extra / 2
    img = Image.fromarray(g, mode="F")
    sheared = img.transform((w + extra, h), Image.Transform.AFFINE,
                            (1.0, shear, -shear * centre_row - offset, 0.0, 1.0, 0.0),
                            resample=Image.Resampling.BILINEAR)
    return np.asarray(sheared, dtype=np.float32)


def normalize_glyph(glyph, slant: bool = False) -> np.ndarray:
    """The glyph as an MNIST digit: ink bright on black, the ink box scaled to fit 20x20 with
    its aspect ratio kept (area-averaged when shrinking, bilinear when enlarging), centred by
    its centre of mass in a 28x28 field. ``slant=True`` deslants it first. An empty glyph
    gives an all-zero field.

    ``glyph``: ``(H, W)``, a boolean mask or grey levels with the ink bright (any dtype).

    >>> g = np.zeros((60, 30), dtype=bool); g[5:55, 10:20] = True  # a bar 50 tall, 10 wide
    >>> out = normalize_glyph(g)
    >>> out.shape, out.dtype, ink_box(out > 127), centre_of_mass(out)
    ((28, 28), dtype('uint8'), (5, 25, 13, 17), (14.5, 14.5))
    """
    return fit_ink(glyph, (BOX, BOX), (FIELD, FIELD), (CENTRE, CENTRE), "normalize_glyph",
                   slant=slant)


def fit_ink(glyph, box: tuple, field: tuple, centre: tuple, where: str,
            slant: bool = False) -> np.ndarray:
    """The ink of ``glyph`` (a 2-D mask or grey levels, ink bright) as uint8 ``field``
    (rows, cols): its ink box scaled to fit ``box`` keeping its aspect ratio (area-averaged
    when shrinking, bilinear when enlarging), placed in whole pixels so that its centre of
    mass lands within half a pixel of ``centre``; zeros for a glyph without ink. ``where``
    names the caller in errors."""
    from PIL import Image

    g = np.asarray(glyph)
    if g.ndim != 2:
        raise ValueError(f"{where}: argument 'glyph' must be a 2-D array (H, W), "
                         f"received shape {g.shape}")
    g = g.astype(np.float32)
    peak = float(g.max()) if g.size else 0.0
    if peak <= 0:
        return np.zeros(field, np.uint8)
    g = g / peak
    if slant:
        g = deslant(g)
    y0, y1, x0, x1 = ink_box(g > 0)
    g = g[y0:y1, x0:x1]
    h, w = g.shape
    scale = min(box[0] / h, box[1] / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = np.asarray(Image.fromarray(g, mode="F").resize((nw, nh), method), np.float32)
    small = np.clip(small, 0.0, 1.0)
    cy, cx = centre_of_mass(small)
    # whole-pixel placement, as MNIST: the centre of mass lands within half a pixel of centre
    top = int(np.clip(np.floor(centre[0] - cy + 0.5), 0, field[0] - nh))
    left = int(np.clip(np.floor(centre[1] - cx + 0.5), 0, field[1] - nw))
    out = np.zeros(field, np.float32)
    out[top:top + nh, left:left + nw] = small
    return np.round(out * 255).astype(np.uint8)
