"""Keras 2's ImageDataGenerator: each transform against the result Keras gives (stated by hand
here; tests/preprocessing/test_image_keras.py compares with Keras itself)."""

import numpy as np
import pytest

from svertka.models.data_adapters import adapt
from svertka.preprocessing.image import (
    ImageDataGenerator,
    array_to_img,
    img_to_array,
    load_img,
)


def image(h=9, w=9, c=1, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (h, w, c)).astype(np.float32)


def test_rotation_by_90_turns_the_content_counter_clockwise():
    x = image()
    y = ImageDataGenerator().apply_transform(x, {"theta": 90})
    np.testing.assert_allclose(y, np.rot90(x, axes=(0, 1)), atol=1e-3)


def test_tx_moves_columns_and_ty_rows_as_keras_with_nearest_fill():
    # Keras: an output pixel reads the input at its position + (tx, ty): tx=2 moves the
    # content two columns left, edge pixels repeated ("nearest")
    x = image()
    y = ImageDataGenerator().apply_transform(x, {"tx": 2})
    np.testing.assert_array_equal(y[:, :7], x[:, 2:])
    np.testing.assert_array_equal(y[:, 7:], x[:, 8:9].repeat(2, axis=1))
    y = ImageDataGenerator().apply_transform(x, {"ty": -3})
    np.testing.assert_array_equal(y[3:], x[:6])
    np.testing.assert_array_equal(y[:3], x[:1].repeat(3, axis=0))


def test_zoom_below_one_enlarges_along_its_axis():
    x = np.zeros((9, 9, 1), np.float32)
    x[4, 6] = x[6, 4] = 100.0  # two pixels right of and below the centre
    y = ImageDataGenerator(fill_mode="constant").apply_transform(x, {"zx": 0.5})
    assert y[4, 8, 0] == 100.0 and y[6, 4, 0] == 100.0  # columns stretched, rows kept
    y = ImageDataGenerator(fill_mode="constant").apply_transform(x, {"zy": 0.5})
    assert y[4, 6, 0] == 100.0 and y[8, 4, 0] == 100.0


def test_shear_moves_lower_rows_right_and_constant_fill_uses_cval():
    x = np.zeros((9, 9, 1), np.float32)
    x[6, 4] = 100.0
    y = ImageDataGenerator(fill_mode="constant").apply_transform(x, {"shear": 20})
    # Keras's shear reads column c - sin(20 deg) * 2 = c - 0.68 on row 6 (rows scaled by cos)
    assert np.unravel_index(np.argmax(y[..., 0]), (9, 9)) == (6, 5)
    y = ImageDataGenerator(fill_mode="constant", cval=7.0).apply_transform(
        np.full((9, 9, 1), 50, np.float32), {"tx": 4})
    assert (y[:, :4] == 50).all() and (y[:, 6:] == 7).all()


def test_flips_channel_shift_and_brightness():
    x = image(c=3)
    gen = ImageDataGenerator()
    np.testing.assert_array_equal(gen.apply_transform(x, {"flip_horizontal": True}), x[:, ::-1])
    np.testing.assert_array_equal(gen.apply_transform(x, {"flip_vertical": True}), x[::-1])
    shifted = gen.apply_transform(x, {"channel_shift_intensity": 10.0})
    np.testing.assert_allclose(shifted, np.clip(x + 10, x.min(), x.max()))  # the image's range
    np.testing.assert_allclose(gen.apply_transform(x, {"brightness": 0.5}), x * 0.5, rtol=1e-6)
    assert gen.apply_transform(x, {"brightness": 3.0}).max() == 255.0


def test_random_draws_follow_keras_ranges():
    rng = np.random.default_rng(0)
    gen = ImageDataGenerator(rotation_range=15, width_shift_range=0.25, height_shift_range=3,
                             zoom_range=0.2, shear_range=5, channel_shift_range=4,
                             brightness_range=(0.5, 1.5), horizontal_flip=True)
    p = gen.draw(2000, (8, 12, 3), rng)
    assert np.abs(p["theta"]).max() <= 15 and np.abs(p["theta"]).max() > 14
    assert np.abs(p["tx"]).max() <= 0.25 * 12 and np.abs(p["tx"]).max() > 2.9  # x width
    assert set(np.unique(p["ty"])) == {-2, -1, 0, 1, 2}  # an int: whole pixels below 3
    assert 0.8 <= p["zx"].min() and p["zx"].max() <= 1.2 and not np.allclose(p["zx"], p["zy"])
    assert np.abs(p["shear"]).max() <= 5 and np.abs(p["channel_shift_intensity"]).max() <= 4
    assert 0.5 <= p["brightness"].min() and p["brightness"].max() <= 1.5
    assert 0.45 < p["flip_horizontal"].mean() < 0.55 and not p["flip_vertical"].any()
    listed = ImageDataGenerator(width_shift_range=[2, 4]).draw(500, (8, 8, 1), rng)["tx"]
    assert set(np.unique(listed)) == {-4, -2, 2, 4}
    pixels = ImageDataGenerator(width_shift_range=2.5).draw(500, (8, 8, 1), rng)["tx"]
    assert np.abs(pixels).max() <= 2.5 and np.abs(pixels).max() > 2  # >= 1: pixels


def test_random_transform_with_a_seed_repeats():
    x = image(c=3)
    gen = ImageDataGenerator(rotation_range=30, zoom_range=0.1)
    np.testing.assert_array_equal(gen.random_transform(x, seed=3), gen.random_transform(x, seed=3))
    assert not np.array_equal(gen.random_transform(x, seed=3), gen.random_transform(x, seed=4))
    assert set(gen.get_random_transform(x.shape, seed=1)) == {
        "theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal", "flip_vertical",
        "channel_shift_intensity", "brightness"}


def test_standardize_in_keras_order():
    x = np.arange(24, dtype=np.float32).reshape(2, 2, 2, 3)
    gen = ImageDataGenerator(preprocessing_function=lambda a: a + 1, rescale=0.5,
                             samplewise_std_normalization=True)
    assert gen.samplewise_center  # std normalisation implies centring, as Keras
    out = gen.standardize(x.copy())
    want = (x + 1) * 0.5
    want = want - want.mean()  # over all of x, as Keras's standardize
    want = want / (want.std() + 1e-6)
    np.testing.assert_allclose(out, want, rtol=1e-5)
    # flow standardises image by image
    xb = gen.flow(x, batch_size=2, shuffle=False)[0]
    np.testing.assert_allclose(xb.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(xb.std(axis=(1, 2, 3)), 1, atol=1e-4)


def test_fit_gives_per_channel_statistics_after_rescale():
    x = np.random.default_rng(0).integers(0, 256, (6, 4, 4, 3)).astype(np.uint8)
    gen = ImageDataGenerator(featurewise_std_normalization=True, rescale=1 / 255)
    with pytest.warns(UserWarning, match="has not been fit"):
        gen.standardize(x[:1].astype(np.float32))
    gen.fit(x)
    scaled = x / 255.0
    np.testing.assert_allclose(gen.mean.ravel(), scaled.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(gen.std.ravel(), scaled.std(axis=(0, 1, 2)), rtol=1e-4)
    out = gen.standardize(x.astype(np.float32))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)


def test_flow_batches_order_seed_and_outputs():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 1), np.float32)
    y = np.arange(10)
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert len(it) == 3 and it[2][0].shape == (2, 2, 2, 1)
    assert it[0][1].tolist() == [0, 1, 2, 3] and it[0][0].dtype == np.float32
    assert isinstance(ImageDataGenerator().flow(x, batch_size=4)[0], np.ndarray)  # no y: x
    xb, yb, sw = ImageDataGenerator().flow(x, y, sample_weight=np.ones(10), batch_size=4)[0]
    assert len(sw) == 4
    shuffled = ImageDataGenerator().flow(x, y, batch_size=4, seed=1)
    labels = np.concatenate([shuffled[i][1] for i in range(3)])
    assert sorted(labels.tolist()) == list(range(10)) and labels.tolist() != list(range(10))
    again = ImageDataGenerator().flow(x, y, batch_size=4, seed=1)
    assert again[0][1].tolist() == shuffled[0][1].tolist()
    cycling = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert [len(next(cycling)[1]) for _ in range(4)] == [4, 4, 2, 4]  # Keras 2's endless next()


def test_flow_subsets_take_the_first_fraction_for_validation():
    x = np.zeros((10, 2, 2, 1), np.float32)
    y = np.array([0, 1] * 5)
    gen = ImageDataGenerator(validation_split=0.2)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    assert val.n == 2 and train.n == 8 and val[0][1].tolist() == [0, 1]
    with pytest.raises(ValueError, match="subsets hold different classes"):
        gen.flow(x, np.array([0, 0] + [1] * 8), subset="validation")


def test_flow_feeds_the_data_adapter():
    x = np.zeros((5, 4, 4, 3), np.uint8)
    it = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True).flow(x, np.arange(5),
                                                                        batch_size=2)
    adapter = adapt("model.fit", it)
    assert adapter.steps == 3
    assert [len(xb) for xb, _, _ in adapter.batches()] == [2, 2, 1]


def test_bad_arguments_say_what_is_supported():
    with pytest.raises(ValueError, match="'zca_whitening' is not supported"):
        ImageDataGenerator(zca_whitening=True)
    with pytest.raises(ValueError, match="'data_format' must be 'channels_last'"):
        ImageDataGenerator(data_format="channels_first")
    with pytest.raises(ValueError, match="'fill_mode' must be 'nearest' or 'constant'"):
        ImageDataGenerator(fill_mode="reflect")
    with pytest.raises(ValueError, match="'zoom_range' must be a number or"):
        ImageDataGenerator(zoom_range=[0.5, 1, 2])
    with pytest.raises(ValueError, match="'validation_split' must be strictly between"):
        ImageDataGenerator(validation_split=1.5)
    with pytest.raises(ValueError, match="'brightness_range' must be a"):
        ImageDataGenerator(brightness_range=0.2)
    with pytest.raises(ValueError, match=r"fit: argument 'x' must be images \(N, H, W, C\)"):
        ImageDataGenerator().fit(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="arguments 'x' and 'y' must have the same number"):
        ImageDataGenerator().flow(np.zeros((4, 2, 2, 1)), np.zeros(3))


def write_tree(root, classes=("cat", "dog"), per_class=5, size=(6, 8)):
    Image = pytest.importorskip("PIL.Image")
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (size[1], size[0]), (c * 100, i * 10, 0)).save(
                root / name / f"{i}.png")
    return root


def test_flow_from_directory_labels_and_attributes(tmp_path, capsys):
    root = write_tree(tmp_path / "tree")
    gen = ImageDataGenerator(rescale=1 / 255)
    it = gen.flow_from_directory(root, target_size=(6, 8), batch_size=4, shuffle=False)
    assert "Found 10 images belonging to 2 classes." in capsys.readouterr().out
    assert it.class_indices == {"cat": 0, "dog": 1} and it.samples == 10 and len(it) == 3
    assert it.classes.tolist() == [0] * 5 + [1] * 5
    assert it.filenames[0] == "cat/0.png" and it.filenames[-1] == "dog/4.png"
    xb, yb = it[0]
    assert xb.shape == (4, 6, 8, 3) and yb.tolist() == [[1, 0]] * 4
    np.testing.assert_allclose(xb[1, 0, 0], [0, 10 / 255, 0], atol=1e-6)
    xb, yb = it[2]
    assert yb.tolist() == [[0, 1]] * 2
    sparse = gen.flow_from_directory(root, target_size=(3, 4), class_mode="sparse",
                                     color_mode="grayscale", shuffle=False, batch_size=10)[0]
    assert sparse[0].shape == (10, 3, 4, 1) and sparse[1].dtype == np.float32
    assert sparse[1].tolist() == [0.0] * 5 + [1.0] * 5
    only_x = gen.flow_from_directory(root, target_size=(6, 8), class_mode=None, batch_size=2)[0]
    assert isinstance(only_x, np.ndarray)


def test_flow_from_directory_subsets_split_each_class(tmp_path):
    root = write_tree(tmp_path / "tree")
    gen = ImageDataGenerator(validation_split=0.4)
    val = gen.flow_from_directory(root, target_size=(6, 8), subset="validation")
    train = gen.flow_from_directory(root, target_size=(6, 8), subset="training")
    assert val.filenames == ["cat/0.png", "cat/1.png", "dog/0.png", "dog/1.png"]
    assert train.samples == 6 and train.classes.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="'class_mode' must be one of"):
        gen.flow_from_directory(root, class_mode="onehot")
    with pytest.raises(FileNotFoundError, match="'directory' must be a folder"):
        gen.flow_from_directory(tmp_path / "missing")


def test_load_img_img_to_array_and_back(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    Image.new("RGB", (8, 6), (10, 20, 30)).save(tmp_path / "a.png")
    img = load_img(tmp_path / "a.png", target_size=(3, 4))
    x = img_to_array(img)
    assert x.shape == (3, 4, 3) and x.dtype == np.float32 and x[0, 0].tolist() == [10, 20, 30]
    grey = img_to_array(load_img(tmp_path / "a.png", color_mode="grayscale"))
    assert grey.shape == (6, 8, 1)
    back = img_to_array(array_to_img(x, scale=False))
    np.testing.assert_array_equal(back, x)
    with pytest.raises(ValueError, match="load_img: argument 'color_mode'"):
        load_img(tmp_path / "a.png", color_mode="cmyk")
