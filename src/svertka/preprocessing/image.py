"""Keras 2's ``ImageDataGenerator`` (``keras.preprocessing.image``), as a thin shim: the
geometric part of each batch is one ``svertka.augment.warp_affine`` call (bilinear, Keras's
``interpolation_order=1``), flips, channel shift and brightness are NumPy lines, and
``flow``/``flow_from_directory`` return ``PyDataset``s that ``fit`` reads batch by batch.
``load_img``, ``img_to_array`` and ``array_to_img`` are Keras's helpers of the same names.

Parameter meanings, as Keras 2 documents them:

- ``rotation_range``: degrees, drawn in ``[-r, r]``; ``shear_range``: shear angle in degrees,
  in ``[-s, s]``;
- ``width_shift_range`` / ``height_shift_range``: a float < 1 is a fraction of the width /
  height, drawn in ``[-f, f)``; a float >= 1 is pixels, drawn in ``[-f, f)``; an int ``n`` is
  a whole number of pixels in ``{-(n-1), ..., n-1}``; a list is one of its values with a
  random sign;
- ``zoom_range``: a float ``z`` is ``[1 - z, 1 + z]``, or a ``[lower, upper]`` pair; the row
  and column factors are drawn apart, and, as in Keras, a factor below 1 zooms in (enlarges
  the content), above 1 zooms out;
- ``channel_shift_range``: one value in ``[-c, c]`` added to every channel, the result
  clipped to the image's own min and max; ``brightness_range``: a factor in ``[lo, hi]``
  that multiplies the pixels (Pillow's ``ImageEnhance.Brightness``), clipped to [0, 255];
- ``fill_mode``: ``"nearest"`` (the default, edge pixels repeated) or ``"constant"`` (``cval``
  outside); ``"reflect"`` and ``"wrap"`` are refused (svertka's warper has no such fill);
- per image, in Keras's order: the affine warp, channel shift, flips (each with p = 0.5),
  brightness; then ``standardize``: ``preprocessing_function``, ``rescale``, sample-wise
  centring and scaling, feature-wise centring and scaling (statistics from ``fit``).

``apply_transform`` takes Keras's parameters with Keras's meaning (``tx``/``zx`` act along
the columns, x, and ``ty``/``zy`` along the rows; an output pixel reads the input at its
position plus the shift, so ``tx=2`` moves the content 2 columns left) and gives Keras's
result on square images (the same matrix, the same bilinear sampling).

Knowingly different: ``zca_whitening`` is refused; images are channels-last only; the random
draws come from NumPy ``Generator``s (``seed``, or svertka's generator seeded by
``svertka.utils.set_random_seed``), not from NumPy's global state, so the numbers differ from
Keras's for one seed; Keras 3.15's ``height_shift_range`` draws ``tx`` and so moves the
content sideways (and ``width_shift_range`` up and down), here each moves its own axis as
documented; on non-square images Keras's centre of rotation is off the image centre, here it
is the centre; ``fill_mode="constant"`` fades to ``cval`` over the one pixel beyond the
border (bilinear sampling of a padded image), where Keras's SciPy warp sets every pixel read
from outside the image to ``cval``; ``flow_from_directory`` resizes bilinearly (Keras:
nearest).

>>> import numpy as np
>>> gen = ImageDataGenerator(rotation_range=10, width_shift_range=0.1, horizontal_flip=True,
...                          rescale=1 / 255)
>>> x = np.zeros((10, 8, 8, 3), np.uint8)
>>> y = np.arange(10)
>>> batches = gen.flow(x, y, batch_size=4, seed=0)
>>> xb, yb = batches[0]
>>> len(batches), xb.shape, xb.dtype, len(yb)
(3, (4, 8, 8, 3), dtype('float32'), 4)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path, PurePosixPath

import numpy as np

from svertka import checks
from svertka import random as _random
from svertka.augment.affine import warp_affine
from svertka.datasets.images import COLOR_MODES, decode_image, read_tree
from svertka.datasets.pydataset import PyDataset

FILL_MODES = {"nearest": "replicate", "constant": "zeros"}
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)
_EPSILON = 1e-6  # Keras's, added to the standard deviations


def _number(where, arg, value, low=0.0):
    return checks.finite_float(where, arg, value, low=low)


def _shift_range(arg, value):
    """A shift range as Keras takes it: a number (int or float) >= 0 or a list of numbers."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = [_number("ImageDataGenerator", arg, v, low=None) for v in np.ravel(value)]
        if not values:
            raise ValueError(f"ImageDataGenerator: argument '{arg}' must not be an empty list")
        return values
    if checks.is_int(value):
        return checks.non_negative_int("ImageDataGenerator", arg, value)
    return _number("ImageDataGenerator", arg, value)


def _draw_shift(rng, spec, size: int, n: int) -> np.ndarray:
    """n shifts in pixels for one axis of ``size`` pixels (Keras's rules, module note)."""
    if isinstance(spec, list):
        shift = rng.choice(np.asarray(spec, np.float64), n) * rng.choice([-1, 1], n)
        return shift * size if max(spec) < 1 else shift
    if not spec:
        return np.zeros(n)
    if checks.is_int(spec):
        return rng.integers(0, spec, n) * rng.choice([-1, 1], n).astype(np.float64)
    shift = rng.uniform(-spec, spec, n)
    return shift * size if spec < 1 else shift


class ImageDataGenerator:
    """Random augmentation and standardisation of image batches (Keras 2; see the module
    note for every argument's meaning)."""

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None,
                 shear_range=0.0, zoom_range=0.0, channel_shift_range=0.0,
                 fill_mode="nearest", cval=0.0, horizontal_flip=False, vertical_flip=False,
                 rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        w = "ImageDataGenerator"
        if zca_whitening:
            raise ValueError(f"{w}: argument 'zca_whitening' is not supported by svertka "
                             "(a dense (H*W*C)^2 whitening matrix); use featurewise_center "
                             "and featurewise_std_normalization, received zca_whitening=True")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{w}: argument 'data_format' must be 'channels_last' (svertka's "
                             f"images are (N, H, W, C)), received {data_format!r}")
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{w}: argument 'fill_mode' must be 'nearest' or 'constant' "
                             f"('reflect' and 'wrap' are not supported), received {fill_mode!r}")
        if interpolation_order != 1:
            raise ValueError(f"{w}: argument 'interpolation_order' must be 1 (bilinear, "
                             f"svertka's warper), received {interpolation_order!r}")
        flags = {"featurewise_center": featurewise_center, "samplewise_center": samplewise_center,
                 "featurewise_std_normalization": featurewise_std_normalization,
                 "samplewise_std_normalization": samplewise_std_normalization,
                 "horizontal_flip": horizontal_flip, "vertical_flip": vertical_flip}
        for arg, value in flags.items():
            setattr(self, arg, checks.flag(w, arg, value))
        # as Keras: normalising by the std implies centring first
        self.featurewise_center |= self.featurewise_std_normalization
        self.samplewise_center |= self.samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = False, zca_epsilon
        self.rotation_range = _number(w, "rotation_range", rotation_range)
        self.width_shift_range = _shift_range("width_shift_range", width_shift_range)
        self.height_shift_range = _shift_range("height_shift_range", height_shift_range)
        self.shear_range = _number(w, "shear_range", shear_range)
        self.zoom_range = self._zoom(zoom_range)
        self.channel_shift_range = _number(w, "channel_shift_range", channel_shift_range)
        if brightness_range is not None:
            if not isinstance(brightness_range, (tuple, list)) or len(brightness_range) != 2:
                raise ValueError(f"{w}: argument 'brightness_range' must be a (low, high) pair "
                                 f"of factors, received {brightness_range!r}")
            brightness_range = [_number(w, "brightness_range", v) for v in brightness_range]
        self.brightness_range = brightness_range
        self.fill_mode, self.cval = fill_mode, _number(w, "cval", cval, low=None)
        self.rescale = None if rescale is None else _number(w, "rescale", rescale, low=None)
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise TypeError(f"{w}: argument 'preprocessing_function' must be callable, received "
                            f"{type(preprocessing_function).__name__}")
        self.preprocessing_function = preprocessing_function
        self.data_format = "channels_last"
        self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2
        split = _number(w, "validation_split", validation_split)
        if split and not 0 < split < 1:
            raise ValueError(f"{w}: argument 'validation_split' must be strictly between 0 and "
                             f"1, received {validation_split!r}")
        self._validation_split = split
        self.interpolation_order = 1
        self.dtype = np.dtype(dtype or "float32")
        if self.dtype.kind != "f":
            raise ValueError(f"{w}: argument 'dtype' must be a floating dtype, received {dtype!r}")
        self.mean = self.std = None

    @staticmethod
    def _zoom(zoom_range):
        where = "ImageDataGenerator"
        if isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2:
            low, high = (_number(where, "zoom_range", v) for v in zoom_range)
        elif isinstance(zoom_range, (int, float)) and not isinstance(zoom_range, bool):
            z = _number(where, "zoom_range", zoom_range)
            low, high = 1 - z, 1 + z
        else:
            raise ValueError(f"{where}: argument 'zoom_range' must be a number or a [lower, "
                             f"upper] pair, received {zoom_range!r}")
        if low <= 0 or low > high:
            raise ValueError(f"{where}: argument 'zoom_range' must give 0 < lower <= upper, "
                             f"received {zoom_range!r}")
        return [low, high]

    def _rng(self, seed):
        return np.random.default_rng(seed) if seed is not None else _random.generator()

    def draw(self, n: int, shape, rng) -> dict:
        """Parameters for ``n`` images of ``shape`` (H, W, C): arrays under Keras's names."""
        h, w = shape[0], shape[1]
        z = self.zoom_range
        zoomed = z != [1.0, 1.0]
        return {
            "theta": rng.uniform(-self.rotation_range, self.rotation_range, n),
            "tx": _draw_shift(rng, self.width_shift_range, w, n),  # columns
            "ty": _draw_shift(rng, self.height_shift_range, h, n),  # rows
            "shear": rng.uniform(-self.shear_range, self.shear_range, n),
            "zx": rng.uniform(z[0], z[1], n) if zoomed else np.ones(n),  # columns
            "zy": rng.uniform(z[0], z[1], n) if zoomed else np.ones(n),  # rows
            "flip_horizontal": (rng.random(n) < 0.5) & self.horizontal_flip,
            "flip_vertical": (rng.random(n) < 0.5) & self.vertical_flip,
            "channel_shift_intensity": (rng.uniform(-self.channel_shift_range,
                                                    self.channel_shift_range, n)
                                        if self.channel_shift_range else None),
            "brightness": (rng.uniform(*self.brightness_range, n)
                           if self.brightness_range is not None else None),
        }

    def get_random_transform(self, img_shape, seed=None) -> dict:
        """Keras's parameters for one image of ``img_shape`` (H, W, C), as Python values."""
        params = self.draw(1, img_shape, self._rng(seed))
        return {k: (None if v is None else v[0].item()) for k, v in params.items()}

    def transform_batch(self, x: np.ndarray, params: dict) -> np.ndarray:
        """The augmentation of a batch (N, H, W, C) with per-image ``params`` (``draw``)."""
        x = np.asarray(x, self.dtype)
        n = len(x)

        def per_image(key, default):
            value = params.get(key)
            return np.broadcast_to(np.asarray(default if value is None else value,
                                              np.float64), (n,))

        theta, shear = per_image("theta", 0.0), per_image("shear", 0.0)
        zoom = np.stack([per_image("zx", 1.0), per_image("zy", 1.0)], -1)
        shift = np.stack([per_image("tx", 0.0), per_image("ty", 0.0)], -1)
        if theta.any() or shear.any() or shift.any() or (zoom != 1).any():
            x = self._warp(x, theta, shear, zoom, shift)
        if params.get("channel_shift_intensity") is not None:
            low = x.min(axis=(1, 2, 3), keepdims=True)
            high = x.max(axis=(1, 2, 3), keepdims=True)
            intensity = per_image("channel_shift_intensity", 0.0)[:, None, None, None]
            x = np.clip(x + intensity.astype(x.dtype), low, high)
        flip_h = per_image("flip_horizontal", False).astype(bool)
        flip_v = per_image("flip_vertical", False).astype(bool)
        if flip_h.any() or flip_v.any():
            x = x.copy()
            x[flip_h] = x[flip_h, :, ::-1]
            x[flip_v] = x[flip_v, ::-1]
        if params.get("brightness") is not None:
            factor = per_image("brightness", 1.0)[:, None, None, None].astype(x.dtype)
            x = np.clip(x * factor, 0, 255)
        return x

    def _warp(self, x, theta, shear, zoom, shift):
        """One ``warp_affine`` for the batch through Keras's matrix: in (x, y) = (column, row)
        offsets from the centre, an output pixel reads the input at ``R T S Z`` of it
        (rotation, shift, shear, zoom; angles in degrees)."""
        t, s = np.deg2rad(theta), np.deg2rad(shear)
        zeros, ones = np.zeros_like(t), np.ones_like(t)
        rotate = np.stack([np.stack([np.cos(t), -np.sin(t)], -1),
                           np.stack([np.sin(t), np.cos(t)], -1)], -2)  # (N, 2, 2)
        shear_m = np.stack([np.stack([ones, -np.sin(s)], -1), np.stack([zeros, np.cos(s)], -1)],
                           -2)
        linear = rotate @ shear_m * zoom[:, None, :]  # R S diag(zx, zy)
        moved = (rotate @ shift[:, :, None])[:, :, 0]  # R t
        a, moved = linear[:, ::-1, ::-1], moved[:, ::-1]  # to (row, column)
        centre = np.array([(x.shape[1] - 1) / 2, (x.shape[2] - 1) / 2])
        offset = centre - (a @ centre[:, None])[:, :, 0] + moved
        matrices = np.concatenate([a, offset[:, :, None]], axis=2)
        mode = FILL_MODES[self.fill_mode]
        if mode == "zeros" and self.cval:  # a constant other than 0: warp the difference
            return warp_affine(x - self.dtype.type(self.cval), matrices, mode) + self.cval
        return warp_affine(x, matrices, mode)

    def apply_transform(self, x, transform_parameters: dict) -> np.ndarray:
        """One image (H, W, C) transformed by the given parameters (Keras's names; missing
        ones mean no change)."""
        x = _image(x, "apply_transform")
        params = {k: None if v is None else np.asarray([v])
                  for k, v in transform_parameters.items()}
        return self.transform_batch(x[None], params)[0]

    def random_transform(self, x, seed=None) -> np.ndarray:
        """One image (H, W, C) randomly transformed."""
        x = _image(x, "random_transform")
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def standardize(self, x):
        """``preprocessing_function``, ``rescale``, then the sample-wise and feature-wise
        normalisations, on an image or a batch (sample-wise: the mean and std of all of ``x``,
        as Keras); a float array is changed in place, as Keras does, and returned."""
        if self.preprocessing_function is not None:
            x = self.preprocessing_function(x)
        return self._normalize(x)

    def _normalize(self, x, per_image: bool = False):
        """``standardize`` after the ``preprocessing_function``. The sample-wise statistics are
        over all of ``x``, as Keras takes them (one image when ``flow`` calls it), or, with
        ``per_image``, over each image of a batch."""
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
            x = np.array(x, self.dtype)
        if self.rescale:
            x *= self.rescale
        axes = (-3, -2, -1) if per_image else None
        if self.samplewise_center:
            x -= np.mean(x, axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, axis=axes, keepdims=True) + _EPSILON
        if self.featurewise_center:
            if self.mean is None:
                _warn_unfit("featurewise_center")
            else:
                x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                _warn_unfit("featurewise_std_normalization")
            else:
                x /= self.std + _EPSILON
        return x

    def fit(self, x, augment=False, rounds=1, seed=None) -> None:
        """Per-channel mean and std of ``x`` (N, H, W, C), after ``rescale`` (and, with
        ``augment``, over ``rounds`` augmented copies), for the feature-wise options."""
        x = _batch(x, "ImageDataGenerator.fit").astype(self.dtype)
        rounds = checks.positive_int("ImageDataGenerator.fit", "rounds", rounds)
        if self.rescale:
            x *= self.rescale
        if checks.flag("ImageDataGenerator.fit", "augment", augment):
            rng = self._rng(seed)
            x = np.concatenate([self.transform_batch(x, self.draw(len(x), x.shape[1:], rng))
                                for _ in range(rounds)])
        if self.featurewise_center:
            self.mean = x.mean(axis=(0, 1, 2)).reshape(1, 1, -1).astype(self.dtype)
            x = x - self.mean
        if self.featurewise_std_normalization:
            self.std = x.std(axis=(0, 1, 2)).reshape(1, 1, -1).astype(self.dtype)

    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None) -> NumpyArrayIterator:
        """Augmented batches of the arrays ``x`` (N, H, W, C) (and ``y``, ``sample_weight``)."""
        if save_to_dir is not None:
            raise ValueError("ImageDataGenerator.flow: argument 'save_to_dir' is not supported "
                             f"by svertka, received {save_to_dir!r}")
        return NumpyArrayIterator(x, y, self, batch_size, shuffle, sample_weight, seed,
                                  subset, ignore_class_split)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False
                            ) -> DirectoryIterator:
        """Augmented batches of the images of a folder of class subfolders, read per batch."""
        if save_to_dir is not None or keep_aspect_ratio:
            raise ValueError("ImageDataGenerator.flow_from_directory: arguments 'save_to_dir' "
                             "and 'keep_aspect_ratio' are not supported by svertka")
        return DirectoryIterator(directory, self, target_size, color_mode, classes, class_mode,
                                 batch_size, shuffle, seed, subset)


def _warn_unfit(option: str) -> None:
    warnings.warn(f"ImageDataGenerator: {option} is set, but the generator has not been fit "
                  "on any training data; call .fit(x_train) first", UserWarning, stacklevel=3)


def _image(x, where):
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"ImageDataGenerator.{where}: argument 'x' must be one image (H, W, C), "
                         f"received shape {x.shape}")
    return x


def _batch(x, where):
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"{where}: argument 'x' must be images (N, H, W, C) (channels last), "
                         f"received shape {x.shape}")
    return x


class Iterator(PyDataset):
    """Batches of ``n`` samples in a fresh random order each epoch (``shuffle``); indexing
    (``it[i]``) and ``next(it)`` (Keras 2's endless iteration) both give augmented batches.
    With ``seed`` the order and the augmentation repeat run after run."""

    def __init__(self, n, batch_size, shuffle, seed):
        super().__init__()
        where = type(self).__name__
        self.n = n
        self.batch_size = checks.positive_int(where, "batch_size", batch_size)
        self.shuffle = checks.flag(where, "shuffle", shuffle)
        self.seed = None if seed is None else checks.non_negative_int(where, "seed", seed)
        self.batch_index, self.total_batches_seen, self.index_array = 0, 0, None

    def _rng(self):
        if self.seed is None:
            return _random.generator()
        return np.random.default_rng(self.seed + self.total_batches_seen)

    def _set_index_array(self):
        self.index_array = (self._rng().permutation(self.n) if self.shuffle
                            else np.arange(self.n))

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __getitem__(self, idx):
        if not 0 <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: batch {idx} asked for, it has "
                             f"{len(self)} batches")
        if self.index_array is None:
            self._set_index_array()
        rng = self._rng()
        self.total_batches_seen += 1
        return self._batch(self.index_array[idx * self.batch_size:(idx + 1) * self.batch_size],
                           rng)

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.batch_index == 0:
            self._set_index_array()
        batch = self[self.batch_index]
        self.batch_index = (self.batch_index + 1) % len(self)
        return batch

    next = __next__  # Keras 2's it.next()

    def _augment(self, x, rng):
        gen = self.image_data_generator
        x = gen.transform_batch(x, gen.draw(len(x), x.shape[1:], rng))
        if gen.preprocessing_function is not None:  # Keras calls it image by image
            x = np.stack([np.asarray(gen.preprocessing_function(image), gen.dtype)
                          for image in x])
        return gen._normalize(x, per_image=True)


class NumpyArrayIterator(Iterator):
    """``ImageDataGenerator.flow``: ``x`` alone when there is no ``y``, else ``(x, y)`` or
    ``(x, y, sample_weight)``, as Keras gives them."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, subset=None, ignore_class_split=False):
        where = "ImageDataGenerator.flow"
        if isinstance(x, (list, tuple)):
            raise ValueError(f"{where}: argument 'x' must be one image array (N, H, W, C); "
                             "extra inputs beside the images are not supported by svertka")
        x = _batch(x, where)
        y = None if y is None else np.asarray(y)
        sw = None if sample_weight is None else np.asarray(sample_weight)
        for arg, a in (("y", y), ("sample_weight", sw)):
            if a is not None and len(a) != len(x):
                raise ValueError(f"{where}: arguments 'x' and '{arg}' must have the same number "
                                 f"of samples, received {len(x)} and {len(a)}")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"{where}: argument 'subset' must be 'training' or "
                                 f"'validation', received {subset!r}")
            cut = int(len(x) * image_data_generator._validation_split)
            if (y is not None and not ignore_class_split
                    and not np.array_equal(np.unique(y[:cut]), np.unique(y[cut:]))):
                raise ValueError(f"{where}: the training and validation subsets hold different "
                                 "classes after the split (validation is the first "
                                 "validation_split of the samples): shuffle x and y first, or "
                                 "pass ignore_class_split=True")
            part = slice(None, cut) if subset == "validation" else slice(cut, None)
            x, y = x[part], None if y is None else y[part]
            sw = None if sw is None else sw[part]
        self.x, self.y, self.sample_weight = x, y, sw
        self.image_data_generator = image_data_generator
        self.dtype = image_data_generator.dtype
        super().__init__(len(x), batch_size, shuffle, seed)

    def _batch(self, index_array, rng):
        xb = self._augment(self.x[index_array].astype(self.dtype), rng)
        if self.y is None:
            return xb
        if self.sample_weight is None:
            return xb, self.y[index_array]
        return xb, self.y[index_array], self.sample_weight[index_array]


class DirectoryIterator(Iterator):
    """``ImageDataGenerator.flow_from_directory``: images of ``directory/<class>/...`` read
    batch by batch, resized to ``target_size``; labels by ``class_mode``: ``"categorical"``
    (one-hot), ``"binary"`` (0/1), ``"sparse"`` (indices), ``"input"`` (the images
    themselves) or None (images only). Attributes as Keras's: ``classes``,
    ``class_indices``, ``filenames``, ``filepaths``, ``samples``, ``num_classes``."""

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, subset=None):
        where = "ImageDataGenerator.flow_from_directory"
        if color_mode not in COLOR_MODES:
            raise ValueError(f"{where}: argument 'color_mode' must be one of "
                             f"{', '.join(COLOR_MODES)}, received {color_mode!r}")
        if class_mode not in CLASS_MODES:
            raise ValueError(f"{where}: argument 'class_mode' must be one of {CLASS_MODES}, "
                             f"received {class_mode!r}")
        if subset not in (None, "training", "validation"):
            raise ValueError(f"{where}: argument 'subset' must be 'training' or 'validation', "
                             f"received {subset!r}")
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"{where}: argument 'directory' must be a folder of class "
                                    f"subfolders, received {directory!r}")
        self.directory, self.color_mode, self.class_mode = str(directory), color_mode, class_mode
        self.target_size = tuple(checks.positive_int(where, "target_size", v)
                                 for v in target_size)
        self.image_data_generator, self.dtype = image_data_generator, image_data_generator.dtype
        tree = read_tree(directory)
        names = sorted({rel.split("/")[0] for rel in tree if "/" in rel}
                       | {p.name for p in Path(directory).iterdir() if p.is_dir()})
        names = list(classes) if classes is not None else names
        self.class_indices = {name: i for i, name in enumerate(names)}
        self.num_classes = len(names)
        split = image_data_generator._validation_split
        lo, hi = ((0.0, split) if subset == "validation" else (split, 1.0)) if subset else (0, 1)
        files = []
        for name in names:  # per class, its files sorted, the split's share of them (Keras)
            mine = sorted(rel for rel in tree if PurePosixPath(rel).parts[0] == name
                          and "/" in rel)
            files += [(rel, name) for rel in mine[int(lo * len(mine)):int(hi * len(mine))]]
        self._sources = [tree[rel] for rel, _ in files]
        self.filenames = [os.path.join(*PurePosixPath(rel).parts) for rel, _ in files]
        self.filepaths = [os.path.join(self.directory, f) for f in self.filenames]
        self.classes = np.array([self.class_indices[name] for _, name in files], np.int32)
        self.samples = len(files)
        self.labels = self.classes
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _batch(self, index_array, rng):
        where = "ImageDataGenerator.flow_from_directory"
        xb = np.stack([decode_image(self._sources[i], self.filepaths[i], self.target_size,
                                    self.color_mode, where) for i in index_array])
        xb = self._augment(xb.astype(self.dtype), rng)
        labels = self.classes[index_array]
        if self.class_mode is None:
            return xb
        if self.class_mode == "input":
            return xb, xb.copy()
        if self.class_mode == "categorical":
            y = np.zeros((len(labels), self.num_classes), self.dtype)
            y[np.arange(len(labels)), labels] = 1
            return xb, y
        return xb, labels.astype(self.dtype)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest"):
    """One image file as a Pillow image in ``color_mode`` (``"rgb"``, ``"grayscale"``,
    ``"rgba"``), resized to ``target_size`` (H, W) when given, as Keras's ``load_img``; read
    as every svertka image is (``datasets.images.decode_image``: EXIF orientation, damaged
    files and decompression bombs refused)."""
    from PIL import Image

    x = decode_image(path, str(path), None if target_size is None else tuple(target_size),
                     color_mode, "load_img", interpolation)
    return Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A Pillow image (or array) as a float32 array (H, W, C), as Keras's ``img_to_array``.

    >>> from PIL import Image
    >>> img_to_array(Image.new("L", (3, 2), 7)).shape
    (2, 3, 1)
    """
    if data_format not in (None, "channels_last"):
        raise ValueError(f"img_to_array: argument 'data_format' must be 'channels_last', "
                         f"received {data_format!r}")
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: expected an image (H, W) or (H, W, C), received shape "
                         f"{x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """An array (H, W, C) as a Pillow image; with ``scale`` its values are first mapped to
    [0, 255] (its minimum to 0, its maximum to 255), as Keras's ``array_to_img``."""
    from PIL import Image

    x = img_to_array(x, data_format, "float32")
    if scale:
        x = x - x.min()
        if x.max() > 0:
            x = x / x.max() * 255
    if x.shape[2] not in (1, 3, 4):
        raise ValueError(f"array_to_img: expected 1, 3 or 4 channels, received {x.shape[2]}")
    x = np.clip(x, 0, 255).astype(np.uint8)
    return Image.fromarray(x[:, :, 0] if x.shape[2] == 1 else x)


__all__ = ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
           "array_to_img", "img_to_array", "load_img"]
