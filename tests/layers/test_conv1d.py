"""The 1-D layers: Conv1D, MaxPooling1D, AveragePooling1D and the global 1-D pools, on
channels-last sequences (N, L, C): shapes and values by Keras's rules, float64 gradient checks,
and forward and every gradient against PyTorch's conv1d/max_pool1d/avg_pool1d."""

import json

import numpy as np
import pytest
from tests.helpers import check_grad, compare_torch

import svertka
from svertka import layers
from svertka.layers import (
    AveragePooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Input,
    MaxPooling1D,
)

rng = np.random.default_rng(0)


def r(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def built_conv(x_shape, **kwargs):
    layer = Conv1D(**kwargs)
    layer(np.zeros(x_shape, np.float32))
    return layer


def conv_fn(layer):
    """``(x, w, b) -> layer.call(x)`` with the given weights (float64 for gradient checks)."""
    def fn(x, w, b=None):
        layer.kernel, layer.bias = w, b
        return layer.call(x)
    return fn


# (kwargs, input shape, expected output length); Keras's output-length rule for each padding
CONV_CASES = [
    (dict(filters=3, kernel_size=3), (2, 9, 2), 7),
    (dict(filters=3, kernel_size=3, strides=2), (2, 9, 2), 4),
    (dict(filters=2, kernel_size=4, strides=3, padding="same"), (2, 10, 3), 4),
    (dict(filters=2, kernel_size=2, padding="same"), (1, 7, 2), 7),
    (dict(filters=2, kernel_size=3, dilation_rate=2, padding="causal"), (2, 8, 3), 8),
    (dict(filters=2, kernel_size=3, strides=2, padding="causal"), (2, 9, 2), 5),
    (dict(filters=4, kernel_size=2, groups=2, padding="same", strides=2), (2, 7, 4), 4),
    (dict(filters=2, kernel_size=3, dilation_rate=2), (1, 9, 1), 5),
]
CONV_IDS = [f"conv{i}" for i in range(len(CONV_CASES))]


def torch_conv1d(layer):
    """PyTorch's conv1d on the channels-first transpose, with the layer's padding spelled out
    (left, right) as Keras resolves it (torch is imported when called, after compare_torch's
    importorskip)."""
    def fn(x, w, b=None):
        import torch
        import torch.nn.functional as F

        k, d, s = layer.kernel_size, layer.dilation_rate, layer.strides
        length = x.shape[1]
        if layer.padding == "causal":
            pads = (d * (k - 1), 0)
        elif layer.padding == "same":
            out = -(-length // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - length, 0)
            pads = (total // 2, total - total // 2)
        else:
            pads = (0, 0)
        xc = F.pad(x.permute(0, 2, 1), pads)
        y = F.conv1d(xc, w.permute(2, 1, 0), b, stride=s, dilation=d, groups=layer.groups)
        return torch.relu(y).permute(0, 2, 1) if layer.activation == "relu" else y.permute(0, 2, 1)
    return fn


@pytest.mark.parametrize("kwargs, shape, length", CONV_CASES, ids=CONV_IDS)
def test_conv1d_shapes_follow_keras(kwargs, shape, length):
    layer = Conv1D(**kwargs)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, length, kwargs["filters"])
    y = layer(r(*shape, dtype=np.float32))
    assert y.shape == (shape[0], length, kwargs["filters"])
    k, c, f = kwargs["kernel_size"], shape[2], kwargs["filters"]
    assert layer.kernel.shape == (k, c // kwargs.get("groups", 1), f)
    assert layer.count_params() == k * c // kwargs.get("groups", 1) * f + f


@pytest.mark.parametrize("kwargs, shape, length", CONV_CASES, ids=CONV_IDS)
def test_conv1d_gradients_float64(kwargs, shape, length):
    layer = built_conv(shape, **kwargs)
    w = r(*layer.kernel.shape)
    check_grad(conv_fn(layer), r(*shape), w, r(kwargs["filters"]))


@pytest.mark.parametrize("kwargs, shape, length", CONV_CASES, ids=CONV_IDS)
def test_conv1d_matches_torch(kwargs, shape, length):
    layer = built_conv(shape, activation="relu", **kwargs)
    compare_torch(conv_fn(layer), torch_conv1d(layer), r(*shape), r(*layer.kernel.shape),
                  r(kwargs["filters"]))


def test_conv1d_without_bias_matches_torch():
    layer = built_conv((2, 6, 3), filters=2, kernel_size=3, use_bias=False, padding="same")
    assert layer.bias is None and layer.count_params() == 18
    compare_torch(conv_fn(layer), torch_conv1d(layer), r(2, 6, 3), r(3, 3, 2))


def test_conv1d_by_hand():
    """A kernel [1, 2] on [1, 2, 3, 4]: valid [5, 8, 11]; causal pads one zero on the left."""
    x = np.array([1.0, 2, 3, 4]).reshape(1, 4, 1)
    w = [np.array([1.0, 2]).reshape(2, 1, 1), np.array([0.5])]
    valid = Conv1D(1, 2)
    valid(x)
    valid.set_weights(w)
    assert valid(x).numpy().ravel().tolist() == [5.5, 8.5, 11.5]
    causal = Conv1D(1, 2, padding="causal")
    causal(x)
    causal.set_weights(w)
    assert causal(x).numpy().ravel().tolist() == [2.5, 5.5, 8.5, 11.5]
    same = Conv1D(1, 2, padding="same")  # the odd padded step goes at the end
    same(x)
    same.set_weights(w)
    assert same(x).numpy().ravel().tolist() == [5.5, 8.5, 11.5, 4.5]


def test_causal_output_never_sees_the_future():
    layer = built_conv((1, 12, 2), filters=3, kernel_size=3, dilation_rate=2, padding="causal")
    x = r(1, 12, 2, dtype=np.float32)
    later = x.copy()
    later[:, 7:] += 5.0
    a, b = layer(x).numpy(), layer(later).numpy()
    np.testing.assert_array_equal(a[:, :7], b[:, :7])
    assert not np.allclose(a[:, 7:], b[:, 7:])


def test_conv1d_unknown_length_stays_unknown_and_runs_any_length():
    seq = Input((None, 4))
    conv = Conv1D(5, 3, padding="causal")
    assert conv(seq).shape == (None, None, 5)
    assert conv(np.zeros((2, 11, 4), np.float32)).shape == (2, 11, 5)
    assert conv(np.zeros((1, 3, 4), np.float32)).shape == (1, 3, 5)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(filters=2, kernel_size=3, padding="full"), ValueError, "'padding'"),
    (dict(filters=2, kernel_size=(3, 3)), ValueError, "kernel_size"),
    (dict(filters=2, kernel_size=0), ValueError, "kernel_size"),
    (dict(filters=3, kernel_size=2, groups=2), ValueError, "groups"),
    (dict(filters=2, kernel_size=2, data_format="channels_first"), ValueError,
     "channels-last"),
    (dict(filters=2, kernel_size=2, kernel_constraint="max_norm"), TypeError, "kernel_constraint"),
])
def test_conv1d_refuses_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        Conv1D(**kwargs)


def test_conv1d_refuses_bad_inputs():
    with pytest.raises(ValueError, match=r"Conv1D: expected 3-D inputs .*\(None, 8, 8, 1\)"):
        Conv1D(2, 3)(Input((8, 8, 1)))
    with pytest.raises(ValueError, match="Conv1D.*kernel"):
        Conv1D(2, 5)(Input((4, 1)))
    conv = built_conv((1, 6, 3), filters=2, kernel_size=2)
    with pytest.raises(ValueError, match="built for inputs with 3 channels"):
        conv(np.zeros((1, 6, 2), np.float32))
    with pytest.raises(ValueError, match="groups"):
        Conv1D(4, 2, groups=2)(Input((6, 3)))


def test_conv1d_config_round_trip_is_json_and_keras_shaped():
    layer = Conv1D(4, 3, strides=2, padding="CAUSAL", dilation_rate=1, activation="relu",
                   kernel_regularizer="l2", name="c1")
    config = json.loads(json.dumps(layers.serialize(layer)))
    assert config["config"]["kernel_size"] == [3] and config["config"]["padding"] == "causal"
    assert config["config"]["data_format"] == "channels_last"
    again = layers.deserialize(config)
    assert again.get_config() == layer.get_config()
    x = r(2, 9, 3, dtype=np.float32)
    layer(x)
    again(x)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(again(x).numpy(), layer(x).numpy())
    assert len(layer.regularizers) == 1


# ---- pooling -------------------------------------------------------------------------------

POOL_CASES = [
    (dict(), (2, 9, 3), 4),
    (dict(pool_size=3, strides=1), (2, 7, 2), 5),
    (dict(pool_size=3, strides=2), (1, 9, 2), 4),
    (dict(pool_size=3, strides=1, padding="same"), (2, 6, 2), 6),
    (dict(pool_size=2, strides=2, padding="same"), (2, 7, 2), 4),
    (dict(pool_size=(4,), strides=(3,), padding="same"), (1, 10, 1), 4),
]
POOL_IDS = [f"pool{i}" for i in range(len(POOL_CASES))]


@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
@pytest.mark.parametrize("kwargs, shape, length", POOL_CASES, ids=POOL_IDS)
def test_pool1d_shapes_and_gradients(cls, kwargs, shape, length):
    layer = cls(**kwargs)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, length, shape[2])
    x = r(*shape)
    layer(x)
    check_grad(lambda t: layer.call(t), x)
    assert layer.count_params() == 0


def test_pools_by_hand():
    x = np.array([1.0, 3, 2, 0, 5]).reshape(1, 5, 1)
    assert MaxPooling1D()(x).numpy().ravel().tolist() == [3.0, 2.0]
    assert MaxPooling1D(2, padding="same")(x).numpy().ravel().tolist() == [3.0, 2.0, 5.0]
    # the padded step is not counted: the last window averages [5] alone (Keras/TF)
    assert AveragePooling1D(2, padding="same")(x).numpy().ravel().tolist() == [2.0, 1.0, 5.0]
    assert AveragePooling1D(3, strides=1)(x).numpy().ravel().tolist() == [2.0, 5 / 3, 7 / 3]


@pytest.mark.parametrize("kwargs, shape, length", [c for c in POOL_CASES if "padding" not in c[0]
                                                   or c[0]["pool_size"] == 3],
                         ids=[i for i, c in zip(POOL_IDS, POOL_CASES)
                              if "padding" not in c[0] or c[0]["pool_size"] == 3])
def test_pool1d_matches_torch(kwargs, shape, length):
    """Valid padding, and 'same' where it pads both ends equally (what torch can express)."""
    F = pytest.importorskip("torch.nn.functional")  # noqa: N806 - torch's usual name

    size = kwargs.get("pool_size", 2)
    stride = kwargs.get("strides", size)
    pad = (size - 1) // 2 if kwargs.get("padding") == "same" else 0

    def torch_max(t):
        return F.max_pool1d(t.permute(0, 2, 1), size, stride, pad).permute(0, 2, 1)

    def torch_avg(t):
        return F.avg_pool1d(t.permute(0, 2, 1), size, stride, pad,
                            count_include_pad=False).permute(0, 2, 1)

    x = r(*shape)
    for cls, theirs in ((MaxPooling1D, torch_max), (AveragePooling1D, torch_avg)):
        layer = cls(**kwargs)
        compare_torch(lambda t, layer=layer: layer(t), theirs, x)


@pytest.mark.parametrize("cls, reduce", [(GlobalAveragePooling1D, "mean"),
                                         (GlobalMaxPooling1D, "amax")])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools_values_gradients_and_torch(cls, reduce, keepdims):
    layer = cls(keepdims=keepdims)
    shape = (3, 5, 4)
    assert layer.compute_output_shape((None, 5, 4)) == ((None, 1, 4) if keepdims else (None, 4))
    x = r(*shape)
    y = layer(x).numpy()
    np.testing.assert_allclose(y, getattr(np, reduce.replace("amax", "max"))(
        x, axis=1, keepdims=keepdims))
    check_grad(lambda t: layer(t), x)
    torch = pytest.importorskip("torch")
    compare_torch(lambda t: layer(t),
                  lambda t: getattr(torch, reduce)(t, dim=1, keepdim=keepdims), x)


def test_pools_refuse_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="MaxPooling1D: argument 'padding'.*'causal'"):
        MaxPooling1D(2, padding="causal")
    with pytest.raises(ValueError, match="AveragePooling1D: argument 'pool_size'"):
        AveragePooling1D((2, 2))
    with pytest.raises(ValueError, match="GlobalMaxPooling1D: argument 'data_format'"):
        GlobalMaxPooling1D(data_format="channels_first")
    with pytest.raises(ValueError, match="GlobalAveragePooling1D: expected 3-D inputs"):
        GlobalAveragePooling1D()(Input((4, 4, 1)))
    with pytest.raises(ValueError, match="MaxPooling1D.*pool window"):
        MaxPooling1D(5)(Input((3, 2)))


@pytest.mark.parametrize("layer", [
    MaxPooling1D(3, strides=1, padding="same", name="p"),
    AveragePooling1D(name="p"),
    GlobalAveragePooling1D(keepdims=True, name="p"),
    GlobalMaxPooling1D(name="p"),
])
def test_pool_config_round_trip(layer):
    config = json.loads(json.dumps(layers.serialize(layer)))
    again = layers.deserialize(config)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    x = r(2, 6, 3, dtype=np.float32)
    np.testing.assert_array_equal(again(x).numpy(), layer(x).numpy())


def test_keras_1d_model_summary_and_training():
    """A Keras-style 1-D classifier: shapes through a functional model, and fit lowers the loss."""
    svertka.utils.set_random_seed(0)
    g = np.random.default_rng(1)
    x = g.normal(0, 0.1, (64, 16, 2)).astype(np.float32)
    y = g.integers(0, 2, 64)
    x[y == 1, 4:8, 0] += 1.0  # class 1 has a bump in channel 0
    inp = Input((16, 2))
    h = Conv1D(6, 3, padding="same", activation="relu")(inp)
    h = MaxPooling1D(2)(h)
    h = Conv1D(6, 3, activation="relu")(h)
    out = layers.Dense(2, activation="softmax")(GlobalAveragePooling1D()(h))
    model = svertka.Model(inp, out)
    assert model.output_shape == (None, 2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, batch_size=16, epochs=6, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
