import json
import zipfile

import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.layers import (
    ELU,
    GELU,
    Conv2D,
    Dense,
    Flatten,
    Input,
    LeakyReLU,
    LinearThreshold,
    Maxout,
    MaxoutConv2D,
    PReLU,
    ReLU,
    Softmax,
    Step,
    deserialize,
    serialize,
)

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "layer, op",
    [
        (ReLU(), ops.relu),
        (Step(), ops.step),
        (Step(0.5, -1.0, 2.0), lambda x: ops.step(x, 0.5, -1.0, 2.0)),
        (Step(threshold=-0.3), lambda x: ops.step(x, -0.3)),
        (LeakyReLU(), lambda x: ops.leaky_relu(x, 0.3)),
        (LeakyReLU(alpha=0.1), lambda x: ops.leaky_relu(x, 0.1)),
        (LeakyReLU(negative_slope=0.2), lambda x: ops.leaky_relu(x, 0.2)),
        (ELU(alpha=0.5), lambda x: ops.elu(x, 0.5)),
        (GELU(), ops.gelu),
        (GELU(approximate=True), lambda x: ops.gelu(x, approximate=True)),
        (Softmax(), ops.softmax),
        (Softmax(axis=1), lambda x: ops.softmax(x, axis=1)),
        (LinearThreshold(), ops.linear_threshold),
        (LinearThreshold(0.0, 1.0), lambda x: ops.linear_threshold(x, 0.0, 1.0)),
        (LinearThreshold(low=-0.5, high=2.0), lambda x: ops.linear_threshold(x, -0.5, 2.0)),
        (LinearThreshold(min_value=-0.5, max_value=2.0),
         lambda x: ops.linear_threshold(x, -0.5, 2.0)),
        (LinearThreshold(0.25, max_value=3.0), lambda x: ops.linear_threshold(x, 0.25, 3.0)),
    ],
)
def test_layer_matches_its_op_forward_and_gradient(layer, op):
    data = r(2, 3, 4) * 2
    x, x2 = svertka.Tensor(data, requires_grad=True), svertka.Tensor(data, requires_grad=True)
    y, y2 = layer(x), op(x2)
    gy = r(*y.shape)
    y.backward(gy)
    y2.backward(gy)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_array_equal(x.grad, x2.grad)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)
    assert layer.count_params() == 0


def test_leaky_relu_names_its_slope_either_way():
    assert LeakyReLU().alpha == 0.3
    assert LeakyReLU(negative_slope=0.05).get_config()["alpha"] == 0.05
    with pytest.raises(ValueError, match="LeakyReLU: arguments 'alpha' and 'negative_slope'"):
        LeakyReLU(alpha=0.1, negative_slope=0.2)
    with pytest.raises(TypeError, match="LeakyReLU: argument 'alpha' must be a finite number"):
        LeakyReLU(alpha="0.1")


def test_prelu_learns_one_slope_per_channel_starting_as_relu():
    layer = PReLU()
    x = svertka.Tensor(r(2, 3, 3, 4), requires_grad=True)
    y = layer(x)
    assert layer.alpha.shape == (4,) and layer.count_params() == 4
    np.testing.assert_array_equal(y.numpy(), np.maximum(x.data, 0))  # alpha starts at zero
    layer.set_weights([np.array([0.1, 0.2, 0.3, 0.4], np.float32)])
    gy = r(2, 3, 3, 4)
    layer(x).backward(gy)
    alpha2 = svertka.Tensor(layer.alpha.data, requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    ops.prelu(x2, alpha2).backward(gy)
    np.testing.assert_allclose(layer.alpha.grad, alpha2.grad, rtol=1e-6)
    np.testing.assert_allclose(x.grad, x2.grad)


@pytest.mark.parametrize(
    "shared_axes, alpha_shape",
    [
        (None, (4,)),
        ([], (5, 6, 4)),
        ([1, 2], (1, 1, 4)),
        (1, (1, 6, 4)),
        ([3], (5, 6, 1)),
    ],
)
def test_prelu_shared_axes(shared_axes, alpha_shape):
    layer = PReLU(shared_axes=shared_axes)
    assert layer(r(2, 5, 6, 4)).shape == (2, 5, 6, 4)
    assert layer.alpha.shape == alpha_shape
    assert PReLU.from_config(layer.get_config()).shared_axes == layer.shared_axes


def test_prelu_errors():
    with pytest.raises(ValueError, match="PReLU: argument 'shared_axes'"):
        PReLU(shared_axes=[0])
    with pytest.raises(ValueError, match="PReLU: argument 'shared_axes' must hold axes in"):
        PReLU(shared_axes=[4])(Input((3, 3, 2)))
    with pytest.raises(ValueError, match="PReLU: every axis with its own slopes"):
        PReLU(shared_axes=[])(Input((None, None, 2)))
    with pytest.raises(ValueError, match="PReLU: argument 'alpha_initializer'"):
        PReLU(alpha_initializer="constant_typo")
    layer = PReLU()
    layer(r(1, 2, 2, 3))
    with pytest.raises(ValueError, match=r"PReLU: the layer was built with slopes of shape \(3,\)"):
        layer(r(1, 2, 2, 5))


def test_maxout_is_a_dense_to_units_times_pieces_then_maxout():
    layer = Maxout(3, pieces=2, bias_initializer="glorot_uniform")
    x = svertka.Tensor(r(5, 4), requires_grad=True)
    y = layer(x)
    assert y.shape == (5, 3) and layer.kernel.shape == (4, 6)
    gy = r(5, 3)
    y.backward(gy)
    w = svertka.Tensor(layer.kernel.data, requires_grad=True)
    b = svertka.Tensor(layer.bias.data, requires_grad=True)
    y2 = ops.maxout(ops.dense(svertka.Tensor(x.data), w, b), 2)
    y2.backward(gy)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_allclose(layer.kernel.grad, w.grad, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, b.grad, rtol=1e-6)


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_with_k_pieces_has_k_times_the_parameters_of_dense(pieces):
    maxout, dense = Maxout(10, pieces=pieces), Dense(10)
    maxout(Input((128,)))
    dense(Input((128,)))
    assert dense.count_params() == 1_290
    assert maxout.count_params() == pieces * 1_290


def test_maxout_on_feature_maps_acts_per_pixel():
    layer = Maxout(2, pieces=3)
    y = layer(Input((4, 4, 5)))
    assert y.shape == (None, 4, 4, 2)
    assert layer(r(2, 4, 4, 5)).shape == (2, 4, 4, 2)
    config = layer.get_config()
    assert config["units"] == 2 and config["pieces"] == 3 and "activation" not in config
    with pytest.raises(ValueError, match="Maxout: argument 'pieces' must be a positive int"):
        Maxout(2, pieces=0)
    with pytest.raises(ValueError, match="Maxout: argument 'units'"):
        Maxout(0)


def test_softmax_axis_must_name_a_non_batch_axis():
    for axis in (0, 3, -4):
        with pytest.raises(ValueError, match="Softmax: argument 'axis' must name a non-batch"):
            Softmax(axis=axis)(Input((4, 5)))
    with pytest.raises(TypeError, match="Softmax: argument 'axis' must be an int"):
        Softmax(axis=1.0)
    assert Softmax(axis=-2)(r(2, 3, 4)).numpy().sum(axis=1) == pytest.approx(np.ones((2, 4)))


def test_parameter_checks():
    with pytest.raises(ValueError, match=r"LinearThreshold: argument 'low' must be below "
                                         r"'high', received low=1.0, high=1.0"):
        LinearThreshold(1.0, 1.0)
    with pytest.raises(ValueError, match=r"LinearThreshold: argument 'min_value' must be below "
                                         r"'max_value', received min_value=2.0, max_value=0.5"):
        LinearThreshold(min_value=2.0, max_value=0.5)
    with pytest.raises(ValueError, match=r"LinearThreshold: arguments 'low' and 'min_value' "
                                         r"name the same limit; give one, received low=0.0, "
                                         r"min_value=0.5"):
        LinearThreshold(low=0.0, min_value=0.5)
    with pytest.raises(ValueError, match="LinearThreshold: argument 'high' must be a finite "
                                         "number, received inf"):
        LinearThreshold(high=float("inf"))
    with pytest.raises(ValueError, match="Step: argument 'threshold' must be a finite number, "
                                         "received nan"):
        Step(threshold=float("nan"))
    with pytest.raises(ValueError, match="Step: argument 'low' must be a finite number"):
        Step(low=-float("inf"))
    with pytest.raises(TypeError, match="Step: argument 'high' must be a finite number, "
                                        "received None"):
        Step(high=None)
    with pytest.raises(ValueError, match=r"Step: argument 'low' must be below 'high', received "
                                         r"low=1.0, high=0.0"):
        Step(0.0, 1.0, 0.0)
    with pytest.raises(TypeError, match="ELU: argument 'alpha' must be a finite number"):
        ELU(alpha=None)
    with pytest.raises(TypeError, match="GELU: argument 'approximate' must be True or False"):
        GELU(approximate="tanh")


@pytest.mark.parametrize("name", ["swish", "silu"])
def test_swish_by_name_in_dense_conv2d_and_activation_and_through_a_saved_config(name):
    from svertka.layers import Activation, Conv2D
    from svertka.ops.activations import swish

    x = r(2, 5, 5, 3)
    dense, conv = Dense(4, activation=name), Conv2D(4, 3, activation=name)
    y_dense, y_conv = dense(x), conv(x)
    w, b = dense.get_weights()
    np.testing.assert_allclose(y_dense.numpy(), swish(x @ w + b).numpy(), rtol=1e-5, atol=1e-6)
    w, b = conv.get_weights()
    np.testing.assert_allclose(y_conv.numpy(), swish(ops.conv2d(x, w, b)).numpy(), rtol=1e-5,
                               atol=1e-6)
    for layer in (dense, conv):
        assert type(layer).from_config(layer.get_config()).get_config()["activation"] == name
    np.testing.assert_array_equal(Activation(name)(x).numpy(), swish(x).numpy())


@pytest.mark.parametrize(
    "layer",
    [Step(), Step(0.5, -1.0, 2.0), LinearThreshold(), LinearThreshold(low=0.0, high=6.0),
     MaxoutConv2D(4, 3, pieces=3, strides=2, padding="same", padding_mode="reflect",
                  kernel_initializer="he_normal", bias_regularizer="l2", groups=2)],
    ids=["step", "step_levels", "linear_threshold", "linear_threshold_0_6", "maxout_conv2d"],
)
def test_config_round_trip(layer):
    config = json.loads(json.dumps(serialize(layer)))
    rebuilt = deserialize(config)
    assert type(rebuilt) is type(layer)
    assert rebuilt.get_config() == layer.get_config() == config["config"]
    x = r(2, 6, 6, 4)
    y = layer(x)
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_array_equal(rebuilt(x).numpy(), y.numpy())


def test_configs_name_the_levels_and_keep_the_defaults_of_old_configs():
    assert Step(0.5, -1.0, 2.0).get_config() | {"name": "s"} == {
        "name": "s", "trainable": True, "threshold": 0.5, "low": -1.0, "high": 2.0}
    assert {"low": -1.0, "high": 1.0}.items() <= LinearThreshold().get_config().items()
    # configs written before the levels existed: Step had none, LinearThreshold min/max_value
    old_step = deserialize({"class_name": "Step", "config": {"name": "s", "trainable": True}})
    assert (old_step.threshold, old_step.low, old_step.high) == (0.0, 0.0, 1.0)
    old = deserialize({"class_name": "LinearThreshold",
                       "config": {"name": "t", "trainable": True, "min_value": 0.0,
                                  "max_value": 2.0}})
    assert (old.low, old.high, old.min_value, old.max_value) == (0.0, 2.0, 0.0, 2.0)
    assert old.get_config()["low"] == 0.0 and "min_value" not in old.get_config()


def _conv_maxout(x, w, b, pieces, **conv):
    return ops.maxout(ops.conv2d(x, w, b, **conv), pieces)


def test_maxout_conv2d_is_a_conv2d_to_filters_times_pieces_then_maxout():
    layer = MaxoutConv2D(4, 3, pieces=3, padding="same", bias_initializer="glorot_uniform")
    conv = Conv2D(4, 3, padding="same")
    x = svertka.Tensor(r(2, 6, 6, 5), requires_grad=True)
    y = layer(x)
    conv(x)
    assert y.shape == (2, 6, 6, 4) and layer.kernel.shape == (3, 3, 5, 12)
    assert layer.bias.shape == (12,) and layer.count_params() == 3 * conv.count_params()
    assert layer.compute_output_shape((None, 6, 6, 5)) == (None, 6, 6, 4)
    assert MaxoutConv2D(4, 3, pieces=2)(Input((7, 9, 2))).shape == (None, 5, 7, 4)
    gy = r(*y.shape)
    y.backward(gy)
    x2, w, b = (svertka.Tensor(a, requires_grad=True)
                for a in (x.data, layer.kernel.data, layer.bias.data))
    y2 = _conv_maxout(x2, w, b, 3, padding="same")
    y2.backward(gy)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_array_equal(x.grad, x2.grad)
    np.testing.assert_array_equal(layer.kernel.grad, w.grad)
    np.testing.assert_array_equal(layer.bias.grad, b.grad)


@pytest.mark.parametrize("pieces", [2, 3])
def test_maxout_conv2d_float64_gradients_of_input_kernel_and_bias(pieces):
    g = np.random.default_rng(pieces)
    x, w, b = g.standard_normal((2, 4, 4, 2)), g.standard_normal((2, 2, 2, 2 * pieces)), \
        g.standard_normal(2 * pieces)
    check_grad(lambda x, w, b: _conv_maxout(x, w, b, pieces, strides=1, padding=1), x, w, b)


TORCH_GEOMETRIES = [
    dict(pieces=2),
    dict(pieces=3, strides=2, padding="same"),
    dict(pieces=4, padding=1, dilation_rate=2),
    dict(pieces=2, groups=2),
]


@pytest.mark.parametrize("geometry", TORCH_GEOMETRIES, ids=[str(g) for g in TORCH_GEOMETRIES])
def test_maxout_conv2d_matches_torch(geometry):
    """PyTorch: F.conv2d in NCHW to filters * pieces maps, ``unflatten(1, (filters, pieces))``
    and ``max(2)``: forward and the gradients of input, kernel and bias."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    geometry = dict(geometry)
    pieces, groups = geometry.pop("pieces"), geometry.get("groups", 1)
    layer = MaxoutConv2D(4, 3, pieces=pieces, **geometry)
    x = r(2, 7, 7, 4).astype(np.float64)
    layer(x.astype(np.float32))
    w, b = (a.astype(np.float64) for a in layer.get_weights())
    layer.set_weights([w, b])  # float64 weights: the comparison runs in float64
    geometry.pop("groups", None)
    strides = layer.strides
    pads = layer.window((None, 7, 7, 4))[3]

    def ours(x, w, b):
        return _conv_maxout(x, w, b, pieces, groups=groups, **geometry)

    def theirs(x, w, b):
        x = F.pad(nhwc_to_nchw(x), (*pads[1], *pads[0]))
        y = F.conv2d(x, w.permute(3, 2, 0, 1), b, stride=strides,
                     dilation=layer.dilation_rate, groups=groups)
        return nchw_to_nhwc(y.unflatten(1, (4, pieces)).max(2).values)

    compare_torch(ours, theirs, x, w, b, atol=1e-10, rtol=1e-10)
    np.testing.assert_allclose(layer(x).numpy(), ours(x, w, b).numpy(), rtol=1e-12)


def test_maxout_conv2d_ties_send_the_gradient_to_the_first_piece():
    layer = MaxoutConv2D(2, 1, pieces=3, kernel_initializer="zeros")
    x = svertka.Tensor(r(2, 3, 3, 1), requires_grad=True)
    layer(x).backward(np.ones((2, 3, 3, 2), np.float32))  # all pieces tie (0 + bias 0)
    np.testing.assert_array_equal(layer.bias.grad, [18, 0, 0, 18, 0, 0])
    np.testing.assert_array_equal(layer.kernel.grad[..., [1, 2, 4, 5]], 0)


def test_dense_and_conv_maxout_group_the_same_units():
    """Maxout(units, pieces) on each pixel equals MaxoutConv2D with a 1x1 kernel holding the
    same weights: both take unit j from outputs j*pieces ... j*pieces + pieces - 1."""
    dense, conv = Maxout(3, pieces=4, bias_initializer="glorot_uniform"), MaxoutConv2D(3, 1, 4)
    x = r(2, 5, 5, 6)
    y_dense = dense(x)
    conv(x)
    w, b = dense.get_weights()
    conv.set_weights([w.reshape(1, 1, 6, 12), b])
    np.testing.assert_allclose(conv(x).numpy(), y_dense.numpy(), rtol=1e-5, atol=1e-6)


def test_maxout_conv2d_errors_name_the_layer():
    with pytest.raises(ValueError, match="MaxoutConv2D: argument 'pieces' must be a positive"):
        MaxoutConv2D(4, 3, pieces=0)
    with pytest.raises(TypeError, match="MaxoutConv2D: argument 'pieces' must be"):
        MaxoutConv2D(4, 3, pieces=2.0)
    with pytest.raises(ValueError, match=r"MaxoutConv2D: argument 'groups' must divide "
                                         r"'filters' .*received groups=2, filters=3"):
        MaxoutConv2D(3, 3, pieces=2, groups=2)
    with pytest.raises(ValueError, match="MaxoutConv2D: argument 'filters' must be a positive"):
        MaxoutConv2D(0, 3)
    with pytest.raises(TypeError, match=r"MaxoutConv2D: takes no argument 'activation' .*"
                                        r"received activation='relu'"):
        MaxoutConv2D(4, 3, activation="relu")


def _model():
    inputs = Input((8, 8, 3))
    a = MaxoutConv2D(4, 3, pieces=3, padding="same", bias_initializer="glorot_uniform")(inputs)
    a = LinearThreshold(low=-0.5, high=0.75, name="clip")(a)
    a = Maxout(5, pieces=2, bias_initializer="glorot_uniform")(Flatten()(a))
    return svertka.Model(inputs, [a, Step(0.1, -1.0, 2.0, name="step")(a)], name="activations")


def test_a_model_of_these_activations_saves_and_loads(tmp_path):
    model = _model()
    x = r(3, 8, 8, 3)
    y, s = model.predict(x, verbose=0)
    assert set(np.unique(s)) <= {-1.0, 2.0} and len(np.unique(s)) == 2
    path = tmp_path / "acts.svk"
    model.save(path)
    loaded = svertka.load_model(path)
    assert [type(la) for la in loaded.layers] == [type(la) for la in model.layers]
    assert [la.get_config() for la in loaded.layers] == [la.get_config() for la in model.layers]
    for got, want in zip(loaded.predict(x, verbose=0), (y, s)):
        np.testing.assert_array_equal(got, want)


def test_a_model_file_with_the_old_configs_loads(tmp_path):
    """A .svk whose LinearThreshold says min_value/max_value and whose Step has no levels, as
    files written before the levels existed: both load with the same meaning."""
    model = _model()
    x = r(2, 8, 8, 3)
    model.save(tmp_path / "new.svk")
    with zipfile.ZipFile(tmp_path / "new.svk") as src, \
            zipfile.ZipFile(tmp_path / "old.svk", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "svertka.json":
                spec = json.loads(data)
                rewritten = []
                for layer in spec["model"]["config"]["layers"]:
                    config = layer["config"]
                    if layer["class_name"] == "LinearThreshold":
                        config["min_value"], config["max_value"] = config.pop("low"), \
                            config.pop("high")
                        rewritten.append(config["name"])
                    if layer["class_name"] == "Step":  # the old Step: the default levels
                        for key in ("threshold", "low", "high"):
                            del config[key]
                        rewritten.append(config["name"])
                assert rewritten == ["clip", "step"]
                data = json.dumps(spec).encode()
            dst.writestr(item, data)
    loaded = svertka.load_model(tmp_path / "old.svk")
    clip, step = loaded.get_layer("clip"), loaded.get_layer("step")
    assert (clip.low, clip.high) == (-0.5, 0.75)
    assert (step.threshold, step.low, step.high) == (0.0, 0.0, 1.0)
    y, s = loaded.predict(x, verbose=0)
    np.testing.assert_array_equal(y, model.predict(x, verbose=0)[0])
    np.testing.assert_array_equal(s, (y > 0).astype(np.float32))


def test_onnx_export_of_levels_limits_and_conv_maxout(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from svertka.interop.onnx import export_onnx

    inputs = Input((9, 9, 4))
    a = MaxoutConv2D(3, 3, pieces=3, padding="same", bias_initializer="glorot_uniform")(inputs)
    b = MaxoutConv2D(4, 3, pieces=2, strides=2, groups=2, padding_mode="reflect",
                     padding=1)(inputs)
    a = Step(0.05, -1.0, 0.5)(a)
    b = LinearThreshold(low=-0.2, high=0.3)(b)
    outputs = [a, b, Dense(2, activation="step")(Flatten()(b)),
               Conv2D(2, 1, activation="linear_threshold")(b)]
    model = svertka.Model(inputs, outputs, name="levels")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 9, 9, 4)).astype(np.float32)
    path = tmp_path / "levels.onnx"
    export_onnx(model, path)
    onnx.checker.check_model(str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})
    for g, want in zip(got, model.predict(x, verbose=0), strict=True):
        assert g.shape == want.shape
        np.testing.assert_allclose(g, want, atol=1e-6)
    assert set(np.unique(got[0])) == {-1.0, 0.5}
    assert 0 < (np.abs(got[1]) < 0.2).mean() < 1  # some values inside the limits, some clipped
