import numpy as np
import pytest

import svertka
from svertka import losses
from svertka.layers import Dense
from svertka.utils import set_random_seed, to_categorical


def test_sparse_and_categorical_crossentropy_agree():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], np.float32)
    y = np.array([0, 2])
    a = losses.get("sparse_categorical_crossentropy")(y, svertka.Tensor(p)).item()
    b = losses.get("categorical_crossentropy")(to_categorical(y, 3), svertka.Tensor(p)).item()
    assert a == pytest.approx(b) == pytest.approx(-np.log([0.7, 0.6]).mean(), rel=1e-6)


def test_softmax_cross_entropy_takes_logits():
    z = np.array([[2.0, 0.0]], np.float32)
    value = losses.get("softmax_cross_entropy")(np.array([0]), svertka.Tensor(z)).item()
    assert value == pytest.approx(np.log1p(np.exp(-2.0)), rel=1e-6)


def test_unknown_loss_names_the_argument():
    with pytest.raises(ValueError, match="losses.get: argument 'loss'"):
        losses.get("cross_entropy_typo")
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: class ids in "
                                         r"'y_true' must lie in \[0, 3\)"):
        losses.sparse_categorical_crossentropy(np.array([3]), svertka.Tensor(np.ones((1, 3))))


@pytest.mark.parametrize("name", ["sparse_categorical_crossentropy", "softmax_cross_entropy"])
def test_sparse_labels_must_be_whole_numbers(name):
    loss = losses.get(name)
    p = svertka.Tensor(np.full((2, 3), 1 / 3, np.float32))
    with pytest.raises(ValueError, match=r"must hold integer class ids.*received the value 2\.9"):
        loss(np.array([2.9, 0.0]), p)
    with pytest.raises(ValueError, match="must hold integer class ids"):
        loss(np.array([np.inf, 0.0]), p)
    with pytest.raises(TypeError, match="must hold integer class ids, received dtype bool"):
        loss(np.array([True, False]), p)
    assert loss(np.array([2.0, 0.0]), p).item() == pytest.approx(loss(np.array([2, 0]), p).item())


def test_robust_loss_arguments_are_checked():
    for kwargs in ({"scale": 0.0}, {"scale": float("inf")}, {"alpha": float("nan")},
                   {"alpha": 3.0, "adaptive": True}):
        with pytest.raises(ValueError, match="RobustLoss: argument"):
            losses.RobustLoss(**kwargs)
    with pytest.raises(TypeError, match="RobustLoss: argument 'adaptive'"):
        losses.RobustLoss(adaptive="yes")
    loss = losses.RobustLoss(alpha=-float("inf"))  # the Welsch limit stays allowed
    assert loss(np.array([0, 1]), svertka.Tensor(np.array([0.0, 1.0], np.float32))).item() == 0.0


def test_adaptive_robust_loss_learns_its_shape_with_the_model():
    """Gaussian residuals pull the adaptive loss's alpha up towards 2 (the L2 loss)."""
    set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + rng.normal(0, 1, (512, 1))
    loss = losses.RobustLoss(alpha=1.0, scale=1.0, adaptive=True)
    model = svertka.Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizer=svertka.optimizers.Adam(0.05), loss=loss)
    model.fit(x, y.astype(np.float32), batch_size=64, epochs=10, verbose=0)
    assert float(loss.alpha.data) > 1.3
    assert losses.serialize(loss)["class_name"] == "RobustLoss"


def test_robust_loss_alpha_2_is_half_squared_error():
    loss = losses.RobustLoss(alpha=2.0, scale=1.0)
    pred = svertka.Tensor(np.array([[1.0], [3.0]], np.float32))
    assert loss(np.zeros((2, 1), np.float32), pred).item() == pytest.approx(0.25 * (1 + 9))
