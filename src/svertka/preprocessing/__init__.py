"""Keras 2's ``keras.preprocessing`` for programs written against it: ``image.ImageDataGenerator``
(a thin shim over ``svertka.augment``'s warper). Keras 3's preprocessing layers
(``Rescaling``, ``RandomFlip``, ...) are layers, in ``svertka.layers``."""

from svertka.preprocessing import image
from svertka.preprocessing.image import ImageDataGenerator

__all__ = ["ImageDataGenerator", "image"]
