"""Every registered layer: config round trip, gradient flow, freezing; the registry itself."""

import json

import numpy as np
import pytest

import svertka
from svertka import layers
from svertka.layers import LAYERS, Layer, deserialize, serialize
from svertka.regularizers import L2

rng = np.random.default_rng(0)
IMAGE, VECTOR, SEQUENCE = (2, 5, 5, 3), (4, 6), (2, 7, 3)
IDS_INPUT = "ids"  # Embedding: integer ids (2, 6) in [0, input_dim), no input gradient

# (class name, constructor kwargs, input shape(s)); every class in LAYERS appears at least once
SPECS = [
    ("Dense", dict(units=3, activation="relu", kernel_regularizer=L2(0.1)), VECTOR),
    ("Dense", dict(units=2, use_bias=False, kernel_initializer="he_uniform"), (2, 3, 4)),
    ("Flatten", {}, IMAGE),
    ("Rescaling", dict(scale=1 / 255, offset=0.25), IMAGE),
    ("Activation", dict(activation="sigmoid"), VECTOR),
    ("Dropout", dict(rate=0.5, seed=3), VECTOR),
    ("Reshape", dict(target_shape=(3, -1)), VECTOR),
    (
        "Conv2D",
        dict(
            filters=4,
            kernel_size=(3, 2),
            strides=2,
            padding="same",
            activation="tanh",
            bias_initializer="glorot_normal",
        ),
        IMAGE,
    ),
    (
        "Conv2D",
        dict(
            filters=2,
            kernel_size=2,
            padding=((1, 0), (0, 1)),
            padding_mode="replicate",
            dilation_rate=(2, 1),
            bias_regularizer="l2",
        ),
        IMAGE,
    ),
    ("MaxPooling2D", dict(pool_size=2, strides=1), IMAGE),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), IMAGE),
    ("SumPooling2D", dict(pool_size=(2, 3), padding=(1, 1)), IMAGE),
    ("MinPooling2D", dict(), IMAGE),
    ("GlobalAveragePooling2D", dict(keepdims=True), IMAGE),
    ("GlobalMaxPooling2D", {}, IMAGE),
    ("ReLU", {}, VECTOR),
    ("LeakyReLU", dict(alpha=0.2), IMAGE),
    ("PReLU", dict(alpha_initializer="glorot_uniform", shared_axes=[1, 2]), IMAGE),
    ("ELU", dict(alpha=0.7), VECTOR),
    ("GELU", dict(approximate=True), VECTOR),
    ("Softmax", dict(axis=-1), VECTOR),
    ("LinearThreshold", dict(min_value=-0.5, max_value=0.5), VECTOR),
    ("Step", {}, VECTOR),
    ("Maxout", dict(units=3, pieces=3, kernel_initializer="glorot_normal"), VECTOR),
    ("MaxoutConv2D", dict(filters=2, kernel_size=3, pieces=3, padding="same"), IMAGE),
    (
        "BatchNormalization",
        dict(momentum=0.9, epsilon=1e-2, gamma_initializer="he_normal", beta_regularizer=L2(0.01)),
        IMAGE,
    ),
    ("BatchNormalization", dict(center=False, scale=False), VECTOR),
    ("Add", {}, [VECTOR, VECTOR, VECTOR]),
    ("Concatenate", dict(axis=2), [(2, 3, 4), (2, 3, 1)]),
    ("Subtract", {}, [VECTOR, VECTOR]),
    ("Multiply", {}, [VECTOR, VECTOR, VECTOR]),
    ("Average", {}, [VECTOR, VECTOR]),
    ("Maximum", {}, [VECTOR, VECTOR]),
    ("Minimum", {}, [VECTOR, VECTOR, VECTOR]),
    ("Arithmetic", dict(op="subtract", constant=2.0, reverse=True), VECTOR),
    ("Arithmetic", dict(op="divide"), [VECTOR, VECTOR]),
    ("IdentityShortcut", dict(filters=5, strides=2), IMAGE),
    ("TableConv2D", dict(kernel_size=2, table=[[0], [1, 2], [0, 2]], activation="tanh"), IMAGE),
    ("LocalResponseNormalization", dict(size=4, alpha=0.5, beta=0.75, k=1.0), IMAGE),
    ("LayerNormalization", dict(axis=[1, 2, 3], gamma_initializer="he_normal"), IMAGE),
    ("LayerNormalization", dict(center=False, beta_regularizer="l2"), VECTOR),
    ("GroupNormalization", dict(groups=3, gamma_regularizer=L2(0.01)), IMAGE),
    ("GroupNormalization", dict(groups=2, scale=False), VECTOR),
    ("Conv2DTranspose", dict(filters=4, kernel_size=(3, 2), strides=2, padding="same",
                             activation="tanh", bias_initializer="glorot_normal"), IMAGE),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, strides=(2, 3), output_padding=(1, 0),
                             dilation_rate=(1, 2), padding=((1, 0), (0, 1)),
                             bias_regularizer="l2"), IMAGE),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), IMAGE),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 3))), IMAGE),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), IMAGE),
    ("Lambda", dict(function="l2_normalize", arguments={"axis": -1}), VECTOR),
    ("NetVLAD", dict(clusters=3), IMAGE),
    ("DepthwiseConv2D", dict(kernel_size=3, padding="same", depth_multiplier=2,
                             activation="relu"), IMAGE),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"), IMAGE),
    ("Conv2D", dict(filters=6, kernel_size=2, groups=3, activation="relu"), IMAGE),
    ("Resizing", dict(height=3, width=7), IMAGE),
    ("Resizing", dict(height=4, width=4, interpolation="nearest", crop_to_aspect_ratio=True),
     IMAGE),
    ("CenterCrop", dict(height=3, width=2), IMAGE),
    ("RandomFlip", dict(mode="horizontal", seed=1), IMAGE),
    ("RandomRotation", dict(factor=0.2, fill_mode="constant", seed=2), IMAGE),
    ("RandomZoom", dict(height_factor=0.3, width_factor=(-0.2, 0.2), seed=3), IMAGE),
    ("RandomTranslation", dict(height_factor=0.2, width_factor=0.2, seed=4), IMAGE),
    ("RandomContrast", dict(factor=0.3, value_range=(-3, 3), seed=5), IMAGE),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same", activation="tanh",
                    kernel_regularizer="l2"), SEQUENCE),
    ("Conv1D", dict(filters=2, kernel_size=2, padding="causal", dilation_rate=2,
                    use_bias=False), SEQUENCE),
    ("Conv1D", dict(filters=6, kernel_size=2, groups=3, activation="relu"), SEQUENCE),
    ("MaxPooling1D", dict(pool_size=3, strides=1, padding="same"), SEQUENCE),
    ("AveragePooling1D", dict(pool_size=2), SEQUENCE),
    ("GlobalAveragePooling1D", dict(keepdims=True), SEQUENCE),
    ("GlobalMaxPooling1D", {}, SEQUENCE),
    ("Embedding", dict(input_dim=9, output_dim=4, embeddings_regularizer="l2"), IDS_INPUT),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(SPECS)]


def inputs_for(shape, requires_grad=False, seed=0):
    g = np.random.default_rng(seed)
    if shape == IDS_INPUT:  # ids are not differentiable: no requires_grad
        return svertka.Tensor(g.integers(0, 9, (2, 6)))
    if isinstance(shape, list):
        return [inputs_for(s, requires_grad, seed + i) for i, s in enumerate(shape)]
    return svertka.Tensor(
        g.standard_normal(shape).astype(np.float32) + 0.1, requires_grad=requires_grad
    )


def test_specs_cover_every_registered_layer():
    assert {name for name, _, _ in SPECS} == set(LAYERS)
    assert all(issubclass(cls, Layer) and cls.__name__ == name for name, cls in LAYERS.items())


@pytest.mark.parametrize("name, kwargs, shape", SPECS, ids=IDS)
def test_config_round_trip_rebuilds_an_equivalent_layer(name, kwargs, shape):
    layer = LAYERS[name](**kwargs)
    x = inputs_for(shape)
    training = name == "Dropout"  # same seed: the rebuilt layer draws the same mask
    y = layer(x, training=training)
    saved = json.dumps(serialize(layer))
    rebuilt = deserialize(json.loads(saved))
    assert type(rebuilt) is type(layer) and rebuilt.name == layer.name
    assert json.loads(json.dumps(rebuilt.get_config())) == json.loads(saved)["config"]
    rebuilt(x)
    rebuilt.set_weights(layer.get_weights())
    if name == "Dropout":
        rebuilt = deserialize(json.loads(saved))
    np.testing.assert_allclose(rebuilt(x, training=training).numpy(), y.numpy(), rtol=1e-6)
    assert rebuilt.count_params() == layer.count_params()
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in layer.weights]


@pytest.mark.parametrize("name, kwargs, shape", SPECS, ids=IDS)
def test_gradients_flow_through_every_layer(name, kwargs, shape):
    layer = LAYERS[name](**kwargs)
    x = inputs_for(shape, requires_grad=True)
    y = layer(x, training=True)
    assert layer.output_shape == (None, *y.shape[1:])
    (y * svertka.Tensor(rng.standard_normal(y.shape).astype(np.float32))).sum().backward()
    for t in x if isinstance(x, list) else [x]:
        if shape == IDS_INPUT:
            assert t.grad is None
            continue
        assert t.grad is not None and t.grad.shape == t.shape
        if name != "Step":  # the step's gradient is zero by definition
            assert np.abs(t.grad).sum() > 0
    for w in layer.trainable_weights:
        assert w.grad is not None and w.grad.shape == w.shape and np.abs(w.grad).sum() > 0
    for w in layer.non_trainable_weights:
        assert w.grad is None


@pytest.mark.parametrize(
    "name, kwargs, shape", [s for s in SPECS if s[0] in ("Dense", "Conv2D", "PReLU", "Maxout")]
)
def test_frozen_layers_receive_no_gradient(name, kwargs, shape):
    layer = LAYERS[name](**kwargs, trainable=False)
    x = inputs_for(shape, requires_grad=True)
    layer(x, training=True).sum().backward()
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) > 0
    assert all(not w.requires_grad and w.grad is None for w in layer.weights)
    assert LAYERS[name].from_config(layer.get_config()).trainable is False


def test_deserialize_refuses_unknown_classes_and_bad_configs():
    with pytest.raises(
        ValueError,
        match=r"deserialize: unknown layer class 'EvalLayer'; known "
        r"classes: .*Conv2D.*MaxPooling2D",
    ):
        deserialize({"class_name": "EvalLayer", "config": {}})
    with pytest.raises(ValueError, match="unknown layer class"):
        deserialize({"class_name": ["Dense"], "config": {}})
    with pytest.raises(TypeError, match="deserialize: argument 'config' must be a dict"):
        deserialize("Dense")
    with pytest.raises(TypeError, match="deserialize: argument 'config' must be a dict"):
        deserialize({"class_name": "Dense", "config": [10]})
    with pytest.raises(TypeError, match=r"Dense: unexpected keyword arguments \['kernel_size'\]"):
        deserialize({"class_name": "Dense", "config": {"units": 2, "kernel_size": 3}})


def test_register_adds_a_custom_layer():
    class Scale(Layer):
        def call(self, inputs, training=False):
            return inputs * 2.0

    # as Keras, an unregistered class is saved by its name; loading it needs the class
    assert serialize(Scale(name="s"))["class_name"] == "Scale"
    with pytest.raises(ValueError, match="unknown layer class 'Scale'"):
        deserialize(serialize(Scale(name="s")))
    layers.register(Scale)
    try:
        assert isinstance(deserialize(serialize(Scale(name="s"))), Scale)
        with pytest.raises(ValueError, match="register: the name 'Scale' already belongs"):
            layers.register(type("Scale", (Layer,), {}))
        with pytest.raises(TypeError, match="register: argument 'cls' must be a Layer"):
            layers.register(int)
    finally:
        del LAYERS["Scale"]


def test_layer_names_follow_keras():
    layers.reset_names()
    names = [
        layers.Conv2D(1, 1).name,
        layers.MaxPooling2D().name,
        layers.Conv2D(1, 1).name,
        layers.BatchNormalization().name,
        layers.ReLU().name,
        layers.PReLU().name,
        layers.GlobalAveragePooling2D().name,
        layers.Dense(1, name="head").name,
    ]
    assert names == [
        "conv2d",
        "max_pooling2d",
        "conv2d_1",
        "batch_normalization",
        "re_lu",
        "p_re_lu",
        "global_average_pooling2d",
        "head",
    ]


def test_the_notes_reference_model_shapes_and_parameters():
    layers.reset_names()
    stack = [
        layers.Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2), strides=2),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 2), strides=2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
    t = layers.Input(stack[0].declared_input_shape)
    rows = []
    for layer in stack:
        t = layer(t)
        rows.append((layer.name, t.shape, layer.count_params()))
    assert rows == [
        ("conv2d", (None, 28, 28, 32), 320),
        ("max_pooling2d", (None, 14, 14, 32), 0),
        ("conv2d_1", (None, 14, 14, 64), 18_496),
        ("max_pooling2d_1", (None, 7, 7, 64), 0),
        ("flatten", (None, 3136), 0),
        ("dense", (None, 128), 401_536),
        ("dense_1", (None, 10), 1_290),
    ]
    assert sum(p for _, _, p in rows) == 421_642
    y = np.zeros((2, 28, 28, 1), np.float32)
    for layer in stack:
        y = layer(y)
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1.0, rtol=1e-5)
