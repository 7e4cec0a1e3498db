"""ONNX export: every zoo architecture, and a model of every other exportable layer, runs in
onnxruntime with svertka's outputs.

The comparison is ``max|ort - svertka| / max|svertka| <= 1e-4`` on the output. A softmax
output of random weights is nearly one-hot and would hide errors, so the zoo models are
compared on their logits (the final softmax switched off on the layer before export); the
notes' model is also compared with its softmax, to 1e-5 absolute on the probabilities.
Weights, biases and batch-norm statistics are randomised first, so that a kernel transposed
wrongly or a moving variance taken for a variance shows.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from svertka import layers, ops, zoo
from svertka.models import Model, Sequential

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
onnx_export = pytest.importorskip("svertka.interop.onnx")

RTOL = 1e-4


def randomize(model, seed=0):
    """Random biases and batch-norm parameters and statistics (the builders' are 0 and 1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for name, w in zip(layer.weight_names, layer.get_weights()):
            if name == "moving_variance":
                w = rng.uniform(0.5, 2.0, w.shape)
            elif name == "gamma":
                w = rng.uniform(0.5, 1.5, w.shape)
            elif name in ("bias", "beta", "moving_mean", "alpha"):
                w = rng.normal(0.0, 0.2, w.shape)
            elif name in ("kernel", "depthwise_kernel", "pointwise_kernel"):
                w = w * rng.uniform(0.5, 1.5, w.shape)
            values.append(w.astype(np.float32))
        layer.set_weights(values)
    return model


def cut_connections_hold_weights(model):
    """TableConv2D keeps a full kernel and masks it in each call: fill the cut connections,
    so that an export forgetting the mask differs."""
    for layer in model.layers:
        if isinstance(layer, layers.TableConv2D):
            noise = np.random.default_rng(2).normal(0, 1, layer.kernel.shape)
            layer.kernel.data = (layer.kernel.numpy() + noise * (1 - layer.mask)).astype(
                np.float32)
    return model


def without_softmax(model):
    """The model with its last layer's softmax switched off: its outputs are logits."""
    last = model.outputs[0].layer
    if getattr(last, "activation", None) == "softmax":
        last._activation, last.activation = None, None
    return model


def run_onnx(path, x, **export_kwargs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return session.run(None, {name: x})


def check_export(model, tmp_path, batch=2, seed=1, **export_kwargs):
    """Export ``model``, run it in onnxruntime and compare with ``model.predict``."""
    shape = tuple(model.input_shape[1:])
    x = np.random.default_rng(seed).uniform(-1, 1, (batch, *shape)).astype(np.float32)
    path = tmp_path / f"{model.name}.onnx"
    proto = onnx_export.export_onnx(model, path, **export_kwargs)
    onnx.checker.check_model(str(path))
    (y,) = run_onnx(path, x)
    expected = np.asarray(model.predict(x))
    assert y.shape == expected.shape
    assert y.dtype == np.float32
    scale = np.abs(expected).max()
    assert scale > 0
    error = np.abs(y - expected).max() / scale
    assert error <= RTOL, f"{model.name}: relative error {error:.3g}"
    return proto, y, expected


ZOO = {  # the architectures at sizes that keep this file quick (full sizes: slow tests)
    "notes": lambda: zoo.notes_cnn(),
    "lenet5": lambda: zoo.lenet5(),
    "lenet5_mnist": lambda: zoo.lenet5((28, 28, 1)),
    "lenet5_c3_table": lambda: cut_connections_hold_weights(zoo.lenet5(c3_table=True)),
    "alexnet": lambda: zoo.alexnet((64, 64, 3), include_top=False),
    "alexnet_original": lambda: zoo.alexnet((67, 67, 3), include_top=False, original=True),
    "alexnet_avg": lambda: zoo.alexnet((64, 64, 3), include_top=False, pooling="avg"),
    "vgg11": lambda: zoo.vgg11((32, 32, 3), include_top=False),
    "vgg13": lambda: zoo.vgg13((32, 32, 3), include_top=False, pooling="max"),
    "vgg16": lambda: zoo.vgg16((32, 32, 3), include_top=False),
    "vgg16_bn": lambda: zoo.vgg16((32, 32, 3), include_top=False, batch_norm=True),
    "vgg19": lambda: zoo.vgg19((32, 32, 3), include_top=False, pooling="avg"),
    "resnet18": lambda: zoo.resnet18((64, 64, 3), classes=10),
    "resnet34": lambda: zoo.resnet34((64, 64, 3), classes=10),
    "resnet50": lambda: zoo.resnet50((64, 64, 3), classes=10),
    "resnet101": lambda: zoo.resnet101((32, 32, 3), classes=10),
    "resnet152": lambda: zoo.resnet152((32, 32, 3), classes=10),
    "resnet20": lambda: zoo.resnet20(),
    "resnet32": lambda: zoo.resnet32(),
    "resnet44": lambda: zoo.resnet44(),
    "resnet56": lambda: zoo.resnet56(),
    "netvlad": lambda: zoo.netvlad(clusters=8, input_shape=(32, 32, 3)),
    "netvlad_alexnet": lambda: zoo.netvlad("alexnet", clusters=8, input_shape=(64, 64, 3),
                                           whitening=16),
}


def test_every_architecture_is_covered():
    covered = {name.split("_")[0] for name in ZOO}
    assert set(zoo.ARCHITECTURES) <= covered


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_models_run_in_onnxruntime_as_in_svertka(name, tmp_path):
    model = without_softmax(randomize(ZOO[name]()))
    check_export(model, tmp_path)


def test_the_notes_model_gives_the_same_probabilities(tmp_path):
    model = randomize(zoo.notes_cnn())
    _, y, expected = check_export(model, tmp_path, batch=5)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert (y.argmax(axis=1) == expected.argmax(axis=1)).all()


@pytest.mark.slow
@pytest.mark.parametrize("builder", [
    lambda: zoo.alexnet(),
    lambda: zoo.alexnet(original=True),
    lambda: zoo.vgg16(),
    lambda: zoo.resnet50(),
    lambda: zoo.netvlad(clusters=16, whitening=32),
], ids=["alexnet", "alexnet_original", "vgg16", "resnet50", "netvlad_vgg16"])
def test_full_size_models_run_in_onnxruntime_as_in_svertka(builder, tmp_path):
    start = time.perf_counter()
    check_export(without_softmax(randomize(builder())), tmp_path, batch=1)
    assert time.perf_counter() - start < 600


def test_the_graph_keeps_nhwc_at_its_ends_with_a_dynamic_batch(tmp_path):
    model = zoo.lenet5(c3_table=True)
    proto = onnx_export.export_onnx(model, tmp_path / "m.onnx")
    (graph_input,) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "input"
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [32, 32, 1]
    assert [o.name for o in proto.graph.output] == ["output"]
    assert proto.opset_import[0].version == onnx_export.DEFAULT_OPSET
    # one transpose in (before C1) and one out (before the flatten), however many convs
    assert [n.op_type for n in proto.graph.node].count("Transpose") == 2
    x = np.random.default_rng(0).uniform(size=(7, 32, 32, 1)).astype(np.float32)
    (y,) = run_onnx(tmp_path / "m.onnx", x)
    np.testing.assert_allclose(y, model.predict(x), atol=1e-5)


def test_a_fixed_batch_size_and_a_later_opset(tmp_path):
    model = randomize(zoo.netvlad("alexnet", clusters=4, input_shape=(64, 64, 3),
                                  whitening=8))
    proto, _, _ = check_export(model, tmp_path, batch=3, opset=18, batch_size=3)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    assert proto.opset_import[0].version == 18


def extras_model():
    """A graph of the exportable layers the zoo does not use."""
    inputs = layers.Input((12, 12, 4))
    x = layers.Rescaling(0.5, offset=0.1)(inputs)
    a = layers.Conv2D(8, 3, padding="same", dilation_rate=2, groups=2, activation="gelu")(x)
    a = layers.BatchNormalization(scale=False)(a)
    a = layers.PReLU()(a)
    b = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2,
                               activation="swish")(x)
    b = layers.UpSampling2D(2, interpolation="bilinear")(b)
    b = layers.LocalResponseNormalization(size=4, alpha=0.5, beta=0.6, k=1.5)(b)
    c = layers.SeparableConv2D(6, 3, padding=((0, 2), (1, 1)), depth_multiplier=2,
                               activation="elu")(x)
    c = layers.Conv2D(5, (3, 2), strides=(2, 1), padding="same", padding_mode="reflect",
                      activation="softplus")(c)  # (6, 12, 5)
    c = layers.Conv2DTranspose(6, 3, strides=2, padding="same", activation="leaky_relu")(c)
    c = layers.Cropping2D(((1, 1), (5, 7)))(c)  # (10, 12, 6)
    c = layers.ZeroPadding2D(((1, 1), (0, 0)))(c)
    x = layers.Concatenate()([a, b, c])  # (12, 12, 22)
    x = layers.GroupNormalization(groups=2)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(8, 3, padding=1, padding_mode="symmetric", activation="tanh")(x)
    x = layers.AveragePooling2D(3, strides=2, padding="same")(x)  # (6, 6, 8)
    x = layers.Add()([x, layers.MaxPooling2D(3, strides=2, padding=1)(
        layers.Conv2D(8, 1, activation="softmax")(a))])
    x = layers.ELU(0.5)(x)
    s = layers.UpSampling2D((2, 2))(layers.Conv2D(3, 1, padding_mode="circular")(x))
    s = layers.SumPooling2D(4)(s)
    m = layers.MinPooling2D(2)(layers.GELU(approximate=True)(x))
    shortcut = layers.IdentityShortcut(11, strides=2)(x)  # 1 zero channel before, 2 after
    x = layers.Concatenate()([s, m, shortcut])  # (3, 3, 22)
    x = layers.LayerNormalization(axis=[1, 2])(x)
    x = layers.Conv2DTranspose(4, 2, strides=2, padding=((0, 1), (1, 0)), output_padding=1,
                               activation="relu")(x)  # (6, 6, 4)
    x = layers.Conv2D(6, 3, padding=2, padding_mode="circular")(x)
    x = layers.Conv2D(6, 3, padding=((1, 2), (0, 1)), padding_mode="replicate")(x)
    g = layers.GlobalMaxPooling2D()(x)
    k = layers.GlobalAveragePooling2D(keepdims=True)(layers.Step()(x))
    x = layers.Reshape((-1,))(layers.LinearThreshold(-0.5, 0.5)(x))
    x = layers.Concatenate()([x, g, layers.Flatten()(k)])
    x = layers.Dense(32, activation="log_softmax")(layers.Dropout(0.5)(x))
    x = layers.BatchNormalization(center=False)(layers.Activation("softsign")(x))
    x = layers.LayerNormalization()(x)
    x = layers.Reshape((4, 8))(layers.ReLU()(x))
    x = layers.Maxout(6, pieces=3)(x)  # (4, 6)
    x = layers.Lambda(ops.leaky_relu, arguments={"alpha": 0.1})(x)
    x = layers.Lambda(ops.l2_normalize, arguments={"axis": 1})(x)
    x = layers.BatchNormalization()(x)
    return Model(inputs, layers.Softmax(axis=1)(layers.Flatten()(x)), name="extras")


def test_a_model_of_the_other_layers(tmp_path):
    model = randomize(extras_model())
    used = {type(layer) for layer in model.layers}
    assert len(used) >= 30
    _, y, expected = check_export(model, tmp_path, batch=4)
    np.testing.assert_allclose(y, expected, atol=1e-6)


def test_every_layer_of_svertka_has_a_converter():
    ours = {name for name, cls in layers.LAYERS.items()
            if cls.__module__.startswith("svertka.layers")}
    assert ours - set(onnx_export.supported_layers()) == set()


@pytest.mark.parametrize("size", [(9, 13), (16, 10)])
def test_unknown_image_sizes_stay_dynamic(size, tmp_path):
    inputs = layers.Input((None, None, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = layers.Conv2D(4, 3, padding="valid")(x)
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(x))
    model = randomize(Model(inputs, outputs))
    path = tmp_path / "any_size.onnx"
    onnx_export.export_onnx(model, path)
    x = np.random.default_rng(0).normal(size=(2, *size, 3)).astype(np.float32)
    (y,) = run_onnx(path, x)
    np.testing.assert_allclose(y, model.predict(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", [
    layers.Conv2D(2, 3, padding="same", padding_mode="reflect", name="mirror"),
    layers.Conv2DTranspose(2, 3, strides=2, name="mirror"),
])
def test_layers_that_need_a_known_image_size_say_so(layer, tmp_path):
    inputs = layers.Input((None, None, 3))
    model = Model(inputs, layer(inputs))
    with pytest.raises(ValueError, match=r"layer 'mirror' .* needs a known input height and "
                                         r"width, received input shape \(None, None, None, 3\)"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx")


def test_several_inputs_and_outputs(tmp_path):
    a, b = layers.Input((4, 4, 2)), layers.Input((4, 4, 2))
    s = layers.Add()([a, b])
    model = Model([a, b], [layers.Conv2D(3, 1)(s), layers.Flatten()(s)])
    proto = onnx_export.export_onnx(model, tmp_path / "two.onnx")
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1"]
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]
    rng = np.random.default_rng(0)
    xa, xb = (rng.normal(size=(2, 4, 4, 2)).astype(np.float32) for _ in range(2))
    session = ort.InferenceSession(str(tmp_path / "two.onnx"),
                                   providers=["CPUExecutionProvider"])
    ys = session.run(None, {"input_0": xa, "input_1": xb})
    for y, expected in zip(ys, model([xa, xb])):
        np.testing.assert_allclose(y, expected.numpy(), rtol=1e-5, atol=1e-6)


class Doubling(layers.Layer):
    def call(self, inputs, training=False):
        return inputs * 2


def test_a_layer_with_no_converter_is_named(tmp_path):
    model = Sequential([layers.Dense(3, input_shape=(4,)), Doubling(name="twice")])
    with pytest.raises(ValueError, match=r"'twice' of type Doubling .* supported types: "
                                         r"Activation, Add"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_lambda_or_activation_with_no_onnx_form_is_named(tmp_path):
    inputs = layers.Input((4,))
    model = Model(inputs, layers.Lambda(lambda t: t * 2, name="double")(inputs))
    with pytest.raises(ValueError, match=r"Lambda layer 'double' applies .*l2_normalize"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx")
    model = Sequential([layers.Dense(3, activation=lambda t: t, name="odd", input_shape=(4,))])
    with pytest.raises(ValueError, match=r"layer 'odd' has the activation .* no ONNX form"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx")


def test_bad_arguments_are_refused(tmp_path):
    model = zoo.notes_cnn()
    with pytest.raises(TypeError, match="export_onnx: argument 'model'"):
        onnx_export.export_onnx("model", tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="export_onnx: argument 'opset'"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx", opset=11)
    with pytest.raises(ValueError, match="export_onnx: argument 'batch_size'"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx", batch_size=0)
    with pytest.raises(ValueError, match="has no input shape yet"):
        onnx_export.export_onnx(Sequential([layers.Dense(2)]), tmp_path / "m.onnx")


def test_a_model_over_the_protobuf_limit_is_refused(tmp_path, monkeypatch):
    model = zoo.notes_cnn()  # 421,642 float32 weights: 1,686,568 bytes
    monkeypatch.setattr(onnx_export, "MAX_WEIGHT_BYTES", 1_686_567)
    with pytest.raises(ValueError, match=r"1,686,568 bytes of weights, more than one ONNX "
                                         r"file can hold"):
        onnx_export.export_onnx(model, tmp_path / "m.onnx")
    monkeypatch.setattr(onnx_export, "MAX_WEIGHT_BYTES", 1_686_568)
    onnx_export.export_onnx(model, tmp_path / "m.onnx")


@pytest.mark.parametrize("length", [20, None])
def test_1d_layers_export_for_a_known_and_an_unknown_length(tmp_path, length):
    from svertka.utils import set_random_seed

    set_random_seed(0)
    inp = layers.Input((length, 3))
    h = layers.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="relu")(inp)
    h = layers.Conv1D(6, 4, strides=2, padding="same", groups=2)(h)
    h = layers.MaxPooling1D(2, padding="same")(h)
    h = layers.Conv1D(4, 2, activation="tanh")(h)
    a = layers.AveragePooling1D(3, strides=2, padding="same")(h)
    out = layers.Dense(2)(layers.Concatenate()([layers.GlobalMaxPooling1D()(a),
                                                layers.GlobalAveragePooling1D()(h)]))
    model = Model(inp, out)
    x = np.random.default_rng(1).normal(size=(2, 21 if length is None else 20, 3))
    path = tmp_path / "seq.onnx"
    onnx_export.export_onnx(model, path)
    (y,) = run_onnx(path, x.astype(np.float32))
    np.testing.assert_allclose(y, model.predict(x.astype(np.float32)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("keepdims", [False, True])
def test_embedding_exports_as_a_gather_of_the_ids(tmp_path, keepdims):
    model = Sequential([layers.Input((12,)), layers.Embedding(30, 8), layers.Conv1D(5, 3),
                        layers.AveragePooling1D(2),
                        layers.GlobalAveragePooling1D(keepdims=keepdims)])
    ids = np.random.default_rng(0).integers(0, 30, (3, 12)).astype(np.float32)
    path = tmp_path / "emb.onnx"
    onnx_export.export_onnx(model, path)
    (y,) = run_onnx(path, ids)
    np.testing.assert_allclose(y, model.predict(ids), rtol=1e-5, atol=1e-5)
