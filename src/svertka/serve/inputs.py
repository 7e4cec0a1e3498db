"""From the bytes a page sends to the array a network receives, and back to a picture.

A drawing or an upload becomes the network's input in one of two ways, chosen by the kind
of model (``model_kind``):

- ``"digits"`` and ``"letters"`` (a 28x28x1 input, as MNIST and EMNIST): the image is made
  MNIST-like, as the data the model learnt from was made: grey, ink bright on black, the ink
  box scaled to fit 20x20 keeping its aspect, its centre of mass at the centre of the 28x28
  field (``svertka.ocr.normalize.fit_ink``). A digit drawn small in a corner of the canvas
  then reaches the network as MNIST's digits did.
- ``"images"``: RGB (or grey for one channel) resized to the input's height and width.

Pixels end in the units the model takes: [0, 1], or 0-255 for a model that rescales its
input itself (``svertka.viz._model.pixel_range``).

Shapes: a prepared input is ``(H, W, C)`` float32; a picture for the page is a PNG data URL.
"""

from __future__ import annotations

import base64
import io

import numpy as np

MAX_PIXELS = 40_000_000  # decoded at most; a 50 MB PNG can declare billions
INK_FLOOR = 0.1  # ink fainter than this fraction of the darkest stroke is taken for paper
DISPLAY_SIZE = 140  # the page shows the input at least this many pixels across


def decode(data: bytes, where: str = "POST /api/predict"):
    """The image in ``data`` (PNG, JPEG, GIF, BMP, WebP, ...) as a loaded PIL image, turned
    upright by its EXIF orientation. Raises ValueError, saying what was received, for an
    empty body, bytes Pillow cannot read, a damaged file or more than ``MAX_PIXELS``."""
    from svertka.datasets.images import open_image

    if not data:
        raise ValueError(f"{where}: the request has no body; send the image's bytes (a PNG "
                         f"from the canvas, or an image file as it is)")

    def check_size(size):
        w, h = size
        if w * h > MAX_PIXELS:
            raise ValueError(f"{where}: the image is {w}x{h} = {w * h:,} pixels, more than the "
                             f"limit of {MAX_PIXELS:,}; scale it down first")

    return open_image(data, "the upload", where, check_size)


def model_kind(input_shape, classes: int, class_names=None) -> str:
    """``"digits"``, ``"letters"`` or ``"images"``: how a drawing becomes this model's input.
    A 28x28x1 input is read as handwriting (digits for 10 classes, letters otherwise) unless
    its class names are words (Fashion-MNIST's "T-shirt/top" is not drawn like a digit).

    >>> model_kind((28, 28, 1), 10), model_kind((28, 28, 1), 26), model_kind((32, 32, 3), 10)
    ('digits', 'letters', 'images')
    """
    if tuple(input_shape) != (28, 28, 1):
        return "images"
    if class_names and any(len(str(n)) > 1 for n in class_names):
        return "images"
    return "digits" if classes == 10 else "letters"


def grey_on_paper(img) -> np.ndarray:
    """(H, W) float32 grey levels in [0, 1] of ``img``. Transparent pixels are paper: white
    under dark ink, black under light ink (a canvas may draw either on a clear background)."""

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255
        alpha = rgba[..., 3]
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
        solid = alpha > 0.5
        light_ink = solid.any() and not solid.all() and grey[solid].mean() > 0.5
        paper = 0.0 if light_ink else 1.0
        return (grey * alpha + paper * (1 - alpha)).astype(np.float32)
    return np.asarray(img.convert("L"), dtype=np.float32) / np.float32(255)


def ink(grey: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1], ink bright on black: the paper's level (the median) is taken
    away, dark ink on light paper is inverted first (``svertka.ocr.image.dark_ink``), and
    specks fainter than ``INK_FLOOR`` of the strongest stroke are dropped. All zeros when
    there is no ink.

    >>> page = np.ones((5, 5), np.float32); page[2, 1:4] = 0.0   # a dark dash on white
    >>> ink(page)[2].tolist(), float(ink(page).sum())
    ([0.0, 1.0, 1.0, 1.0, 0.0], 3.0)
    """
    from svertka.ocr.image import dark_ink

    g = 1.0 - grey if dark_ink(grey) else grey
    g = np.clip(g - np.median(g), 0.0, None)
    peak = float(g.max()) if g.size else 0.0
    if peak <= 1 / 255:
        return np.zeros_like(g, dtype=np.float32)
    g = g / peak
    g[g < INK_FLOOR] = 0.0
    return g.astype(np.float32)


def prepare(img, input_shape, kind: str, value_range, source: str = "upload",
            where: str = "POST /api/predict") -> np.ndarray:
    """The network's input for the PIL image ``img``: (H, W, C) float32 in the model's units
    ``value_range`` = (black, white). ``kind`` as ``model_kind``; ``source`` ``"canvas"`` or
    ``"upload"`` only changes the message when there is nothing to read. Raises ValueError
    for an empty canvas, or an upload without ink for a handwriting model."""
    from svertka.ocr.normalize import BOX, CENTRE, FIELD, fit_ink

    h, w, c = (int(s) for s in input_shape)
    low, high = value_range
    grey = grey_on_paper(img)
    if kind in ("digits", "letters"):
        strokes = ink(grey)
        if not strokes.any():
            raise ValueError(_nothing(source, kind, where))
        pixels = fit_ink(strokes, (BOX, BOX), (FIELD, FIELD), (CENTRE, CENTRE), where)
        x = pixels.astype(np.float32)[..., None] / 255
    else:
        if source == "canvas" and np.ptp(grey) < 1 / 255:
            raise ValueError(_nothing(source, kind, where))
        from PIL import Image

        if c not in (1, 3):
            raise ValueError(f"{where}: the model takes {c} channels per pixel; an image gives "
                             f"1 (grey) or 3 (RGB)")
        if c == 1:  # the grey levels read above, transparent pixels as paper
            flat = Image.fromarray(grey, mode="F")
        else:
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            flat = Image.alpha_composite(background, img.convert("RGBA")).convert("RGB")
        resized = flat.resize((w, h), Image.Resampling.BILINEAR)
        x = np.asarray(resized, dtype=np.float32).reshape(h, w, -1)
        x = x if c == 1 else x / 255
    return (x * (high - low) + low).astype(np.float32)


def _nothing(source: str, kind: str, where: str) -> str:
    what = {"digits": "a digit", "letters": "a letter"}.get(kind, "something")
    if source == "canvas":
        return f"{where}: the canvas is empty; draw {what} first"
    return f"{where}: the image has no ink to read (it is one flat colour); upload {what}"


def display(x: np.ndarray, value_range) -> np.ndarray:
    """An input (H, W, C) in the model's units as uint8 for a picture: (H, W) grey or
    (H, W, 3) colour, black at ``value_range[0]``, white at ``value_range[1]``."""
    low, high = value_range
    v = np.clip((np.asarray(x, np.float64) - low) / (high - low), 0.0, 1.0)
    v = np.round(v * 255).astype(np.uint8)
    return v[..., 0] if v.shape[-1] == 1 else v[..., :3]


def scale_for(shape, size: int = DISPLAY_SIZE) -> int:
    """The whole factor that makes an (H, W, ...) picture at least ``size`` pixels across.

    >>> scale_for((28, 28)), scale_for((32, 32, 3)), scale_for((224, 224, 3))
    (5, 5, 1)
    """
    return max(1, -(-size // min(int(shape[0]), int(shape[1]))))


def png_url(pixels: np.ndarray, scale: int = 1) -> str:
    """uint8 (H, W) or (H, W, 3|4) as a ``data:image/png;base64,...`` URL, each pixel drawn
    as a ``scale`` x ``scale`` block (nearest: the network's pixels stay visible).

    >>> png_url(np.zeros((2, 2), np.uint8))[:22]
    'data:image/png;base64,'
    """
    from PIL import Image

    a = np.asarray(pixels, dtype=np.uint8)
    if scale > 1:
        a = a.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(a).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
