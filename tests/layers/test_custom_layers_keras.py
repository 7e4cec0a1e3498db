"""The same custom layers, subclassed models, nested models and merge layers in svertka and in
Keras 3 (torch backend): outputs with equal weights, weight counts, shapes, configs."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import svertka  # noqa: E402
from svertka import layers, ops  # noqa: E402

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def linear_class(base, matmul):
    class Linear(base.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            return matmul(inputs, self.w) + self.b

    class Block(base.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stack = [Linear(8), Linear(4)]
            self.head = Linear(1)

        def call(self, x):
            for layer in self.stack:
                x = layer(x)
            return self.head(x)

    return Linear, Block


OURS = linear_class(svertka, ops.matmul)
THEIRS = linear_class(keras, keras.ops.matmul)


def test_a_custom_block_matches_keras_with_the_same_weights():
    ours, theirs = OURS[1](), THEIRS[1]()
    x = r(3, 5)
    ours(x)
    theirs(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), keras.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-6)
    ours.trainable, theirs.trainable = False, False
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights) == 6


def test_inferred_output_shapes_match_keras():
    ours = OURS[0](6)(svertka.Input((None, 5)))
    theirs = THEIRS[0](6)(keras.Input((None, 5)))
    assert ours.shape == tuple(theirs.shape)


def test_the_automatic_config_holds_what_keras_holds():
    ours = OURS[0](7, name="lin").get_config()
    theirs = THEIRS[0](7, name="lin").get_config()
    assert {k: ours[k] for k in ("name", "trainable", "units")} == {
        k: theirs[k] for k in ("name", "trainable", "units")}


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                  "Minimum", "Concatenate"])
def test_merge_layers_match_keras(name):
    a, b = r(2, 3, 4), r(2, 3, 4)
    ours = getattr(layers, name)()([a, b]).numpy()
    theirs = keras.ops.convert_to_numpy(getattr(keras.layers, name)()([a, b]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    fn = name.lower()
    assert getattr(layers, fn)([svertka.Input((3, 4))] * 2).shape == tuple(
        getattr(keras.layers, fn)([keras.Input((3, 4))] * 2).shape)


def test_symbolic_arithmetic_matches_keras():
    def build(k):
        x, z = k.Input((3,)), k.Input((3,))
        y = 2 * x - x / z + 1
        y += x
        return k.Model([x, z], -y)

    xv, zv = r(4, 3), r(4, 3) + 5
    ours = build(svertka)([xv, zv]).numpy()
    theirs = keras.ops.convert_to_numpy(build(keras)([xv, zv]))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_nested_models_count_and_shape_as_in_keras():
    def build(k):
        x = k.Input((8, 8, 1))
        enc = k.Model(x, k.layers.GlobalMaxPooling2D()(k.layers.Conv2D(4, 3)(x)))
        z = k.Input((4,))
        dec = k.Model(z, k.layers.Reshape((8, 8, 1))(k.layers.Dense(64)(z)))
        y = k.Input((8, 8, 1))
        auto = k.Model(y, dec(enc(y)))
        seq = k.Sequential([k.Input((8, 8, 1)), enc, k.layers.Dense(2)])
        return auto, seq

    (auto, seq), (kauto, kseq) = build(svertka), build(keras)
    assert auto.count_params() == kauto.count_params()
    assert auto.output_shape == tuple(kauto.output_shape)
    assert len(auto.layers) == len(kauto.layers) - 1  # Keras lists the InputLayer too
    assert len(auto.weights) == len(kauto.weights)
    assert seq.count_params() == kseq.count_params()
    assert len(seq.layers) == len(kseq.layers)


def test_a_subclassed_model_counts_as_in_keras():
    def make(k):
        class Custom(k.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.d1 = k.layers.Dense(8, activation="relu")
                self.d2 = k.layers.Dense(1)

            def call(self, inputs, training=False):
                return self.d2(self.d1(inputs))

        return Custom()

    ours, theirs = make(svertka), make(keras)
    x = r(2, 5)
    ours(x)
    theirs(x)
    assert ours.count_params() == theirs.count_params()
    assert [la.name.split("_")[0] for la in ours.layers] == [
        la.name.split("_")[0] for la in theirs.layers]
    assert ours.name.rstrip("_0123456789") == theirs.name.rstrip("_0123456789")
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), keras.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-6)


def test_get_layer_and_pop_as_keras():
    def build(k):
        return k.Sequential([k.Input((3,)), k.layers.Dense(4, name="a"),
                             k.layers.Dense(2, name="b")])

    ours, theirs = build(svertka), build(keras)
    assert ours.get_layer(index=1).name == theirs.get_layer(index=1).name == "b"
    assert ours.pop().name == theirs.pop().name == "b"
    assert ours.output_shape == tuple(theirs.output_shape)


def test_activity_regularizer_and_add_loss_match_keras():
    x = r(4, 3)

    def losses(k):
        layer = k.layers.Dense(2, activity_regularizer="l2", kernel_regularizer="l1")
        layer(x)
        layer.set_weights([np.full((3, 2), 0.5, np.float32), np.ones(2, np.float32)])
        layer(x)
        return sorted(float(v.numpy() if isinstance(v, svertka.Tensor)
                            else keras.ops.convert_to_numpy(v)) for v in layer.losses)

    np.testing.assert_allclose(losses(svertka), losses(keras), rtol=1e-5)
