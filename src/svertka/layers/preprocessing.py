"""Preprocessing and augmentation inside the model, with Keras 3's names, defaults and maths,
so a saved model takes raw pixels (SPEC §6: ``x / 255``) and augments while it trains.

=================  ==========================================================  ============
Rescaling          ``x * scale + offset``                                      always
Resizing           bilinear or nearest resize to (height, width)               always
CenterCrop         the central (height, width) window                          always
RandomFlip         mirror left-right and/or top-bottom                         ``fit`` only
RandomRotation     rotate by ``factor`` of a full turn                         ``fit`` only
RandomZoom         zoom out (factor > 0) or in (< 0) about the centre          ``fit`` only
RandomTranslation  shift by a share of the height and width                    ``fit`` only
RandomContrast     ``(x - mean) * f + mean`` per image and channel, clipped    ``fit`` only
=================  ==========================================================  ============

The random layers act only when called with ``training=True`` (as ``fit`` calls a model);
``predict``, ``evaluate`` and a plain call pass the input through (cast to float32 if it
held integers, as Keras casts). Each image draws its own parameters from the layer's own
generator when it was given a ``seed`` (the layer then repeats its draws when rebuilt from its
config), else from ``svertka.random.generator()``.

Geometry as Keras 3 (its torch and JAX backends): an output pixel ``(row, col)`` reads the
input at an affine map of itself; the four bilinear taps (one for ``'nearest'``, which rounds
half to even) that fall outside the image are read by ``fill_mode``: ``'reflect'``
(``d c b a | a b c d | d c b a``), ``'wrap'`` (``a b c d | a b c d``), ``'nearest'``
(``a a a a | a b c d | d d d d``) or ``'constant'`` (``fill_value``). The maths is written here,
not borrowed from ``svertka.augment``, because these are linear maps with a known adjoint:
every layer has its backward (a flip flips the gradient, a warp scatters it back to the taps
it read), so a model may ask for the gradient of its input.

Inputs are channels-last batches (N, H, W, C); ``data_format='channels_first'`` is refused.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)
>>> CenterCrop(2, 2)(x).numpy()[0, :, :, 0].tolist()
[[5.0, 6.0], [9.0, 10.0]]
>>> bool((RandomRotation(0.2)(x).numpy() == x).all())  # not training: the identity
True
"""

from __future__ import annotations

import numbers

import numpy as np

from svertka import checks
from svertka import random as srandom
from svertka.backend import get_array_module
from svertka.layers import _args
from svertka.layers.base import Layer
from svertka.ops._inputs import float_input
from svertka.ops.resample import (
    FILL_MODES,
    INTERPOLATIONS,
    Contrast,
    Flip,
    crop_window,
    resize,
    resize_matrix,
    rotation_matrices,
    warp,
)

FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# -- arguments -------------------------------------------------------------------------------
def _choice(layer: str, arg: str, value, options: tuple) -> str:
    if value not in options:
        raise ValueError(
            f"{layer}: argument '{arg}' must be one of {', '.join(map(repr, options))}, "
            f"received {value!r}"
        )
    return value


def _seed(layer: str, seed):
    return None if seed is None else checks.non_negative_int(layer, "seed", seed)


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def keras_factor(layer: str, arg: str, value, low: float, high: float,
                 low_open: bool = False) -> tuple[float, float]:
    """``(lower, upper)`` from Keras's factor forms: a number ``f`` gives ``(-|f|, |f|)``, a
    pair is sorted; every number must lie in ``[low, high]`` (``(low, high]`` with
    ``low_open``), as ``RandomZoom``, ``RandomTranslation`` check.

    >>> keras_factor("RandomZoom", "height_factor", (0.2, -0.1), -1.0, 1.0, low_open=True)
    (-0.1, 0.2)
    """
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    bound = f"{'(' if low_open else '['}{low}, {high}]"
    if (
        len(items) != (2 if isinstance(value, (tuple, list)) else 1)
        or not all(_number(v) and np.isfinite(v) for v in items)
        or any(v > high or v < low or (low_open and v == low) for v in items)
    ):
        raise ValueError(
            f"{layer}: argument '{arg}' must be a number or a pair (low, high) of numbers in "
            f"{bound}, received {value!r}"
        )
    if len(items) == 1:
        return -abs(float(items[0])), abs(float(items[0]))
    a, b = sorted(float(v) for v in items)
    return a, b


def keras_base_factor(layer: str, value, low: float, high: float) -> tuple[float, float]:
    """Keras's ``BaseImagePreprocessingLayer._set_factor`` (``RandomRotation``,
    ``RandomContrast``): a number ``f`` in ``[low, high]`` gives ``(max(-|f|, low), |f|)``, a
    pair ``(a, b)`` with ``a <= high`` and ``b >= low`` is sorted.

    >>> keras_base_factor("RandomContrast", 0.2, 0.0, 1.0)
    (0.0, 0.2)
    """
    error = ValueError(
        f"{layer}: argument 'factor' must be a number (or a pair of numbers) in [{low}, "
        f"{high}], received {value!r}"
    )
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not all(_number(v) and np.isfinite(v) for v in value):
            raise error
        if value[0] > high or value[1] < low:
            raise error
        a, b = sorted(float(v) for v in value)
        return a, b
    if not (_number(value) and np.isfinite(value)) or not low <= value <= high:
        raise error
    f = abs(float(value))
    return max(-f, low), f


def _plain(value):
    """A number as a Python int or float (NumPy scalars are not JSON), anything else as is."""
    if checks.is_int(value):
        return int(value)
    return float(value) if _number(value) else value


def _factor_config(value):
    """A factor as given, in JSON's terms: a number, a list of two, or None."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else _plain(value)



# -- layers -------------------------------------------------------------------------------------
class Rescaling(Layer):
    """``y = x * scale + offset``; ``Rescaling(1 / 255)`` maps uint8 pixels to [0, 1].

    Integer inputs (raw pixels) are computed in float32, as every op does
    (``svertka.ops._inputs``).

    >>> import numpy as np
    >>> Rescaling(1 / 255)(np.full((1, 2), 255, np.uint8)).numpy().tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, scale: float, offset: float = 0.0, **kwargs):
        self.scale = checks.finite_float("Rescaling", "scale", scale)
        self.offset = checks.finite_float("Rescaling", "offset", offset)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        y = inputs * self.scale
        return y + self.offset if self.offset else y

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class _ImageLayer(Layer):
    """A layer on (N, H, W, C) batches that keeps their shape unless it says otherwise."""

    def compute_output_shape(self, input_shape):
        return _args.image_shape(type(self).__name__, input_shape)

    def check_input_shape(self, input_shape) -> None:
        _args.image_shape(type(self).__name__, input_shape)


class Resizing(_ImageLayer):
    """Resize every image to ``(height, width)``: Keras's ``Resizing``, in inference and
    training alike.

    ``interpolation``: ``'bilinear'`` (half-pixel centres, as PyTorch's ``interpolate(
    align_corners=False, antialias=False)``, which Keras's torch backend calls) or
    ``'nearest'`` (``floor((o + 0.5) * H / OH)``, as Keras's TensorFlow and JAX backends).
    ``crop_to_aspect_ratio=True`` first keeps the largest central window of the target's
    aspect ratio (no distortion); ``pad_to_aspect_ratio=True`` instead adds a symmetric border
    of ``fill_value``. Integer images come back as float32 holding Keras's values (rounded and
    clipped to the input's integer range; Keras keeps the integer dtype). Keras's
    ``'bicubic'``/``'lanczos'`` and ``antialias=True`` are not implemented (a ValueError).
    The gradient is the adjoint of the resize.

    >>> import numpy as np
    >>> Resizing(2, 4)(np.ones((1, 4, 2, 3))).shape
    (1, 2, 4, 3)
    >>> Resizing(1, 4)(np.array([[1.0, 3.0]]).reshape(1, 1, 2, 1)).numpy().ravel().tolist()
    [1.0, 1.5, 2.5, 3.0]
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, **kwargs):
        op = "Resizing"
        _args.channels_last(op, kwargs.pop("data_format", None))
        self.height = checks.positive_int(op, "height", height)
        self.width = checks.positive_int(op, "width", width)
        self.interpolation = _choice(op, "interpolation", interpolation, INTERPOLATIONS)
        self.crop_to_aspect_ratio = checks.flag(op, "crop_to_aspect_ratio", crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = checks.flag(op, "pad_to_aspect_ratio", pad_to_aspect_ratio)
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ValueError(f"{op}: only one of 'pad_to_aspect_ratio' and "
                             f"'crop_to_aspect_ratio' can be True, received both True")
        self.fill_mode = _choice(op, "fill_mode", fill_mode, ("constant",))
        self.fill_value = checks.finite_float(op, "fill_value", fill_value)
        if checks.flag(op, "antialias", antialias):
            raise ValueError(f"{op}: argument 'antialias' must be False (svertka resizes "
                             f"without antialiasing), received True")
        self.antialias = False
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, _, _, c = _args.image_shape("Resizing", input_shape)
        return (n, self.height, self.width, c)

    def call(self, inputs, training: bool = False):
        x = float_input("Resizing", inputs)
        y = resize(x, (self.height, self.width), self.interpolation, self.crop_to_aspect_ratio,
                   self.pad_to_aspect_ratio, self.fill_value)
        kind = inputs.dtype.kind if hasattr(inputs, "dtype") else "f"
        if kind in "iu":  # Keras's rounding back to the integer range, kept in float32
            info = np.iinfo(inputs.dtype)
            xp = get_array_module(y.data)
            y = type(y)(xp.clip(xp.rint(y.data), info.min, info.max))
        return y

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_ImageLayer):
    """Keep the central ``(height, width)`` window of every image (Keras's ``CenterCrop``, in
    inference and training alike); the window starts at ``(H - height) // 2``. An image
    smaller than the target along either axis is instead cropped to the target's aspect
    ratio and resized bilinearly (Keras's ``smart_resize``). The gradient is gy put back in
    place (zeros where cut), or the adjoint of that resize.

    >>> import numpy as np
    >>> CenterCrop(3, 3)(np.ones((2, 8, 6, 1))).shape
    (2, 3, 3, 1)
    """

    def __init__(self, height: int, width: int, **kwargs):
        _args.channels_last("CenterCrop", kwargs.pop("data_format", None))
        self.height = checks.positive_int("CenterCrop", "height", height)
        self.width = checks.positive_int("CenterCrop", "width", width)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        n, _, _, c = _args.image_shape("CenterCrop", input_shape)
        return (n, self.height, self.width, c)

    def call(self, inputs, training: bool = False):
        x = float_input("CenterCrop", inputs)
        h, w = x.shape[1:3]
        size = (self.height, self.width)
        if h >= self.height and w >= self.width:
            return crop_window(x, (h - self.height) // 2, (w - self.width) // 2, *size)
        return resize(x, size, "bilinear", crop_to_aspect_ratio=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width}


class _RandomLayer(_ImageLayer):
    """Acts when called with ``training=True``; otherwise the identity (integers cast to
    float32). ``seed`` gives the layer its own generator."""

    def __init__(self, seed, kwargs):
        op = type(self).__name__
        _args.channels_last(op, kwargs.pop("data_format", None))
        self.seed = _seed(op, seed)
        self._rng = None if self.seed is None else np.random.default_rng(self.seed)
        super().__init__(**kwargs)

    def call(self, inputs, training: bool = False):
        x = float_input(type(self).__name__, inputs)
        if not training or x.shape[0] == 0:
            return x
        return self.augment(x, self._rng if self._rng is not None else srandom.generator())

    def augment(self, x, rng: np.random.Generator):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


class _RandomWarp(_RandomLayer):
    """The fill and interpolation arguments shared by rotation, zoom and translation."""

    def __init__(self, fill_mode, interpolation, seed, fill_value, kwargs):
        op = type(self).__name__
        self.fill_mode = _choice(op, "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = _choice(op, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_value = checks.finite_float(op, "fill_value", fill_value)
        super().__init__(seed, kwargs)

    def augment(self, x, rng):
        return warp(x, self.matrices(x.shape, rng), self.interpolation, self.fill_mode,
                    self.fill_value)

    def get_config(self) -> dict:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomFlip(_RandomLayer):
    """In training, mirror each image with probability 1/2: left-right (``'horizontal'``),
    top-bottom (``'vertical'``) or, for ``'horizontal_and_vertical'`` (the default), both at
    once, as Keras 3 does (one draw per image decides both: a half turn).

    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
    >>> sorted({tuple(RandomFlip("horizontal", seed=s)(x, training=True).numpy().ravel().tolist())
    ...         for s in range(6)})
    [(0.0, 1.0, 2.0, 3.0), (3.0, 2.0, 1.0, 0.0)]
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 **kwargs):
        self.mode = _choice("RandomFlip", "mode", mode, FLIP_MODES)
        super().__init__(seed, kwargs)

    def augment(self, x, rng):
        flips = rng.random(x.shape[0]) <= 0.5
        none = np.zeros_like(flips)
        cols = flips if self.mode != "vertical" else none
        rows = flips if self.mode != "horizontal" else none
        return Flip(rows, cols)(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_RandomWarp):
    """In training, rotate each image about its centre by ``factor`` of a full turn drawn
    uniformly: a number f means ``[-f, f]`` (so 0.1 is up to 36 degrees either way), a pair
    ``(low, high)`` that range; each in [-1, 1]. Positive turns counter-clockwise. The
    corners are filled by ``fill_mode`` (Keras's default ``'reflect'``).

    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> y = RandomRotation((0.25, 0.25))(x, training=True)  # always a quarter turn
    >>> np.allclose(y.numpy()[0, :, :, 0], np.rot90(x[0, :, :, 0]))
    True
    """

    def __init__(self, factor, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs):
        self.factor = keras_base_factor("RandomRotation", factor, -1.0, 1.0)
        super().__init__(fill_mode, interpolation, seed, fill_value, kwargs)

    def matrices(self, shape, rng):
        angles = rng.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, shape[0])
        return rotation_matrices(angles, shape[1], shape[2])

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_RandomWarp):
    """In training, zoom each image about its centre: the output reads the input at ``z``
    times its distance from the centre, ``z = 1 + u`` with u drawn in ``height_factor`` (a
    number f: ``[-f, f]``; a pair: that range; each in (-1, 1]). Positive factors zoom out
    (the content shrinks, the border is filled by ``fill_mode``), negative zoom in.
    ``width_factor=None`` (the default) zooms the width as the height, keeping the aspect.

    >>> import numpy as np
    >>> RandomZoom(0.2, seed=0)(np.ones((2, 8, 8, 3)), training=True).shape
    (2, 8, 8, 3)
    """

    def __init__(self, height_factor, width_factor=None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs):
        op = "RandomZoom"
        self.height_factor = _factor_config(height_factor)
        self.height_range = keras_factor(op, "height_factor", height_factor, -1.0, 1.0, True)
        self.width_factor = _factor_config(width_factor)
        self.width_range = (None if width_factor is None else
                            keras_factor(op, "width_factor", width_factor, -1.0, 1.0, True))
        super().__init__(fill_mode, interpolation, seed, fill_value, kwargs)

    def matrices(self, shape, rng):
        n, h, w = shape[:3]
        zy = 1.0 + rng.uniform(*self.height_range, n)
        zx = zy if self.width_range is None else 1.0 + rng.uniform(*self.width_range, n)
        zeros = np.zeros(n)
        return np.stack([zx, zeros, (w - 1) / 2 * (1 - zx), zeros, zy, (h - 1) / 2 * (1 - zy)],
                        axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_RandomWarp):
    """In training, shift each image by a share of its height and width drawn in
    ``height_factor`` and ``width_factor`` (a number f: ``[-f, f]``; a pair: that range; each
    in [-1, 1]); positive moves the content down and right. Sub-pixel shifts are bilinear.

    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
    >>> layer = RandomTranslation(0, (0.25, 0.25), fill_mode="constant")  # always 1 pixel right
    >>> layer(x, training=True).numpy().ravel().tolist()
    [0.0, 0.0, 1.0, 2.0]
    """

    def __init__(self, height_factor, width_factor, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs):
        op = "RandomTranslation"
        self.height_factor = _factor_config(height_factor)
        self.height_range = keras_factor(op, "height_factor", height_factor, -1.0, 1.0)
        self.width_factor = _factor_config(width_factor)
        self.width_range = keras_factor(op, "width_factor", width_factor, -1.0, 1.0)
        super().__init__(fill_mode, interpolation, seed, fill_value, kwargs)

    def matrices(self, shape, rng):
        n, h, w = shape[:3]
        dy = rng.uniform(*self.height_range, n) * h
        dx = rng.uniform(*self.width_range, n) * w
        ones, zeros = np.ones(n), np.zeros(n)
        return np.stack([ones, zeros, -dx, zeros, ones, -dy], axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomContrast(_RandomLayer):
    """In training, ``y = (x - mean) * f + mean`` per image and channel (mean over the
    pixels), clipped to ``value_range``, with f drawn per image in ``[1 - lower, 1 + upper]``.

    ``factor`` as Keras 3.15 reads it: a pair ``(a, b)`` is sorted into ``(lower, upper)``; a
    number ``f`` in [0, 1] gives ``(0, f)``, so ``RandomContrast(0.2)`` draws f in [1, 1.2]
    (Keras's docstring promises [0.8, 1.2]; its code draws this, and so does svertka).

    >>> import numpy as np
    >>> x = np.array([0.0, 100.0]).reshape(1, 1, 2, 1)
    >>> RandomContrast((-0.5, 0.5))(x, training=True).numpy().ravel().tolist()  # f = 1.5
    [0.0, 125.0]
    """

    def __init__(self, factor, value_range=(0, 255), seed: int | None = None, **kwargs):
        op = "RandomContrast"
        self.factor = keras_base_factor(op, factor, 0.0, 1.0)
        if (
            not isinstance(value_range, (tuple, list))
            or len(value_range) != 2
            or not all(_number(v) and np.isfinite(v) for v in value_range)
            or value_range[0] > value_range[1]
        ):
            raise ValueError(f"{op}: argument 'value_range' must be a pair (low, high) of "
                             f"numbers with low <= high, received {value_range!r}")
        self.value_range = tuple(_plain(v) for v in value_range)
        super().__init__(seed, kwargs)

    def augment(self, x, rng):
        f = rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], x.shape[0])
        return Contrast(f.reshape(-1, 1, 1, 1), self.value_range)(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range)}


__all__ = [
    "CenterCrop",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
    "keras_base_factor",
    "keras_factor",
    "resize",
    "resize_matrix",
    "warp",
]

