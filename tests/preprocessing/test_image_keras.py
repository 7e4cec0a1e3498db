"""ImageDataGenerator against Keras 3.15's own (keras.src.legacy.preprocessing.image) on the
same inputs: transforms, standardisation, flow and flow_from_directory."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("keras")
pytest.importorskip("scipy")  # Keras's warp
legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")

from svertka.preprocessing.image import ImageDataGenerator  # noqa: E402

KerasGenerator = legacy.ImageDataGenerator


@pytest.mark.parametrize("params", [
    {"theta": 90}, {"theta": 33}, {"tx": 2}, {"ty": -1.5}, {"shear": 12},
    {"zx": 0.7, "zy": 1.3}, {"flip_horizontal": True, "flip_vertical": True},
    {"channel_shift_intensity": 20.0}, {"brightness": 0.5},
    {"theta": 20, "tx": 1.5, "ty": 2, "shear": 5, "zx": 0.9, "zy": 1.1},
])
def test_apply_transform_matches_keras_on_square_images(params):
    x = np.random.default_rng(0).integers(0, 128, (11, 11, 3)).astype(np.float32) * 2
    want = KerasGenerator().apply_transform(x.copy(), params)
    got = ImageDataGenerator().apply_transform(x.copy(), params)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_constant_fill_matches_keras_inside_the_image():
    x = np.random.default_rng(1).uniform(0, 255, (9, 9, 1)).astype(np.float32)
    params = {"theta": 30}
    want = KerasGenerator(fill_mode="constant", cval=7.0).apply_transform(x, params)
    got = ImageDataGenerator(fill_mode="constant", cval=7.0).apply_transform(x, params)
    inner = slice(2, 7)  # the border differs knowingly (svertka fades over one pixel)
    np.testing.assert_allclose(got[inner, inner], want[inner, inner], atol=1e-3)


def test_fit_and_standardize_match_keras():
    x = np.random.default_rng(2).integers(0, 256, (8, 5, 5, 3)).astype(np.float32)
    kwargs = {"featurewise_center": True, "featurewise_std_normalization": True,
              "samplewise_center": True, "rescale": 1 / 255,
              "preprocessing_function": lambda a: a + 3}
    ours, theirs = ImageDataGenerator(**kwargs), KerasGenerator(**kwargs)
    ours.fit(x)
    theirs.fit(x)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-5)
    np.testing.assert_allclose(ours.std, theirs.std, rtol=1e-5)
    np.testing.assert_allclose(ours.standardize(x.copy()), theirs.standardize(x.copy()),
                               rtol=1e-4, atol=1e-5)


def test_flow_gives_keras_batches_without_augmentation():
    x = np.random.default_rng(3).uniform(0, 255, (10, 4, 4, 3)).astype(np.float32)
    y, sw = np.arange(10), np.linspace(0, 1, 10)
    kwargs = {"rescale": 1 / 255, "validation_split": 0.3, "samplewise_std_normalization": True,
              "preprocessing_function": lambda image: image[::-1]}
    for flow_args in ({"y": y}, {"y": y, "sample_weight": sw}, {},
                      {"y": y, "subset": "training", "ignore_class_split": True},
                      {"y": y, "subset": "validation", "ignore_class_split": True}):
        ours = ImageDataGenerator(**kwargs).flow(x, batch_size=4, shuffle=False, **flow_args)
        theirs = KerasGenerator(**kwargs).flow(x, batch_size=4, shuffle=False, **flow_args)
        assert len(ours) == len(theirs)
        for i in range(len(ours)):
            a, b = ours[i], theirs[i]
            assert type(a) is type(b)
            for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple)
                            else (b,)):
                np.testing.assert_allclose(u, v, rtol=1e-6)


def test_flow_from_directory_matches_keras(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(4)
    for name in ("b_dogs", "a_cats", "c_birds"):
        (tmp_path / name).mkdir()
        for i in range(4):
            pixels = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"img{i}.png")
    for mode in ("categorical", "sparse", "binary", "input", None):
        kwargs = {"target_size": (6, 7), "batch_size": 5, "shuffle": False, "class_mode": mode}
        if mode == "binary":
            kwargs["classes"] = ["a_cats", "b_dogs"]
        ours = ImageDataGenerator(validation_split=0.5).flow_from_directory(
            tmp_path, subset="training", **kwargs)
        theirs = KerasGenerator(validation_split=0.5).flow_from_directory(
            tmp_path, subset="training", **kwargs)
        assert ours.class_indices == theirs.class_indices
        assert ours.filenames == theirs.filenames and ours.samples == theirs.samples
        assert ours.classes.tolist() == theirs.classes.tolist() and len(ours) == len(theirs)
        for i in range(len(ours)):
            a, b = ours[i], theirs[i]
            for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple)
                            else (b,)):
                assert u.dtype == v.dtype
                np.testing.assert_allclose(u, v)


def test_image_helpers_match_keras(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    from keras.utils import array_to_img, img_to_array, load_img

    from svertka.preprocessing import image

    pixels = np.random.default_rng(5).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    for kwargs in ({}, {"target_size": (3, 5)}, {"color_mode": "grayscale"}):
        ours = image.img_to_array(image.load_img(tmp_path / "a.png", **kwargs))
        theirs = img_to_array(load_img(tmp_path / "a.png", **kwargs))
        np.testing.assert_array_equal(ours, theirs)
    x = pixels.astype(np.float32) / 3 + 5
    np.testing.assert_array_equal(np.asarray(image.array_to_img(x)),
                                  np.asarray(array_to_img(x)))
