"""svertka's losses against Keras 3 itself (torch backend) on the same random inputs: values
for every reduction, with and without sample weights, logits and probabilities, label
smoothing, ``ignore_class``; configs and Keras's own serialised dicts."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

from svertka import losses  # noqa: E402

# Keras's torch backend converts with np.array(x) and NumPy 2 warns about its __array__
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None]
RNG = np.random.default_rng(0)


def _f32(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def _probs(*shape):
    e = np.exp(_f32(*shape))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def _onehot(ids, k):
    return np.eye(k, dtype=np.float32)[ids]


IDS = RNG.integers(0, 5, 4)
# (class name, constructor kwargs, y_true, y_pred)
CASES = [
    ("MeanSquaredError", {}, _f32(4, 5), _f32(4, 5)),
    ("MeanSquaredError", {}, _f32(4), _f32(4, 1)),
    ("MeanAbsoluteError", {}, _f32(4, 5), _f32(4, 5)),
    ("MeanAbsolutePercentageError", {}, _f32(4, 5), _f32(4, 5)),
    ("MeanSquaredLogarithmicError", {}, _f32(4, 5, low=0), _f32(4, 5, low=-0.5)),
    ("CosineSimilarity", {}, _f32(4, 5), _f32(4, 5)),
    ("CosineSimilarity", {"axis": 0}, _f32(4, 5), _f32(4, 5)),
    ("Huber", {}, _f32(4, 5), _f32(4, 5)),
    ("Huber", {"delta": 0.3}, _f32(4, 5), _f32(4, 5)),
    ("LogCosh", {}, _f32(4, 5), _f32(4, 5)),
    ("Hinge", {}, RNG.integers(0, 2, (4, 5)).astype(np.float32), _f32(4, 5)),
    ("Hinge", {}, RNG.choice([-1.0, 1.0], (4, 5)).astype(np.float32), _f32(4, 5)),
    ("SquaredHinge", {}, RNG.integers(0, 2, (4, 5)).astype(np.float32), _f32(4, 5)),
    ("CategoricalHinge", {}, _onehot(IDS, 5), _f32(4, 5)),
    ("KLDivergence", {}, _probs(4, 5), _probs(4, 5)),
    ("Poisson", {}, _f32(4, 5, low=0), _f32(4, 5, low=0.1)),
    ("BinaryCrossentropy", {}, RNG.integers(0, 2, (4, 3)).astype(np.float32),
     _f32(4, 3, low=0.01, high=0.99)),
    ("BinaryCrossentropy", {"from_logits": True}, RNG.integers(0, 2, (4, 3)), _f32(4, 3)),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
     RNG.integers(0, 2, (4, 3)), _f32(4, 3, low=-30, high=30)),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, RNG.integers(0, 2, 4),
     _f32(4, 1, low=0.0, high=1.0)),
    ("CategoricalCrossentropy", {}, _onehot(IDS, 5), _probs(4, 5)),
    ("CategoricalCrossentropy", {"from_logits": True}, _probs(4, 5), _f32(4, 5, low=-9, high=9)),
    ("CategoricalCrossentropy", {"label_smoothing": 0.3}, _onehot(IDS, 5), _probs(4, 5)),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "axis": 1},
     _probs(4, 5, 3), _f32(4, 5, 3)),
    ("SparseCategoricalCrossentropy", {}, IDS, _probs(4, 5)),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, IDS[:, None], _f32(4, 5)),
    ("SparseCategoricalCrossentropy", {"from_logits": True},
     RNG.integers(0, 5, (4, 3, 3)), _f32(4, 3, 3, 5)),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2},
     RNG.integers(0, 5, (4, 6)), _f32(4, 6, 5)),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, np.array([0, 1, 0, 3]),
     _probs(4, 5)),
]
WEIGHTS = [None, RNG.uniform(0, 2, 4).astype(np.float32),
           RNG.uniform(0, 2, (4, 1)).astype(np.float32)]


def _keras_value(cls, kwargs, reduction, y_true, y_pred, sample_weight):
    loss = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    return keras.ops.convert_to_numpy(loss(y_true, y_pred, sample_weight=sample_weight))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cls, kwargs, y_true, y_pred", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_value_equals_keras(cls, kwargs, y_true, y_pred, reduction):
    for weights in WEIGHTS:
        loss = getattr(losses, cls)(reduction=reduction, **kwargs)
        try:
            expected = _keras_value(cls, kwargs, reduction, y_true, y_pred, weights)
        except RuntimeError:
            if "ignore_class" in kwargs and weights.ndim == 2:
                # (N, 1) weights with an ignore_class mask (N, H): Keras's torch backend fails
                # on an in-place multiply; the weights broadcast, as with its other backends
                weights = np.broadcast_to(weights, y_true.shape)
                expected = _keras_value(cls, kwargs, reduction, y_true, y_pred, weights)
            else:  # weights that do not fit the losses' shape: an error here too
                with pytest.raises(ValueError, match=f"{cls}: argument 'sample_weight'"):
                    loss(y_true, y_pred, sample_weight=weights)
                continue
        ours = loss(y_true, y_pred, sample_weight=weights)
        assert ours.shape == expected.shape, (weights, ours.shape, expected.shape)
        np.testing.assert_allclose(ours.numpy(), expected, rtol=2e-5, atol=2e-6,
                                   err_msg=f"sample_weight={weights}")


@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "mae", "mape",
                                  "msle", "huber", "log_cosh", "kl_divergence", "poisson",
                                  "cosine_similarity", "hinge", "squared_hinge"])
def test_function_forms_are_the_batch_mean_of_keras_functions(name):
    y_true, y_pred = _f32(4, 5, low=0.0, high=1.0), _f32(4, 5, low=0.05, high=1.0)
    per_sample = keras.ops.convert_to_numpy(keras.losses.get(name)(y_true, y_pred))
    assert per_sample.shape == (4,)
    ours = losses.get(name)(y_true, y_pred)
    assert ours.shape == ()
    np.testing.assert_allclose(ours.item(), per_sample.mean(), rtol=1e-5)


@pytest.mark.parametrize("name", ["categorical_crossentropy", "binary_crossentropy",
                                  "sparse_categorical_crossentropy"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropy_function_forms_equal_keras(name, from_logits):
    y_pred = _f32(6, 4) if from_logits else _probs(6, 4)
    y_true = {"categorical_crossentropy": _onehot(RNG.integers(0, 4, 6), 4),
              "binary_crossentropy": RNG.integers(0, 2, (6, 4)).astype(np.float32),
              "sparse_categorical_crossentropy": RNG.integers(0, 4, 6)}[name]
    expected = keras.ops.convert_to_numpy(
        getattr(keras.losses, name)(y_true, y_pred, from_logits=from_logits)).mean()
    ours = getattr(losses, name)(y_true, y_pred, from_logits=from_logits).item()
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


@pytest.mark.parametrize("cls, kwargs", [
    ("MeanSquaredError", {}), ("Huber", {}), ("CosineSimilarity", {}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", {"axis": 1}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 255}),
    ("KLDivergence", {"name": "kl", "reduction": "sum"}),
])
def test_configs_and_keras_serialised_dicts(cls, kwargs):
    theirs = getattr(keras.losses, cls)(**kwargs)
    ours = getattr(losses, cls)(**kwargs)
    assert ours.get_config() == theirs.get_config()  # defaults of keys Keras drops: left out
    loaded = losses.deserialize(keras.losses.serialize(theirs))
    assert type(loaded) is type(ours) and loaded.get_config() == ours.get_config()
    again = keras.losses.deserialize(losses.serialize(ours))
    assert again.get_config() == theirs.get_config()


def test_keras_serialised_function_and_names_resolve():
    fn = losses.deserialize(keras.losses.serialize(keras.losses.mean_absolute_error))
    assert fn is losses.mean_absolute_error
    for name in ["SparseCategoricalCrossentropy", "Huber", "mse", "MAE", "kld", "bce"]:
        theirs, ours = keras.losses.get(name), losses.get(name)
        if isinstance(theirs, keras.losses.Loss):
            assert type(ours).__name__ == type(theirs).__name__
            assert ours.get_config() == theirs.get_config()
        else:
            assert ours.__name__ == theirs.__name__
