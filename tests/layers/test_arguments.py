"""Every size, count, rate and flag argument of every layer is checked in ``__init__``: the
error names the layer and the argument, a wrong type is a TypeError, a value out of range
(NaN and infinity included) a ValueError, and NumPy scalars pass wherever Python ones do."""

import math

import numpy as np
import pytest

from svertka.layers import (
    ELU,
    GELU,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    GlobalMaxPooling2D,
    LeakyReLU,
    LinearThreshold,
    Maxout,
    MaxPooling2D,
    Rescaling,
    Softmax,
)

NAN, INF = float("nan"), float("inf")

# bad values of each kind of argument, with the error each must raise
BAD = {
    "positive_int": [(0, ValueError), (-1, ValueError), (2.0, TypeError), (NAN, TypeError),
                     (INF, TypeError), (True, TypeError), ("3", TypeError), (None, TypeError)],
    "size_pair": [(0, ValueError), ((2, 0), ValueError), (-1, ValueError), (2.0, TypeError),
                  (NAN, TypeError), (True, TypeError), ("3", TypeError), ((1, 2, 3), TypeError),
                  ((2, 1.5), TypeError)],
    "non_negative_int": [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError)],
    "int": [(1.0, TypeError), (True, TypeError), ("-1", TypeError), (None, TypeError)],
    "finite": [(NAN, ValueError), (INF, ValueError), (-INF, ValueError), (True, TypeError),
               ("0.1", TypeError)],
    "rate": [(NAN, ValueError), (INF, ValueError), (-0.1, ValueError), (1.0, ValueError),
             (True, TypeError), ("0.5", TypeError)],
    "unit_interval": [(NAN, ValueError), (INF, ValueError), (-0.1, ValueError),
                      (1.5, ValueError), (False, TypeError), ("0.9", TypeError)],
    "positive_float": [(0.0, ValueError), (-1e-3, ValueError), (NAN, ValueError),
                       (INF, ValueError), (True, TypeError), ("1e-3", TypeError)],
    "flag": [(1, TypeError), (0, TypeError), ("yes", TypeError), (None, TypeError)],
}

# (layer class, the other arguments it needs, the argument under test, its kind, a NumPy value
# it must accept, the attribute that keeps it, what that attribute then holds)
CASES = [
    (Dense, {}, "units", "positive_int", np.int64(8), "units", 8),
    (Maxout, {"units": 4}, "pieces", "positive_int", np.int32(3), "pieces", 3),
    (Conv2D, {"kernel_size": 3}, "filters", "positive_int", np.int64(8), "filters", 8),
    (Conv2D, {"filters": 8}, "kernel_size", "size_pair", np.int64(3), "kernel_size", (3, 3)),
    (Conv2D, {"filters": 8, "kernel_size": 3}, "strides", "size_pair",
     (np.int64(2), np.uint8(1)), "strides", (2, 1)),
    (Conv2D, {"filters": 8, "kernel_size": 3}, "dilation_rate", "size_pair", np.int16(2),
     "dilation_rate", (2, 2)),
    (Conv2D, {"filters": 8, "kernel_size": 3}, "use_bias", "flag", np.bool_(False),
     "use_bias", False),
    (MaxPooling2D, {}, "pool_size", "size_pair", np.int64(2), "pool_size", (2, 2)),
    (AveragePooling2D, {}, "strides", "size_pair", np.int64(1), "strides", (1, 1)),
    (GlobalMaxPooling2D, {}, "keepdims", "flag", np.bool_(True), "keepdims", True),
    (Dropout, {}, "rate", "rate", np.float32(0.25), "rate", 0.25),
    (Dropout, {"rate": 0.5}, "seed", "non_negative_int", np.int64(7), "seed", 7),
    (LeakyReLU, {}, "alpha", "finite", np.float64(0.2), "alpha", 0.2),
    (LeakyReLU, {}, "negative_slope", "finite", np.float32(0.5), "alpha", 0.5),
    (ELU, {}, "alpha", "finite", np.int64(2), "alpha", 2.0),
    (LinearThreshold, {"max_value": 10.0}, "min_value", "finite", np.float32(-1.0),
     "min_value", -1.0),
    (GELU, {}, "approximate", "flag", np.bool_(True), "approximate", True),
    (Softmax, {}, "axis", "int", np.int64(-1), "axis", -1),
    (Concatenate, {}, "axis", "int", np.int8(1), "axis", 1),
    (BatchNormalization, {}, "momentum", "unit_interval", np.float32(0.5), "momentum", 0.5),
    (BatchNormalization, {}, "epsilon", "positive_float", np.float64(1e-5), "epsilon", 1e-5),
    (BatchNormalization, {}, "axis", "int", np.int64(-1), "axis", -1),
    (BatchNormalization, {}, "center", "flag", np.bool_(False), "center", False),
    (Rescaling, {}, "scale", "finite", np.float32(0.5), "scale", 0.5),
    (Rescaling, {"scale": 1.0}, "offset", "finite", np.int64(-1), "offset", -1.0),
]

BAD_CASES = [
    pytest.param(cls, kwargs, arg, value, error,
                 id=f"{cls.__name__}-{arg}={value!r}")
    for cls, kwargs, arg, kind, *_ in CASES
    for value, error in BAD[kind]
]


@pytest.mark.parametrize("cls, kwargs, arg, value, error", BAD_CASES)
def test_bad_values_name_the_layer_and_the_argument(cls, kwargs, arg, value, error):
    with pytest.raises(error) as info:
        cls(**kwargs, **{arg: value})
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}: argument '{arg}' must be"), message
    assert "received" in message


@pytest.mark.parametrize(
    "cls, kwargs, arg, value, attr, kept",
    [pytest.param(cls, kwargs, arg, value, attr, kept, id=f"{cls.__name__}-{arg}")
     for cls, kwargs, arg, _, value, attr, kept in CASES],
)
def test_numpy_scalars_are_accepted_and_kept_as_python_values(cls, kwargs, arg, value, attr,
                                                              kept):
    layer = cls(**kwargs, **{arg: value})
    got = getattr(layer, attr)
    assert got == kept
    items = got if isinstance(got, tuple) else (got,)
    assert all(type(v) in (int, float, bool) for v in items)  # JSON-ready configs
    if isinstance(kept, float):
        assert math.isclose(got, kept, rel_tol=1e-6)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LeakyReLU(alpha=NAN), "LeakyReLU: argument 'alpha' must be a finite number"),
        (lambda: BatchNormalization(epsilon=0), "BatchNormalization: argument 'epsilon' must be "
                                                "a finite number > 0.0, received 0.0"),
        (lambda: Dropout(1.0), "Dropout: argument 'rate' must be a finite number >= 0.0 and "
                               "< 1.0, received 1.0"),
        (lambda: Dense(0), "Dense: argument 'units' must be a positive int, received 0"),
    ],
)
def test_the_issue_examples_are_clear_errors(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(message)


def test_a_layer_built_with_numpy_sizes_runs_and_saves_its_config():
    conv = Conv2D(np.int64(4), np.int64(3), strides=np.int32(1), padding=np.int64(1))
    y = conv(np.zeros((1, 5, 5, 2), np.float32))
    assert y.shape == (1, 5, 5, 4)
    config = conv.get_config()
    assert config["filters"] == 4 and type(config["filters"]) is int
    assert Conv2D.from_config(config).get_config() == config


def test_the_l2_factor_is_a_finite_non_negative_number():
    from svertka.regularizers import L2

    for bad in (NAN, INF, -0.1):
        with pytest.raises(ValueError, match="L2: argument 'l2' must be a finite number >= 0.0"):
            L2(bad)
    with pytest.raises(TypeError, match="L2: argument 'l2'"):
        L2("0.01")
    assert L2(np.float32(0.5)).get_config() == {"l2": 0.5}  # Keras 3's config
    with pytest.raises(ValueError, match="Dense: argument 'kernel_regularizer'"):
        Dense(2, kernel_regularizer={"class_name": "L2", "l2": NAN})


def test_keras_initializer_regularizer_and_activation_objects_are_saved_and_rebuilt(tmp_path):
    import svertka
    from svertka import activations, initializers, regularizers
    from svertka.layers import Conv2D, Input

    model = svertka.Sequential([
        Input((6, 6, 2)),
        Conv2D(3, 3, kernel_initializer=initializers.GlorotNormal(seed=1),
               kernel_regularizer=regularizers.L1L2(l1=0.01, l2=0.02), activation="selu"),
        Conv2D(2, 1, activation=activations.relu6),
    ])
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype(np.float32)
    model.save(tmp_path / "m.svk")
    loaded = svertka.load_model(tmp_path / "m.svk")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    first, second = loaded.layers[0], loaded.layers[1]
    assert first.get_config()["kernel_initializer"]["class_name"] == "GlorotNormal"
    assert first.regularizers[0][1].l1 == pytest.approx(0.01)
    assert second.get_config()["activation"] == "relu6"
