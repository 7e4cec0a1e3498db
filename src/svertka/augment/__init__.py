"""Data augmentation on batches of images (SPEC §10): online, random per image and per batch
while training, and test-time augmentation (``svertka.augment.tta``).

Every transform is called as ``t(x, rng) -> y`` on a batch x (N, H, W, C), channels-last,
uint8 or float, with a NumPy ``Generator``; y has x's shape and dtype (uint8 rounded and
clipped to [0, 255], floats not clipped), x is never modified, and each image draws its own
parameters. See ``svertka.augment.base`` for the conventions (value units, fill modes).

=================  ====================================================================
HorizontalFlip     mirror left-right, ``p=0.5``
VerticalFlip       mirror top-bottom, ``p=0.5``
Shift              whole-pixel shift up to ``max_fraction`` of the size per axis
RandomCrop         pad by ``padding`` and crop back (the CIFAR recipe)
Rotation           bilinear rotation by up to ``max_degrees``
Shear              horizontal shear by up to ``max_degrees``
Zoom               scale by a factor in ``range``
Affine             rotation, shear, zoom and sub-pixel shift in one warp
Brightness         add up to ``max_delta`` of the full range
Contrast           scale about the image mean by a factor in ``range``
Saturation         blend with the grey image by a factor in ``range`` (RGB only)
Hue                turn the hue by up to ``max_delta`` of a circle (RGB only)
GaussianNoise      add noise of ``std`` (share of the full range)
Cutout             zero ``count`` squares of ``size`` pixels
Compose            a list applied in order; ``RandomApply`` (with ``p``), ``OneOf``
=================  ====================================================================

``get("flip,shift=0.1,rotation=15,cutout=8")`` builds a ``Compose`` from a short string (the
names are listed in ``get``'s docstring); ``serialize``/``deserialize`` give JSON configs.

The ``BatchLoader`` runs them in a background thread, beside the training step (their times
per batch: docs/performance.md).

>>> import numpy as np
>>> from svertka import augment
>>> aug = augment.get("flip,crop=4,cutout=8")
>>> x = np.zeros((16, 32, 32, 3), np.uint8)
>>> y = aug(x, np.random.default_rng(0))
>>> y.shape, y.dtype
((16, 32, 32, 3), dtype('uint8'))
"""

from svertka.augment import tta
from svertka.augment.affine import Affine, Rotation, Shear, Zoom, affine_matrices, warp_affine
from svertka.augment.base import Transform, deserialize, serialize
from svertka.augment.color import Brightness, Contrast, Hue, Saturation, hsv_to_rgb, rgb_to_hsv
from svertka.augment.compose import Compose, OneOf, RandomApply, get
from svertka.augment.geometric import HorizontalFlip, RandomCrop, Shift, VerticalFlip, shift_images
from svertka.augment.noise import Cutout, GaussianNoise
from svertka.augment.tta import default_tta, tta_predict

__all__ = [
    "Affine",
    "Brightness",
    "Compose",
    "Contrast",
    "Cutout",
    "GaussianNoise",
    "HorizontalFlip",
    "Hue",
    "OneOf",
    "RandomApply",
    "RandomCrop",
    "Rotation",
    "Saturation",
    "Shear",
    "Shift",
    "Transform",
    "VerticalFlip",
    "Zoom",
    "affine_matrices",
    "default_tta",
    "deserialize",
    "get",
    "hsv_to_rgb",
    "rgb_to_hsv",
    "serialize",
    "shift_images",
    "tta",
    "tta_predict",
    "warp_affine",
]
