"""Preprocessing and augmentation layers: Keras 3's documented values (written out by hand
here), float64 gradient checks, PyTorch comparisons, training-only behaviour, seeds, saving
and argument checks. The comparisons with Keras itself are in test_preprocessing_keras.py."""

import json

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import layers
from svertka.layers import (
    CenterCrop,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Resizing,
)
from svertka.ops.resample import resize_matrix, warp

rng = np.random.default_rng(0)
ROW = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4, 1)
RANDOM = [
    (RandomFlip, {}),
    (RandomRotation, {"factor": 0.2}),
    (RandomZoom, {"height_factor": 0.3, "width_factor": (-0.2, 0.1)}),
    (RandomTranslation, {"height_factor": 0.2, "width_factor": 0.3}),
    (RandomContrast, {"factor": (0.3, 0.5), "value_range": (0, 1)}),
]


def values(layer, x, training=False):
    return layer(x, training=training).numpy()


# -- Resizing -----------------------------------------------------------------------------------
def test_resizing_bilinear_uses_half_pixel_centres():
    assert values(Resizing(1, 4), ROW[:, :, :2]).ravel().tolist() == [1.0, 1.25, 1.75, 2.0]
    # 4 -> 2: sources 0.5 and 2.5, the means of the pixel pairs
    assert values(Resizing(1, 2), ROW).ravel().tolist() == [1.5, 3.5]
    # 4 -> 3: sources 1/6, 3/2, 17/6
    np.testing.assert_allclose(values(Resizing(1, 3), ROW).ravel(), [7 / 6, 5 / 2, 23 / 6])


def test_resizing_nearest_reads_the_pixel_under_each_output_centre():
    assert values(Resizing(1, 2, "nearest"), ROW).ravel().tolist() == [2.0, 4.0]
    assert values(Resizing(1, 8, "nearest"), ROW).ravel().tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert resize_matrix(3, 2, "nearest").tolist() == [[1, 0, 0], [0, 0, 1]]


def test_resizing_crop_and_pad_to_aspect_ratio():
    x = np.arange(24.0).reshape(1, 4, 6, 1)
    # a square target: the central 4x4 window, then 4 -> 2 on each axis
    y = values(Resizing(2, 2, crop_to_aspect_ratio=True), x)[0, :, :, 0]
    np.testing.assert_allclose(y, x[0, 0:4, 1:5, 0].reshape(2, 2, 2, 2).mean(axis=(1, 3)))
    # padded to 6x6 with 5.0 above and below, then resized by 1
    y = values(Resizing(6, 6, pad_to_aspect_ratio=True, fill_value=5.0), x)[0, :, :, 0]
    assert (y[0] == 5).all() and (y[5] == 5).all() and (y[1:5] == x[0, :, :, 0]).all()


def test_resizing_integer_images_hold_rounded_values_in_float32():
    x = np.array([0, 255, 1, 2], np.uint8).reshape(1, 1, 4, 1)
    y = values(Resizing(1, 3), x)
    assert y.dtype == np.float32
    assert y.ravel().tolist() == [42.0, 128.0, 2.0]  # 42.5 (half to even), 128.0, 1.83


def test_resizing_shapes_including_unknown_sizes():
    assert Resizing(5, 7)(layers.Input((None, None, 3))).shape == (None, 5, 7, 3)
    assert Resizing(5, 7)(np.zeros((2, 3, 4, 1))).shape == (2, 5, 7, 1)
    assert CenterCrop(2, 3)(layers.Input((8, 8, 3))).shape == (None, 2, 3, 3)


@pytest.mark.parametrize("size", [(7, 5), (2, 3), (5, 8), (1, 1)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_resizing_gradient(size, interpolation):
    x = rng.standard_normal((2, 4, 5, 2))
    check_grad(lambda t: Resizing(*size, interpolation)(t), x)


@pytest.mark.parametrize("kwargs", [{"crop_to_aspect_ratio": True},
                                    {"pad_to_aspect_ratio": True, "fill_value": 2.0}])
def test_resizing_to_aspect_ratio_gradient(kwargs):
    check_grad(lambda t: Resizing(3, 2, **kwargs)(t), rng.standard_normal((1, 4, 5, 2)))


@pytest.mark.parametrize("size", [(7, 9), (2, 3), (3, 10), (4, 5)])
def test_resizing_matches_torch_interpolate(size):
    torch = pytest.importorskip("torch")

    def theirs(t):
        y = torch.nn.functional.interpolate(t.permute(0, 3, 1, 2), size=size, mode="bilinear",
                                            align_corners=False, antialias=False)
        return y.permute(0, 2, 3, 1)

    compare_torch(lambda t: Resizing(*size)(t), theirs, rng.standard_normal((2, 4, 5, 3)),
                  atol=1e-10)


def test_resizing_nearest_matches_torch_nearest_exact():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((1, 5, 7, 2))
    for size in [(3, 4), (9, 13), (5, 2)]:
        y = torch.nn.functional.interpolate(torch.tensor(x).permute(0, 3, 1, 2), size=size,
                                            mode="nearest-exact").permute(0, 2, 3, 1).numpy()
        np.testing.assert_array_equal(values(Resizing(*size, "nearest"), x), y)


# -- CenterCrop ---------------------------------------------------------------------------------
def test_center_crop_keeps_the_central_window():
    x = np.arange(30.0).reshape(1, 5, 6, 1)
    assert values(CenterCrop(2, 3), x)[0, :, :, 0].tolist() == [[7, 8, 9], [13, 14, 15]]
    assert values(CenterCrop(5, 6), x).tolist() == x.tolist()


def test_center_crop_of_a_smaller_image_crops_to_the_aspect_ratio_and_resizes():
    x = np.arange(30.0).reshape(1, 5, 6, 1)
    y = values(CenterCrop(10, 4), x)  # 5x2 central window (cols 2, 3) scaled 2x each way
    np.testing.assert_allclose(y, values(Resizing(10, 4), x[:, :, 2:4]))


@pytest.mark.parametrize("size", [(2, 3), (6, 2), (4, 4)])
def test_center_crop_gradient(size):
    check_grad(lambda t: CenterCrop(*size)(t), rng.standard_normal((2, 4, 5, 2)))


# -- the random layers: inference, training, seeds -------------------------------------------
@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_random_layers_are_the_identity_unless_training(cls, kwargs):
    x = rng.uniform(0, 1, (4, 6, 5, 3)).astype(np.float32)
    layer = cls(**kwargs, seed=1)
    t = svertka.Tensor(x, requires_grad=True)
    assert layer(t) is t  # a float Tensor passes through, gradient and all
    assert values(layer, x).tolist() == x.tolist()
    assert layer(x.astype(np.uint8)).dtype == np.float32
    assert not np.allclose(values(layer, x, training=True), x)


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_random_layers_repeat_under_a_seed_and_after_a_config_round_trip(cls, kwargs):
    x = rng.uniform(0, 1, (6, 7, 5, 2))
    a, b = cls(**kwargs, seed=5), cls(**kwargs, seed=5)
    first = values(a, x, True)
    np.testing.assert_array_equal(first, values(b, x, True))
    assert not np.array_equal(first, values(a, x, True))  # the next batch draws afresh
    rebuilt = layers.deserialize(json.loads(json.dumps(layers.serialize(a))))
    np.testing.assert_array_equal(values(rebuilt, x, True), first)
    assert rebuilt.get_config() == a.get_config()
    svertka.random.seed(3)  # without a seed: svertka.random's generator
    unseeded = values(cls(**kwargs), x, True)
    svertka.random.seed(3)
    np.testing.assert_array_equal(values(cls(**kwargs), x, True), unseeded)


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_random_layers_draw_per_image(cls, kwargs):
    x = np.repeat(rng.uniform(0, 1, (1, 6, 6, 1)), 16, axis=0)
    y = values(cls(**kwargs, seed=0), x, True)
    assert len({y[i].tobytes() for i in range(16)}) > 1


@pytest.mark.parametrize("cls, kwargs", RANDOM)
def test_random_layers_keep_the_shape(cls, kwargs):
    assert cls(**kwargs)(layers.Input((None, 8, 3))).shape == (None, None, 8, 3)
    assert cls(**kwargs)(np.zeros((2, 5, 4, 3)), training=True).shape == (2, 5, 4, 3)


def test_numpy_numbers_are_saved_as_json_numbers():
    made = [RandomZoom(np.float32(0.25), (np.float32(-0.5), np.int64(0))),
            RandomTranslation(np.float64(0.1), [np.int64(0), np.float32(0.5)], seed=np.int64(3)),
            RandomContrast(np.float32(0.5), value_range=(np.int64(0), np.float32(1.0))),
            RandomRotation(np.float32(0.25)), Resizing(np.int64(3), np.int32(4))]
    for layer in made:
        config = json.loads(json.dumps(layers.serialize(layer)))["config"]
        assert layers.deserialize({"class_name": type(layer).__name__, "config": config}
                                  ).get_config() == layer.get_config()
    assert made[0].get_config()["width_factor"] == [-0.5, 0]


# -- RandomFlip ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode, flip", [("horizontal", lambda v: v[:, ::-1]),
                                        ("vertical", lambda v: v[::-1]),
                                        ("horizontal_and_vertical", lambda v: v[::-1, ::-1])])
def test_random_flip_flips_about_half_the_images(mode, flip):
    x = rng.standard_normal((200, 3, 4, 1))
    y = values(RandomFlip(mode, seed=0), x, True)
    flipped = [not np.array_equal(a, b) for a, b in zip(x, y)]
    assert all(np.array_equal(b, flip(a)) for a, b, f in zip(x, y, flipped) if f)
    assert 70 < sum(flipped) < 130


def test_random_flip_gradient_and_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((6, 3, 4, 2))
    layer = RandomFlip(seed=2)
    picked = np.random.default_rng(2).random(6) <= 0.5  # the draw the layer makes

    def theirs(t):
        return torch.stack([torch.flip(t[i], (0, 1)) if picked[i] else t[i] for i in range(6)])

    compare_torch(lambda t: layer(t, training=True), theirs, x, atol=1e-12)
    check_grad(lambda t: RandomFlip("horizontal", seed=4)(t, training=True), x)


# -- warps: rotation, zoom, translation -----------------------------------------------------------
@pytest.mark.parametrize("fill_mode, fill_value, expected", [
    ("reflect", 0.0, [2, 1, 1, 2]),
    ("wrap", 0.0, [3, 4, 1, 2]),
    ("nearest", 0.0, [1, 1, 1, 2]),
    ("constant", 9.0, [9, 9, 1, 2]),
])
def test_fill_modes_read_the_taps_outside_as_keras(fill_mode, fill_value, expected):
    layer = RandomTranslation(0, (0.5, 0.5), fill_mode=fill_mode, fill_value=fill_value)
    assert values(layer, ROW, True).ravel().tolist() == expected
    # half a pixel: each output mixes two taps, those outside read as above
    half = warp(svertka.Tensor(ROW), [[1, 0, -1.5, 0, 1, 0]], "bilinear", fill_mode, fill_value)
    np.testing.assert_allclose(half.numpy().ravel(),
                               np.convolve(expected + [3], [0.5, 0.5], "valid"))


def test_random_rotation_quarter_turns_and_angles():
    x = rng.standard_normal((2, 5, 5, 3))
    quarter = values(RandomRotation((0.25, 0.25)), x, True)
    np.testing.assert_allclose(quarter, np.rot90(x, axes=(1, 2)), atol=1e-12)
    half = values(RandomRotation((-0.5, -0.5), interpolation="nearest"), x, True)
    np.testing.assert_array_equal(half, x[:, ::-1, ::-1])
    assert RandomRotation(0.1).factor == (-0.1, 0.1)
    assert RandomRotation((0.3, -0.2)).factor == (-0.2, 0.3)


def test_random_zoom_positive_zooms_out_negative_zooms_in():
    x = np.arange(5.0).reshape(1, 1, 5, 1)
    zoom_in = RandomZoom(0, (-0.5, -0.5))  # the width read at half the distance from the centre
    assert values(zoom_in, x, True).ravel().tolist() == [1.0, 1.5, 2.0, 2.5, 3.0]
    zoom_out = RandomZoom(0, (1.0, 1.0), fill_mode="constant")  # twice the distance
    assert values(zoom_out, x, True).ravel().tolist() == [0.0, 0.0, 2.0, 4.0, 0.0]
    sq = rng.standard_normal((3, 6, 6, 1))  # width_factor=None: the height's zoom
    y = values(RandomZoom((0.4, 0.4)), sq, True)
    np.testing.assert_allclose(y, np.swapaxes(values(RandomZoom((0.4, 0.4)),
                                                     np.swapaxes(sq, 1, 2), True), 1, 2))


@pytest.mark.parametrize("cls, kwargs", [
    (RandomRotation, {"factor": 0.3}),
    (RandomRotation, {"factor": 0.2, "fill_mode": "wrap"}),
    (RandomRotation, {"factor": 0.2, "fill_mode": "constant", "fill_value": 0.5}),
    (RandomRotation, {"factor": 0.2, "fill_mode": "nearest", "interpolation": "nearest"}),
    (RandomZoom, {"height_factor": (-0.3, 0.4), "width_factor": 0.3}),
    (RandomZoom, {"height_factor": 0.5, "fill_mode": "constant"}),
    (RandomTranslation, {"height_factor": 0.3, "width_factor": 0.4}),
    (RandomTranslation, {"height_factor": 0.5, "width_factor": 0.5, "fill_mode": "wrap"}),
])
def test_warp_gradients(cls, kwargs):
    x = rng.standard_normal((2, 4, 5, 2))
    check_grad(lambda t: cls(**kwargs, seed=7)(t, training=True), x)


@pytest.mark.parametrize("fill_mode, padding_mode", [("constant", "zeros"),
                                                     ("nearest", "border")])
def test_warp_matches_torch_grid_sample(fill_mode, padding_mode):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 5, 6, 2))
    layer = RandomRotation(0.4, fill_mode=fill_mode, seed=9)
    matrices = layer.matrices(x.shape, np.random.default_rng(9))
    h, w = x.shape[1:3]
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    m = matrices[:, :, None, None]
    col_in = m[:, 0] * cols + m[:, 1] * rows + m[:, 2]
    row_in = m[:, 3] * cols + m[:, 4] * rows + m[:, 5]
    grid = torch.tensor(np.stack([col_in / (w - 1) * 2 - 1, row_in / (h - 1) * 2 - 1], -1))

    def theirs(t):
        y = torch.nn.functional.grid_sample(t.permute(0, 3, 1, 2), grid, mode="bilinear",
                                            padding_mode=padding_mode, align_corners=True)
        return y.permute(0, 2, 3, 1)

    compare_torch(lambda t: RandomRotation(0.4, fill_mode=fill_mode, seed=9)(t, training=True),
                  theirs, x, atol=1e-10)


# -- RandomContrast -----------------------------------------------------------------------------
def test_random_contrast_scales_about_each_channels_mean_and_clips():
    x = np.array([[0.0, 10.0], [100.0, 30.0]]).reshape(1, 1, 2, 2)  # channel means 50, 20
    y = values(RandomContrast((-1.0, 1.0)), x, True)  # f = 2
    assert y.ravel().tolist() == [0.0, 0.0, 150.0, 40.0]  # -50 clipped to 0
    y = values(RandomContrast((-1.0, 1.0), value_range=(0, 120)), x, True)
    assert y.ravel().tolist() == [0.0, 0.0, 120.0, 40.0]


def test_random_contrast_factor_ranges_as_keras_3_15():
    assert RandomContrast(0.2).factor == (0.0, 0.2)  # f in [1, 1.2]
    assert RandomContrast((0.3, 0.1)).factor == (0.1, 0.3)  # f in [0.9, 1.3]
    x = rng.uniform(100, 150, (400, 1, 2, 1))  # never clipped
    y = values(RandomContrast(0.2, seed=0), x, True)
    f = (y[:, 0, 0] - y[:, 0, 1]) / (x[:, 0, 0] - x[:, 0, 1])
    assert 1.0 <= f.min() < 1.01 and 1.19 < f.max() <= 1.2


def test_random_contrast_gradient_and_torch():
    torch = pytest.importorskip("torch")
    x = rng.uniform(-0.2, 1.2, (3, 4, 5, 2))  # some values clip at 0 and 1
    # factor 0.5 is (0, 0.5): f drawn in [1, 1.5], one per image, from the layer's seed
    f = torch.tensor(np.random.default_rng(1).uniform(1.0, 1.5, 3).reshape(-1, 1, 1, 1))

    def theirs(t):
        m = t.mean(dim=(1, 2), keepdim=True)
        return torch.clamp((t - m) * f + m, 0, 1)

    def ours(t):
        return RandomContrast(0.5, value_range=(0, 1), seed=1)(t, training=True)

    compare_torch(ours, theirs, x, atol=1e-12)
    check_grad(lambda t: RandomContrast((0.5, 0.4), value_range=(-5, 5), seed=2)(
        t, training=True), rng.standard_normal((2, 3, 4, 2)))


# -- in a model ----------------------------------------------------------------------------------
def _model(seed=0):
    svertka.random.seed(seed)
    model = svertka.Sequential([
        layers.Input((32, 32, 3)),
        RandomFlip("horizontal", seed=1),
        RandomRotation(0.1, seed=2),
        RandomZoom(0.1, seed=3),
        RandomTranslation(0.1, 0.1, seed=4),
        RandomContrast(0.2, seed=5),
        layers.Rescaling(1 / 255),
        layers.Conv2D(4, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_a_model_with_augmentation_layers_fits_and_predicts_without_them(tmp_path):
    x = rng.uniform(0, 255, (16, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    model = _model()
    before = model.get_weights()
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    predicted = model.predict(x, verbose=0)
    plain = x
    for layer in model.layers[5:]:  # the same model without its random layers
        plain = layer(plain)
    np.testing.assert_allclose(predicted, plain.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0),
                               model.evaluate(x, y, verbose=0))
    trained = model(x, training=True).numpy()
    assert not np.allclose(trained, predicted, atol=1e-4)
    first, second = _model(), _model()  # same weights, same seeds: same augmented outputs
    first.set_weights(model.get_weights())
    second.set_weights(model.get_weights())
    augmented = first(x, training=True).numpy()
    assert not np.allclose(augmented, predicted, atol=1e-4)
    np.testing.assert_array_equal(second(x, training=True).numpy(), augmented)
    path = tmp_path / "augmented.svk"
    model.save(path)
    loaded = svertka.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predicted, rtol=1e-6)


def test_resizing_and_center_crop_act_in_a_model_at_inference():
    model = svertka.Sequential([layers.Input((None, None, 1)), Resizing(8, 8), CenterCrop(4, 4),
                                layers.Flatten()])
    assert model.predict(np.ones((2, 20, 12, 1)), verbose=0).shape == (2, 16)


# -- argument checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: Resizing(0, 4), r"Resizing: argument 'height' must be a positive int"),
    (lambda: Resizing(4, 4, interpolation="bicubic"),
     r"Resizing: argument 'interpolation' must be one of 'bilinear', 'nearest', "
     r"received 'bicubic'"),
    (lambda: Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     "only one of 'pad_to_aspect_ratio' and 'crop_to_aspect_ratio'"),
    (lambda: Resizing(4, 4, antialias=True), "argument 'antialias' must be False"),
    (lambda: CenterCrop(4, 4, data_format="channels_first"),
     "CenterCrop: argument 'data_format' must be 'channels_last'"),
    (lambda: RandomFlip("diagonal"), "RandomFlip: argument 'mode' must be one of"),
    (lambda: RandomFlip(seed=-1), "RandomFlip: argument 'seed' must be a non-negative int"),
    (lambda: RandomRotation(1.5), r"RandomRotation: argument 'factor' must be a number .* "
                                  r"in \[-1.0, 1.0\], received 1.5"),
    (lambda: RandomRotation((0.1, 0.2, 0.3)), "RandomRotation: argument 'factor'"),
    (lambda: RandomRotation(0.1, fill_mode="mirror"),
     "RandomRotation: argument 'fill_mode' must be one of 'reflect', 'wrap', 'constant', "
     "'nearest', received 'mirror'"),
    (lambda: RandomRotation(0.1, interpolation="bicubic"), "argument 'interpolation'"),
    (lambda: RandomZoom(-1.0), r"RandomZoom: argument 'height_factor' .* in \(-1.0, 1.0\]"),
    (lambda: RandomZoom(0.1, (0.2, 1.5)), "RandomZoom: argument 'width_factor'"),
    (lambda: RandomZoom("0.1"), "RandomZoom: argument 'height_factor'"),
    (lambda: RandomTranslation(1.2, 0), "RandomTranslation: argument 'height_factor'"),
    (lambda: RandomTranslation(0.1, float("nan")), "RandomTranslation: argument 'width_factor'"),
    (lambda: RandomContrast(1.5), r"RandomContrast: argument 'factor' .* in \[0.0, 1.0\]"),
    (lambda: RandomContrast((0.6, -0.6)), "RandomContrast: argument 'factor'"),
    (lambda: RandomContrast(0.2, value_range=(1, 0)),
     "RandomContrast: argument 'value_range' must be a pair"),
])
def test_bad_arguments_name_the_layer_the_argument_and_the_value(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.parametrize("layer", [Resizing(2, 2), CenterCrop(2, 2), RandomFlip()])
def test_inputs_must_be_image_batches(layer):
    with pytest.raises(ValueError, match=r"expected 4-D inputs \(batch, height, width, "
                                         r"channels\), received input shape \(None, 4, 4\)"):
        layer(np.zeros((1, 4, 4)))
