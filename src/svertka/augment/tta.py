"""Test-time augmentation (SPEC §10): predict on several augmented copies of each image and
average the predictions.
"""

from __future__ import annotations

import numpy as np

from svertka import checks
from svertka.augment.base import check_images, check_rng
from svertka.augment.compose import Compose, get
from svertka.augment.geometric import HorizontalFlip, Shift


def default_tta() -> Compose:
    """``HorizontalFlip(p=0.5)`` then ``Shift(0.0625)`` (up to 2 pixels on 32 x 32): suits
    natural images such as CIFAR. Digits and text are not mirror-symmetric: for MNIST pass
    e.g. ``Shift(0.1)`` alone."""
    return Compose([HorizontalFlip(p=0.5), Shift(0.0625)])


def _as_numpy(out) -> np.ndarray:
    from svertka.autograd import Tensor
    from svertka.backend import to_numpy

    return to_numpy(out.data if isinstance(out, Tensor) else out)


def tta_predict(predict_fn, x, n: int, augment=None, rng=None, batch_size: int = 32):
    """Average ``predict_fn`` over ``n`` copies of each image of x (N, H, W, C).

    Copy 0 is the image itself, unaugmented; copies 1 .. n-1 go through ``augment`` (default
    ``default_tta()``; a spec string such as ``"shift=0.1"`` works too), each with its own
    random draw from ``rng`` (a Generator, an int seed, or None for svertka's global
    generator). So ``n=1`` is plain prediction.

    Batched: the images are taken ``batch_size`` at a time and ``predict_fn`` is called once per
    group on all ``batch_size * n`` copies, in x's dtype (uint8 stays uint8: the model, or
    ``predict_fn``, does its own scaling, e.g. ``lambda z: model.predict(z / 255)``). It must
    return one prediction per copy, (batch_size * n, ...); the result is their mean per image,
    (N, ...), e.g. class probabilities.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((5, 8, 8, 3), dtype=np.float32)
    >>> mean_pixel = lambda z: z.mean(axis=(1, 2, 3))[:, None]  # blind to flips and shifts
    >>> p = tta_predict(mean_pixel, x, n=4, augment="flip")
    >>> bool(np.allclose(p, mean_pixel(x)))
    True
    """
    x = check_images(x, "tta_predict")
    n = checks.positive_int("tta_predict", "n", n)
    batch_size = checks.positive_int("tta_predict", "batch_size", batch_size)
    if not callable(predict_fn):
        raise TypeError(
            f"tta_predict: argument 'predict_fn' must be callable, received "
            f"{type(predict_fn).__name__}"
        )
    augment = default_tta() if augment is None else get(augment)
    if augment is None:
        raise ValueError(
            "tta_predict: argument 'augment' builds no augmentation (an empty "
            "spec); leave it None for the default, or use n=1 for no copies"
        )
    rng = check_rng(rng, "tta_predict")
    outs = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        b = len(xb)
        copies = [xb]
        if n > 1:  # the n - 1 copies of the group in one call: (n-1) * b images
            copies.append(augment(np.concatenate([xb] * (n - 1)), rng))
        pred = _as_numpy(predict_fn(np.concatenate(copies)))
        if pred.shape[:1] != (n * b,):
            raise ValueError(
                f"tta_predict: 'predict_fn' must return one prediction per image, "
                f"({n * b}, ...) for {n * b} images, received shape {pred.shape}"
            )
        outs.append(pred.reshape(n, b, *pred.shape[1:]).mean(axis=0))  # copy-major order
    if not outs:
        raise ValueError(f"tta_predict: argument 'x' holds no images, received shape {x.shape}")
    return np.concatenate(outs)
