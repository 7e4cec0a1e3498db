"""UpSampling2D, ZeroPadding2D, Cropping2D: output shapes, the layer against its op, configs,
saving through a model, gradients, errors that name the layer and the argument."""

import json

import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import ops
from svertka.layers import (
    Conv2D,
    Cropping2D,
    Input,
    UpSampling2D,
    ZeroPadding2D,
    deserialize,
    serialize,
)

rng = np.random.default_rng(1)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# (class, kwargs, input hw, expected output hw)
CASES = [
    (UpSampling2D, {}, (3, 4), (6, 8)),
    (UpSampling2D, dict(size=(1, 3), interpolation="bilinear"), (3, 4), (3, 12)),
    (UpSampling2D, dict(size=3, interpolation="Nearest"), (2, 1), (6, 3)),
    (ZeroPadding2D, {}, (3, 4), (5, 6)),
    (ZeroPadding2D, dict(padding=2), (3, 4), (7, 8)),
    (ZeroPadding2D, dict(padding=(0, 3)), (3, 4), (3, 10)),
    (ZeroPadding2D, dict(padding=((1, 0), (2, 3))), (3, 4), (4, 9)),
    (Cropping2D, {}, (3, 4), (3, 4)),
    (Cropping2D, dict(cropping=1), (3, 4), (1, 2)),
    (Cropping2D, dict(cropping=(0, 1)), (3, 4), (3, 2)),
    (Cropping2D, dict(cropping=((2, 0), (0, 3))), (3, 4), (1, 1)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("cls, kwargs, hw, out", CASES, ids=IDS)
def test_output_shape_of_call_matches_compute_output_shape(cls, kwargs, hw, out):
    layer = cls(**kwargs)
    y = layer(r(2, *hw, 3))
    assert y.shape == (2, *out, 3) and y.dtype == np.float32
    assert layer.output_shape == (None, *out, 3)
    assert layer.compute_output_shape((None, *hw, 3)) == (None, *out, 3)
    assert cls(**kwargs)(Input((*hw, 3))).shape == (None, *out, 3)
    assert layer.count_params() == 0 and layer.window() is None


@pytest.mark.parametrize("cls, kwargs, hw, out", CASES, ids=IDS)
def test_unknown_height_and_width_stay_unknown(cls, kwargs, hw, out):
    layer = cls(**kwargs)
    assert layer.compute_output_shape((None, None, hw[1], 3)) == (None, None, out[1], 3)
    assert layer.compute_output_shape((None, hw[0], None, 3)) == (None, out[0], None, 3)


def op_of(cls, kwargs):
    if cls is UpSampling2D:
        return lambda x: ops.upsample2d(x, kwargs.get("size", 2),
                                        kwargs.get("interpolation", "nearest"))
    if cls is ZeroPadding2D:
        return lambda x: ops.pad(x, kwargs.get("padding", 1))
    return lambda x: ops.crop2d(x, kwargs.get("cropping", 0))


@pytest.mark.parametrize("cls, kwargs, hw, out", CASES, ids=IDS)
def test_layer_is_its_op_and_passes_the_gradient_check(cls, kwargs, hw, out):
    x = r(2, *hw, 2)
    np.testing.assert_array_equal(cls(**kwargs)(x).numpy(), op_of(cls, kwargs)(x).numpy())
    layer = cls(**kwargs)
    check_grad(lambda x: layer(x), rng.standard_normal((2, *hw, 2)))


def test_zero_padding_adds_zeros_where_keras_does():
    y = ZeroPadding2D(((1, 0), (0, 2)))(np.ones((1, 2, 2, 1), np.float32)).numpy()[0, :, :, 0]
    assert y.tolist() == [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]


@pytest.mark.parametrize("cls, kwargs, hw, out", CASES, ids=IDS)
def test_config_round_trip(cls, kwargs, hw, out):
    layer = cls(**kwargs, name="resize")
    x = r(1, *hw, 2)
    y = layer(x)
    saved = json.dumps(serialize(layer))
    rebuilt = deserialize(json.loads(saved))
    assert type(rebuilt) is cls and rebuilt.name == "resize"
    assert rebuilt.get_config() == layer.get_config() == json.loads(saved)["config"]
    assert cls.from_config(layer.get_config()).get_config() == layer.get_config()
    np.testing.assert_array_equal(rebuilt(x).numpy(), y.numpy())


def test_configs_hold_keras_arguments_in_normal_form():
    assert UpSampling2D(3, "BILINEAR", name="u").get_config() == {
        "name": "u", "trainable": True, "size": [3, 3], "interpolation": "bilinear"}
    assert ZeroPadding2D((1, 2), name="z").get_config()["padding"] == [[1, 1], [2, 2]]
    assert Cropping2D(((1, 0), (2, 3))).get_config()["cropping"] == [[1, 0], [2, 3]]


def test_save_and_load_a_model_with_every_resizing_layer(tmp_path):
    model = svertka.Sequential([
        ZeroPadding2D(((1, 0), (0, 1)), input_shape=(5, 6, 2)),
        Conv2D(3, 3, activation="relu"),
        UpSampling2D((2, 1), interpolation="bilinear"),
        Cropping2D(((1, 2), (0, 1))),
        UpSampling2D(2),
    ])
    x = r(3, 5, 6, 2)
    y = model.predict(x)
    assert y.shape == (3, 10, 8, 3) == (3, *model.layers[-1].output_shape[1:])
    path = tmp_path / "resize.svk"
    model.save(path)
    loaded = svertka.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x), y, rtol=1e-6)


def test_a_functional_model_with_resizing_layers_trains(tmp_path):
    inp = Input((4, 4, 1))
    a = UpSampling2D(interpolation="bilinear")(Conv2D(2, 3, padding="same")(inp))
    b = Cropping2D(1)(ZeroPadding2D(1)(UpSampling2D()(inp)))
    out = Conv2D(1, 1)(svertka.layers.Concatenate()([a, b]))
    model = svertka.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    x = r(4, 4, 4, 1)
    model.fit(x, r(4, 8, 8, 1), epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "f.svk")
    np.testing.assert_allclose(svertka.load_model(tmp_path / "f.svk").predict(x),
                               model.predict(x), rtol=1e-6)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: UpSampling2D(interpolation="area"), ValueError,
         r"UpSampling2D: argument 'interpolation' must be one of 'nearest', 'bilinear', "
         r"received 'area'"),
        (lambda: UpSampling2D(size=0), ValueError,
         r"UpSampling2D: argument 'size' must be >= 1, received 0"),
        (lambda: UpSampling2D(size=(2, 2, 2)), TypeError,
         r"UpSampling2D: argument 'size' must be an int or a pair of ints"),
        (lambda: ZeroPadding2D(-1), ValueError,
         r"ZeroPadding2D: argument 'padding' must be an int, a pair \(h, w\) or "
         r"\(\(top, bottom\), \(left, right\)\) of ints >= 0, received -1"),
        (lambda: ZeroPadding2D("same"), TypeError,
         r"ZeroPadding2D: argument 'padding' must be an int, a pair"),
        (lambda: Cropping2D(((1, 2), (3,))), TypeError,
         r"Cropping2D: argument 'cropping' must be an int, a pair"),
        (lambda: Cropping2D((1, -2)), ValueError,
         r"Cropping2D: argument 'cropping' must be .* >= 0, received \(1, -2\)"),
        (lambda: Cropping2D(((2, 1), (0, 0)))(Input((3, 5, 1))), ValueError,
         r"Cropping2D: argument 'cropping' \(\(2, 1\), \(0, 0\)\) removes 3 of the 3 pixels "
         r"along the height, leaving nothing; expected a total crop < 3 per axis"),
        (lambda: UpSampling2D()(Input((3, 5))), ValueError,
         r"UpSampling2D: expected 4-D inputs \(batch, height, width, channels\), received "
         r"input shape \(None, 3, 5\)"),
        (lambda: ZeroPadding2D()(Input((7,))), ValueError, r"ZeroPadding2D: expected 4-D"),
        (lambda: UpSampling2D(data_format="channels_first"), TypeError,
         r"UpSampling2D: unexpected keyword arguments \['data_format'\]"),
    ],
)
def test_errors_name_the_layer_and_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_built_cropping_layer_refuses_a_smaller_input():
    layer = Cropping2D(2)
    layer(r(1, 6, 6, 1))
    with pytest.raises(ValueError, match=r"Cropping2D: argument 'cropping' .* removes 4 of "
                                         r"the 4 pixels along the height"):
        layer(r(1, 4, 6, 1))
