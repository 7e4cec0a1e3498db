"""Embedding: integer ids of any shape look up rows of a trainable table; the gradient
scatter-adds into the rows read (repeated ids add up); bad ids are errors naming the layer.
A Keras text-classifier shape (Embedding -> Conv1D -> GlobalMaxPooling1D -> Dense) trains and
survives save/load."""

import json
import warnings

import numpy as np
import pytest
from tests.helpers import check_grad, compare_torch

import svertka
from svertka import layers
from svertka.layers import Conv1D, Dense, Embedding, GlobalMaxPooling1D, Input
from svertka.models import load_model

rng = np.random.default_rng(0)
IDS = np.array([[1, 3, 3, 0], [4, 1, 1, 1]])  # repeated ids: their gradients must add up


def built(input_dim=5, output_dim=3, ids=IDS, **kwargs):
    layer = Embedding(input_dim, output_dim, **kwargs)
    layer(ids)
    return layer


def lookup(layer, ids):
    def fn(table):
        layer.embeddings = table
        return layer.call(ids)
    return fn


def test_lookup_gives_the_rows_of_the_table_for_any_shape():
    layer = built()
    table = layer.get_weights()[0]
    assert table.shape == (5, 3) and layer.count_params() == 15
    assert layer.weight_names == ["embeddings"]
    np.testing.assert_array_equal(layer(IDS).numpy(), table[IDS])
    ids3 = np.array([[[0, 4]], [[2, 2]]])
    assert layer(ids3).shape == (2, 1, 2, 3)
    np.testing.assert_array_equal(layer(ids3).numpy(), table[ids3])
    assert layer(np.array([2, 0])).shape == (2, 3)
    assert layer.compute_output_shape((None, 20)) == (None, 20, 3)
    assert Embedding(50, 8)(Input((20,))).shape == (None, 20, 8)


def test_float_ids_holding_whole_numbers_are_accepted_as_keras_casts_them():
    layer = built()
    np.testing.assert_array_equal(layer(IDS.astype(np.float32)).numpy(), layer(IDS).numpy())


def test_default_initializer_is_keras_uniform():
    svertka.utils.set_random_seed(0)
    table = built(1000, 20).get_weights()[0]
    assert table.dtype == np.float32
    assert -0.05 <= table.min() < -0.049 and 0.049 < table.max() <= 0.05
    assert abs(table.mean()) < 0.002


def test_gradient_scatter_adds_float64():
    layer = built()
    check_grad(lookup(layer, IDS), rng.standard_normal((5, 3)))


def test_gradient_of_repeated_ids_by_hand():
    layer = built()
    table = svertka.Tensor(np.zeros((5, 3)), requires_grad=True)
    layer.embeddings = table
    layer.call(IDS).sum().backward()
    # id 1 appears 4 times, 3 twice, 0 and 4 once, 2 never
    np.testing.assert_array_equal(table.grad[:, 0], [1, 4, 0, 2, 1])


def test_matches_torch_embedding():
    torch = pytest.importorskip("torch")
    layer = built()
    ids = np.array([[4, 0, 4], [2, 2, 1]])
    compare_torch(lookup(layer, ids),
                  lambda t: torch.nn.functional.embedding(torch.tensor(ids), t),
                  rng.standard_normal((5, 3)))


@pytest.mark.parametrize("ids, bad", [
    (np.array([[0, 5]]), "5"),
    (np.array([[-1, 2]]), "-1"),
    (np.array([[0.0, 7.0]]), "7"),
])
def test_out_of_range_ids_name_the_layer_the_range_and_the_value(ids, bad):
    layer = built(name="tokens")
    with pytest.raises(ValueError, match=rf"Embedding 'tokens': ids must lie in \[0, 5\) "
                                         rf"\(input_dim=5\), received {bad}$"):
        layer(ids)


def test_non_integer_ids_are_refused():
    layer = built(name="tokens")
    with pytest.raises(ValueError, match="Embedding 'tokens': ids must be whole numbers, "
                                         "received 1.5"):
        layer(np.array([[1.5, 2.0]]))
    with pytest.raises(ValueError, match="whole numbers"):
        layer(np.array([[np.nan, 2.0]]))


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(input_dim=0, output_dim=3), ValueError, "input_dim"),
    (dict(input_dim=5, output_dim=2.5), (TypeError, ValueError), "output_dim"),
    (dict(input_dim=5, output_dim=3, mask_zero=True), ValueError,
     "Embedding: argument 'mask_zero'.*does not support masks"),
    (dict(input_dim=5, output_dim=3, embeddings_initializer="nope"), ValueError,
     "embeddings_initializer"),
    (dict(input_dim=5, output_dim=3, weights=[np.zeros((3, 5))]), ValueError,
     r"shape \(5, 3\), received shape \(3, 5\)"),
])
def test_bad_arguments_are_refused(kwargs, error, words):
    with pytest.raises(error, match=words):
        Embedding(**kwargs)


def test_input_length_is_ignored_with_a_warning_as_keras_3():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = Embedding(5, 3, input_length=4)
    assert any("input_length" in str(w.message) for w in caught)
    assert "input_length" not in layer.get_config()


def test_weights_argument_sets_the_table():
    table = rng.standard_normal((5, 3)).astype(np.float32)
    layer = built(weights=[table])
    np.testing.assert_array_equal(layer.get_weights()[0], table)


def test_config_round_trip_and_regularizer():
    layer = Embedding(7, 2, embeddings_initializer="he_normal", embeddings_regularizer="l2",
                      name="emb")
    config = json.loads(json.dumps(layers.serialize(layer)))
    assert config["config"]["mask_zero"] is False
    assert config["config"]["embeddings_initializer"] == "he_normal"
    again = layers.deserialize(config)
    assert again.get_config() == layer.get_config()
    assert layers.deserialize(layers.serialize(Embedding(7, 2))).get_config()[
        "embeddings_initializer"] == "uniform"
    layer(np.array([[1, 2]]))
    assert len(layer.regularizers) == 1


def test_frozen_embedding_gets_no_gradient():
    layer = built()
    layer.trainable = False
    assert layer.trainable_weights == []
    y = layer(IDS)
    assert not y.requires_grad


def text_data(n=96, length=20, vocab=50, seed=0):
    """Sequences of random tokens; class 1 holds the bigram (7, 8) somewhere."""
    g = np.random.default_rng(seed)
    x = g.integers(9, vocab, (n, length))
    y = g.integers(0, 2, n)
    at = g.integers(0, length - 1, n)
    x[y == 1, at[y == 1]] = 7
    x[y == 1, at[y == 1] + 1] = 8
    return x, y


def test_text_classifier_trains_and_saves(tmp_path):
    svertka.utils.set_random_seed(0)
    model = svertka.Sequential([
        Input((20,)), Embedding(50, 8), Conv1D(16, 3, activation="relu"),
        GlobalMaxPooling1D(), Dense(2, activation="softmax"),
    ])
    assert model.output_shape == (None, 2)
    assert model.count_params() == 50 * 8 + (3 * 8 + 1) * 16 + 17 * 2
    model.compile(optimizer=svertka.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = text_data()
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.9  # the bigram (7, 8) is found wherever it is
    path = tmp_path / "text.svk"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(la).__name__ for la in loaded.layers] == [
        "Embedding", "Conv1D", "GlobalMaxPooling1D", "Dense"]
