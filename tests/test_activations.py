import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import activations as A
from svertka import ops

X = np.array([[-3.4, -0.7, -0.2], [0.3, 1.1, 7.5]])  # no value on a kink


def test_the_ops_own_signatures_are_the_ops_themselves():
    for name in ("sigmoid", "tanh", "softmax", "elu", "gelu", "softplus", "softsign",
                 "log_softmax", "linear"):
        assert getattr(A, name) is getattr(ops, name) if name != "linear" else True
    assert A.silu is A.swish is ops.swish


def test_values_follow_keras_formulas():
    t = svertka.Tensor(X)
    np.testing.assert_allclose(A.relu(t, negative_slope=0.1, max_value=5.0,
                                      threshold=0.5).numpy(),
                               np.where(X > 0.5, np.minimum(X, 5.0), 0.1 * (X - 0.5)))
    np.testing.assert_allclose(A.relu(t, threshold=0.5).numpy(), np.where(X > 0.5, X, 0))
    # Keras's quirk: a negative threshold keeps x in (threshold, 0), unless max_value clips
    np.testing.assert_allclose(A.relu(t, threshold=-1.0).numpy(), np.where(X > -1, X, 0))
    np.testing.assert_allclose(A.relu(t, threshold=-1.0, max_value=2.0).numpy(),
                               np.where(X > -1, np.clip(X, 0, 2), 0))
    np.testing.assert_allclose(A.relu6(t).numpy(), np.clip(X, 0, 6))
    np.testing.assert_allclose(A.leaky_relu(t).numpy(), np.where(X > 0, X, 0.2 * X))
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    np.testing.assert_allclose(A.selu(t).numpy(),
                               scale * np.where(X > 0, X, alpha * (np.exp(X) - 1)))
    np.testing.assert_allclose(A.hard_sigmoid(t).numpy(), np.clip(X + 3, 0, 6) / 6)
    np.testing.assert_allclose(A.hard_silu(t).numpy(), X * np.clip(X + 3, 0, 6) / 6)
    np.testing.assert_allclose(A.mish(t).numpy(), X * np.tanh(np.log1p(np.exp(X))))
    np.testing.assert_allclose(A.exponential(t).numpy(), np.exp(X))
    np.testing.assert_allclose(A.log_sigmoid(t).numpy(), -np.log1p(np.exp(-X)))


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "selu", "hard_sigmoid",
                                  "hard_silu", "mish", "exponential", "log_sigmoid"])
def test_compositions_have_float64_gradients(name):
    check_grad(getattr(A, name), X.copy())


def test_relu_with_options_has_a_float64_gradient():
    check_grad(lambda t: A.relu(t, negative_slope=0.1, max_value=5.0, threshold=0.5), X.copy())


@pytest.mark.parametrize("name, torch_name", [
    ("relu6", "relu6"), ("selu", "selu"), ("hard_sigmoid", "hardsigmoid"),
    ("hard_silu", "hardswish"), ("mish", "mish"), ("log_sigmoid", "logsigmoid"),
])
def test_compositions_match_pytorch(name, torch_name):
    torch = pytest.importorskip("torch")
    compare_torch(getattr(A, name), getattr(torch.nn.functional, torch_name), X.copy())


def test_leaky_relu_matches_pytorch_with_keras_default_slope():
    torch = pytest.importorskip("torch")
    compare_torch(A.leaky_relu, lambda t: torch.nn.functional.leaky_relu(t, 0.2), X.copy())


def test_get_serialize_deserialize():
    assert A.get(None) is A.linear
    assert A.get("relu") is A.relu and A.get("swish") is A.silu
    assert A.get("hard_swish") is A.hard_silu
    fn = lambda x: x  # noqa: E731
    assert A.get(fn) is fn
    assert A.serialize(A.selu) == "selu" and A.serialize(A.swish) == "silu"
    assert A.deserialize({"class_name": "function", "config": "gelu"}) is A.gelu
    assert A.deserialize("mine", custom_objects={"mine": fn}) is fn
    for name in A.ALL_OBJECTS:
        assert A.deserialize(A.serialize(A.get(name))) is A.get(name)
    with pytest.raises(ValueError, match="activations.deserialize: argument 'config'"):
        A.get("swishy")
    with pytest.raises(ValueError, match="activations.serialize"):
        A.serialize(fn)
    with pytest.raises(TypeError, match="activations.get: argument 'identifier'"):
        A.get(3)


def test_the_package_exposes_keras_activations():
    assert svertka.activations.relu is A.relu
