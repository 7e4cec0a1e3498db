"""Pipelines of transforms (``Compose``, ``RandomApply``, ``OneOf``) and ``get``, which builds
one from a short string for the command line.
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.augment.affine import Rotation, Shear, Zoom
from svertka.augment.base import Transform, deserialize, serialize
from svertka.augment.color import Brightness, Contrast, Hue, Saturation
from svertka.augment.geometric import HorizontalFlip, RandomCrop, Shift, VerticalFlip
from svertka.augment.noise import Cutout, GaussianNoise


def _check_transforms(transforms, op: str) -> list:
    if isinstance(transforms, (Transform, str)) or not hasattr(transforms, "__iter__"):
        raise TypeError(
            f"{op}: argument 'transforms' must be a list of transforms, received "
            f"{type(transforms).__name__}"
        )
    transforms = list(transforms)
    for t in transforms:
        if not callable(t):
            raise TypeError(
                f"{op}: every item of 'transforms' must be a transform (callable "
                f"as t(x, rng)), received {type(t).__name__}"
            )
    return transforms


class Compose(Transform):
    """Apply ``transforms`` in order, all drawing from the same generator; with ``p < 1`` the
    whole chain is applied to each image with probability ``p``.

    Any callable ``t(x, rng) -> x`` can be an item (only ``Transform`` items serialise).

    >>> import numpy as np
    >>> aug = Compose([HorizontalFlip(), Shift(0.1)])
    >>> aug(np.zeros((8, 32, 32, 3), np.uint8), np.random.default_rng(0)).shape
    (8, 32, 32, 3)
    """

    def __init__(self, transforms, p: float = 1.0):
        super().__init__(p)
        self.transforms = _check_transforms(transforms, type(self).__name__)

    def transform(self, x, rng):
        y = x
        for t in self.transforms:
            y = t(y, rng)
        return y.copy() if y is x else y

    def get_config(self):
        return {"transforms": [serialize(t) for t in self.transforms], **super().get_config()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["transforms"] = [deserialize(t) for t in config["transforms"]]
        return cls(**config)

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i):
        return self.transforms[i]

    def __repr__(self) -> str:
        items = ", ".join(map(repr, self.transforms))
        extra = f", p={self.p!r}" if self.p != 1.0 else ""
        return f"{type(self).__name__}([{items}]{extra})"


class RandomApply(Compose):
    """``Compose`` applied to each image with probability ``p`` (default 0.5).

    >>> import numpy as np
    >>> x = np.ones((100, 4, 4, 1), np.float32)
    >>> y = RandomApply([Brightness((0.5, 0.5))], p=0.5)(x, np.random.default_rng(0))
    >>> 30 < int((y[:, 0, 0, 0] == 1.5).sum()) < 70
    True
    """

    def __init__(self, transforms, p: float = 0.5):
        super().__init__(transforms, p)


class OneOf(Transform):
    """Apply one of ``transforms`` to each image, picked per image with probabilities
    ``weights`` (uniform by default, normalised to sum 1).

    >>> import numpy as np
    >>> aug = OneOf([HorizontalFlip(p=1.0), VerticalFlip(p=1.0)])
    >>> aug(np.zeros((4, 8, 8, 1), np.float32), np.random.default_rng(0)).shape
    (4, 8, 8, 1)
    """

    def __init__(self, transforms, weights=None, p: float = 1.0):
        super().__init__(p)
        self.transforms = _check_transforms(transforms, "OneOf")
        if not self.transforms:
            raise ValueError(
                "OneOf: argument 'transforms' must hold at least one transform, "
                "received an empty list"
            )
        if weights is None:
            weights = [1.0] * len(self.transforms)
        weights = [checks.finite_float("OneOf", "weights", v, 0.0) for v in weights]
        if len(weights) != len(self.transforms) or sum(weights) <= 0:
            raise ValueError(
                f"OneOf: argument 'weights' must hold {len(self.transforms)} "
                f"non-negative numbers, not all 0, received {weights}"
            )
        self.weights = weights

    def transform(self, x, rng):
        probs = np.asarray(self.weights) / sum(self.weights)
        pick = rng.choice(len(self.transforms), size=len(x), p=probs)
        y = np.empty_like(x)
        for k, t in enumerate(self.transforms):
            idx = np.flatnonzero(pick == k)
            if idx.size:
                y[idx] = t(x[idx], rng)
        return y

    def get_config(self):
        return {
            "transforms": [serialize(t) for t in self.transforms],
            "weights": self.weights,
            **super().get_config(),
        }

    def __repr__(self) -> str:
        items = ", ".join(map(repr, self.transforms))
        return f"OneOf([{items}], weights={self.weights!r}, p={self.p!r})"

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["transforms"] = [deserialize(t) for t in config["transforms"]]
        return cls(**config)


# name -> (builder from the value or None, what it builds); see ``get``
SPEC_NAMES = {
    "flip": (lambda v: HorizontalFlip(p=0.5 if v is None else v), "HorizontalFlip(p=value|0.5)"),
    "hflip": (lambda v: HorizontalFlip(p=0.5 if v is None else v), "same as flip"),
    "vflip": (lambda v: VerticalFlip(p=0.5 if v is None else v), "VerticalFlip(p=value|0.5)"),
    "shift": (lambda v: Shift(0.1 if v is None else v), "Shift(max_fraction=value|0.1)"),
    "crop": (
        lambda v: RandomCrop(4 if v is None else _int(v, "crop")),
        "RandomCrop(padding=value|4)",
    ),
    "rotation": (lambda v: Rotation(15 if v is None else v), "Rotation(max_degrees=value|15)"),
    "shear": (lambda v: Shear(10 if v is None else v), "Shear(max_degrees=value|10)"),
    "zoom": (lambda v: Zoom(0.1 if v is None else v), "Zoom(range=(1-value, 1+value)), value|0.1"),
    "brightness": (
        lambda v: Brightness(0.2 if v is None else v),
        "Brightness(max_delta=value|0.2)",
    ),
    "contrast": (
        lambda v: Contrast(0.2 if v is None else v),
        "Contrast(range=(1-value, 1+value)), value|0.2",
    ),
    "saturation": (
        lambda v: Saturation(0.2 if v is None else v),
        "Saturation(range=(1-value, 1+value)), value|0.2",
    ),
    "hue": (lambda v: Hue(0.05 if v is None else v), "Hue(max_delta=value|0.05)"),
    "noise": (lambda v: GaussianNoise(0.03 if v is None else v), "GaussianNoise(std=value|0.03)"),
    "cutout": (lambda v: Cutout(8 if v is None else _int(v, "cutout")), "Cutout(size=value|8)"),
}


def _int(v: float, name: str) -> int:
    if v != int(v):
        raise ValueError(f"augment.get: '{name}' takes a whole number of pixels, received {v}")
    return int(v)


def _parse(spec: str) -> Compose:
    transforms = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        name = name.strip().lower()
        if name not in SPEC_NAMES:
            raise ValueError(
                f"augment.get: unknown augmentation {name!r} in {spec!r}; valid "
                f"names: {', '.join(SPEC_NAMES)} (e.g. "
                f"'flip,shift=0.1,rotation=15,cutout=8')"
            )
        number = None
        if value.strip():
            try:
                number = float(value)
            except ValueError:
                raise ValueError(
                    f"augment.get: {name!r} takes a number, received {value.strip()!r} in {spec!r}"
                ) from None
        transforms.append(SPEC_NAMES[name][0](number))
    return Compose(transforms)


def get(identifier):
    """An augmentation from what a user or the command line gives.

    * a string of comma-separated ``name`` or ``name=value`` items -> ``Compose`` of them, in
      order (names are case-insensitive; a missing value takes the default after ``|``):

      ==========  ==============================================
      flip        HorizontalFlip(p=value|0.5)   (also ``hflip``)
      vflip       VerticalFlip(p=value|0.5)
      shift       Shift(max_fraction=value|0.1)
      crop        RandomCrop(padding=value|4)
      rotation    Rotation(max_degrees=value|15)
      shear       Shear(max_degrees=value|10)
      zoom        Zoom(range=(1 - value, 1 + value)), value|0.1
      brightness  Brightness(max_delta=value|0.2)
      contrast    Contrast(range=(1 - value, 1 + value)), value|0.2
      saturation  Saturation(range=(1 - value, 1 + value)), value|0.2
      hue         Hue(max_delta=value|0.05)
      noise       GaussianNoise(std=value|0.03)
      cutout      Cutout(size=value|8)
      ==========  ==============================================

    * None, ``""`` or ``"none"`` -> None (no augmentation);
    * a ``Transform`` or any callable ``f(x, rng)`` -> itself;
    * a list -> ``Compose`` of ``get`` of each item;
    * a dict from ``serialize`` -> the transform it describes.

    >>> get("flip,shift=0.1,rotation=15,cutout=8")  # doctest: +NORMALIZE_WHITESPACE
    Compose([HorizontalFlip(p=0.5), Shift(max_fraction=0.1, mode='zeros', p=1.0),
             Rotation(max_degrees=(-15.0, 15.0), mode='zeros', p=1.0),
             Cutout(size=8, count=1, fill=0.0, p=1.0)])
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier.strip().lower() in ("", "none"):
            return None
        return _parse(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, (list, tuple)):
        return Compose([t for t in map(get, identifier) if t is not None])
    if callable(identifier):
        return identifier
    raise TypeError(
        f"augment.get: argument 'identifier' must be a spec string such as "
        f"'flip,shift=0.1', a transform, a list of them, a serialized dict or None, "
        f"received {type(identifier).__name__}"
    )
