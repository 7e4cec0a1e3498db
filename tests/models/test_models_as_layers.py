"""Models as layers (Keras: ``Model`` is a ``Layer``): a model called on symbolic tensors is
one node of another graph with its weights shared, sits in a ``Sequential``, freezes with
``trainable=False``; ``get_layer``, ``inputs``/``outputs`` and ``Sequential.pop``."""

import numpy as np
import pytest

import svertka
from svertka.layers import Conv2D, Dense, Flatten, GlobalMaxPooling2D, Input, Layer, Reshape

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def encoder_decoder():
    """The functional API guide's autoencoder, shrunk."""
    x = Input((8, 8, 1), name="img")
    h = Conv2D(4, 3, activation="relu")(x)
    code = GlobalMaxPooling2D()(h)
    encoder = svertka.Model(x, code, name="encoder")
    z = Input((4,), name="encoded_img")
    y = Dense(64)(z)
    decoder = svertka.Model(z, Reshape((8, 8, 1))(y), name="decoder")
    return encoder, decoder


def test_a_model_is_a_layer():
    encoder, _ = encoder_decoder()
    assert isinstance(encoder, Layer)


def test_models_called_on_symbolic_tensors_are_one_node_each_sharing_weights():
    encoder, decoder = encoder_decoder()
    x = Input((8, 8, 1))
    auto = svertka.Model(x, decoder(encoder(x)), name="autoencoder")
    assert auto.output_shape == (None, 8, 8, 1)
    assert auto.layers == [encoder, decoder]
    assert auto.count_params() == encoder.count_params() + decoder.count_params()
    assert all(a is b for a, b in zip(auto.weights, encoder.weights + decoder.weights))
    data = r(3, 8, 8, 1)
    np.testing.assert_allclose(auto(data).numpy(), decoder(encoder(data)).numpy(), rtol=1e-5)
    assert encoder.output.shape == (None, 4)  # the model's own output, as Keras


def test_the_outer_model_trains_the_inner_models_weights():
    encoder, decoder = encoder_decoder()
    x = Input((8, 8, 1))
    auto = svertka.Model(x, decoder(encoder(x)))
    before = [w.numpy().copy() for w in encoder.weights]
    auto.compile("sgd", "mse")
    data = r(8, 8, 8, 1)
    auto.fit(data, data, epochs=1, batch_size=8, verbose=0)
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(before, encoder.weights))


def test_a_frozen_inner_model_is_not_trained():
    encoder, decoder = encoder_decoder()
    encoder.trainable = False
    x = Input((8, 8, 1))
    auto = svertka.Model(x, decoder(encoder(x)))
    assert len(auto.trainable_weights) == len(decoder.weights)
    before = [w.numpy().copy() for w in encoder.weights]
    auto.compile("sgd", "mse")
    data = r(8, 8, 8, 1)
    auto.fit(data, data, epochs=1, batch_size=8, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, encoder.weights))


def test_a_model_inside_a_sequential():
    encoder, _ = encoder_decoder()
    seq = svertka.Sequential([encoder, Dense(2)])
    assert seq(r(2, 8, 8, 1)).shape == (2, 2)
    assert seq.layers[0] is encoder
    assert seq.count_params() == encoder.count_params() + 4 * 2 + 2
    inner = svertka.Sequential([Dense(3, input_shape=(5,))])
    outer = svertka.Sequential([inner, Dense(1)])
    assert outer(r(4, 5)).shape == (4, 1)


def test_a_model_of_several_outputs_as_a_layer():
    x = Input((3,))
    two = svertka.Model(x, [Dense(2, name="p")(x), Dense(4, name="q")(x)])
    y = Input((3,))
    a, b = two(y)
    assert (a.shape, b.shape) == ((None, 2), (None, 4))
    from svertka.layers import Concatenate

    outer = svertka.Model(y, Concatenate()([a, b]))
    data = r(5, 3)
    pa, pb = two(data)
    np.testing.assert_allclose(outer(data).numpy(),
                               np.concatenate([pa.numpy(), pb.numpy()], axis=1), rtol=1e-6)


def test_calling_a_model_on_a_wrong_shape_is_refused():
    encoder, _ = encoder_decoder()
    with pytest.raises(ValueError, match="encoder: input must have shape"):
        encoder(Input((9, 9, 1)))


def test_get_layer_by_name_and_index_with_keras_errors():
    x = Input((3,))
    model = svertka.Model(x, Dense(2, name="out")(Dense(4, name="hidden")(x)))
    assert model.get_layer("hidden").units == 4
    assert model.get_layer(index=1).name == "out"
    with pytest.raises(ValueError, match="only a layer name or a layer index"):
        model.get_layer("out", index=0)
    with pytest.raises(ValueError, match="index 5 but the model only has 2 layers"):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="no such layer: 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="either a layer name or a layer index"):
        model.get_layer()


def test_inputs_outputs_and_layer_input_output():
    x = Input((3,))
    d = Dense(2)
    model = svertka.Model(x, d(x))
    assert model.inputs == [x] and model.outputs == [d.output]
    assert d.input is x and model.input is x
    seq = svertka.Sequential([Dense(2, input_shape=(3,)), Dense(1)])
    assert seq.inputs[0].shape == (None, 3) and seq.outputs[0].shape == (None, 1)


def test_sequential_pop_rebuilds_now_or_on_next_use():
    seq = svertka.Sequential([Dense(4, input_shape=(3,)), Flatten(), Dense(2, name="head")])
    assert seq.pop().name == "head"
    assert seq.output_shape == (None, 4) and len(seq.layers) == 2
    seq.pop(rebuild=False)
    assert seq(r(2, 3)).shape == (2, 4) and seq.output_shape == (None, 4)


class Endpoint(Layer):
    """The training guide's ``LogisticEndpoint``: called as ``layer(targets, logits)``."""

    def call(self, targets, logits):
        from svertka import ops

        self.add_loss(ops.mean(ops.square(ops.sub(targets, logits))))
        return ops.softmax(logits)


def test_a_layer_called_on_two_symbolic_tensors_as_positional_arguments():
    inputs, targets = Input((3,), name="inputs"), Input((4,), name="targets")
    logits = Dense(4)(inputs)
    predictions = Endpoint(name="predictions")(targets, logits)
    assert predictions.shape == (None, 4) and predictions.parents == (targets, logits)
    model = svertka.Model(inputs=[inputs, targets], outputs=predictions)
    x, t = r(5, 3), r(5, 4)
    by_name = model({"inputs": x, "targets": t}).numpy()  # dict keys name the Inputs
    np.testing.assert_allclose(by_name.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(model([x, t]).numpy(), by_name, rtol=1e-6)
    z = model.layers[0](x).numpy()  # the logits
    assert [float(v.numpy()) for v in model.losses] == [
        pytest.approx(float(np.mean((t - z) ** 2)), rel=1e-5)]
