import numpy as np
import pytest

import svertka
from svertka import initializers, regularizers
from svertka.utils import set_random_seed, to_categorical


def test_to_categorical_matches_keras():
    np.testing.assert_array_equal(to_categorical([0, 2, 1], 3),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert to_categorical(np.array([[1], [0]])).shape == (2, 2)
    assert to_categorical([3]).shape == (1, 4)
    assert to_categorical([1], 2).dtype == np.float32


@pytest.mark.parametrize("y, message", [([0, 5], r"must be in \[0, 3\)"), ([0.5], "integer")])
def test_to_categorical_rejects_bad_labels(y, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(y, 3)


def test_set_random_seed_repeats_initial_weights():
    set_random_seed(7)
    a = initializers.get("glorot_uniform")((3, 3, 2, 4))
    set_random_seed(7)
    b = initializers.get("glorot_uniform")((3, 3, 2, 4))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="set_random_seed: argument 'seed'"):
        set_random_seed(-1)


@pytest.mark.parametrize("name, std", [
    ("glorot_uniform", np.sqrt(2 / (3 * 3 * 16 + 3 * 3 * 32))),
    ("glorot_normal", np.sqrt(2 / (3 * 3 * 16 + 3 * 3 * 32))),
    ("he_uniform", np.sqrt(2 / (3 * 3 * 16))),
    ("he_normal", np.sqrt(2 / (3 * 3 * 16))),
])
def test_initializer_scales_follow_their_fans(name, std):
    set_random_seed(0)
    w = initializers.get(name)((3, 3, 16, 32), "float32")
    assert w.shape == (3, 3, 16, 32) and w.dtype == np.float32
    assert abs(w.mean()) < 0.1 * std
    assert w.std() == pytest.approx(std, rel=0.05)


def test_zeros_ones_and_unknown_initializer():
    assert initializers.get("zeros")((2,)).sum() == 0
    assert initializers.get("ones")((2,)).sum() == 2
    with pytest.raises(ValueError, match="initializers.get: argument 'initializer'"):
        initializers.get("orthogonal_typo")


def test_l2_regularizer_value_and_gradient():
    w = svertka.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    penalty = regularizers.L2(0.5)(w)
    assert penalty.item() == pytest.approx(2.5)
    penalty.backward()
    np.testing.assert_allclose(w.grad, [1.0, -2.0])
    assert regularizers.get(regularizers.L2(0.1).get_config()).l2 == 0.1
    with pytest.raises(ValueError, match="L2: argument 'l2'"):
        regularizers.L2(-1)
