import numpy as np
import pytest
from helpers import check_grad

import svertka
from svertka import regularizers as R

W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.5]])


def test_penalties_are_keras_formulas():
    w = svertka.Tensor(W)
    assert R.L1(0.1)(w).item() == pytest.approx(0.1 * np.abs(W).sum())
    assert R.L2(0.1)(w).item() == pytest.approx(0.1 * (W ** 2).sum())
    assert R.L1L2(0.1, 0.2)(w).item() == pytest.approx(0.1 * np.abs(W).sum()
                                                       + 0.2 * (W ** 2).sum())
    # Keras's OrthogonalRegularizer, rows mode: factor/2 * mean |cos| over distinct row pairs
    u = W / np.linalg.norm(W, axis=1, keepdims=True)
    cos = abs(u[0] @ u[1])
    assert R.OrthogonalRegularizer(0.4)(w).item() == pytest.approx(0.4 * 0.5 * 2 * cos / 1)
    uc = W / np.linalg.norm(W, axis=0, keepdims=True)
    gram = np.abs(uc.T @ uc) * (1 - np.eye(3))
    expected = 0.4 * 0.5 * gram.sum() / 3
    assert R.OrthogonalRegularizer(0.4, "columns")(w).item() == pytest.approx(expected)


def test_keras_defaults_names_and_aliases():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert R.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert R.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}  # Keras 3: an alias of L1L2
    assert R.l2(0.05).get_config() == {"l2": 0.05} and isinstance(R.l2(), R.L2)
    assert R.l1(0.2).l1 == 0.2
    assert R.OrthogonalRegularizer().get_config() == {"factor": 0.01, "mode": "rows"}
    for name, cls in (("l1", R.L1), ("l2", R.L2), ("l1_l2", R.L1L2), ("L1L2", R.L1L2),
                      ("orthogonal_regularizer", R.OrthogonalRegularizer)):
        assert type(R.get(name)) is cls
    assert R.get("l1l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert R.get(None) is None and type(R.get(R.L1)) is R.L1
    with pytest.raises(ValueError, match="regularizers.get: argument 'regularizer'"):
        R.get("l3")
    with pytest.raises(ValueError, match="OrthogonalRegularizer: argument 'mode'"):
        R.OrthogonalRegularizer(mode="diag")
    with pytest.raises(ValueError, match="L1L2: argument 'l1' must be a finite number"):
        R.L1L2(-1.0)
    with pytest.raises(ValueError, match="OrthogonalRegularizer: the weight must have rank 2"):
        R.OrthogonalRegularizer()(svertka.Tensor(np.ones((2, 2, 2))))


def test_configs_round_trip():
    for reg in (R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.4), R.OrthogonalRegularizer(0.5, "columns")):
        config = R.serialize(reg)
        assert config["module"] == "keras.regularizers"
        assert config["class_name"] == type(reg).__name__
        assert R.get(config).get_config() == reg.get_config()
        assert type(reg).from_config(reg.get_config()).get_config() == reg.get_config()
        assert R.deserialize(reg.get_config()).get_config() == reg.get_config()  # bare dict
    assert R.get({"class_name": "L2", "l2": 0.3}).l2 == 0.3  # svertka's older saved form
    with pytest.raises(ValueError, match="regularizers.deserialize"):
        R.deserialize({"class_name": "L3", "config": {}})


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.4),
                                 R.OrthogonalRegularizer(0.5),
                                 R.OrthogonalRegularizer(0.5, "columns")],
                         ids=lambda r: repr(r))
def test_penalties_have_float64_gradients(reg):
    check_grad(lambda w: reg(w), W.copy())


def test_conv2d_with_l1l2_trains_and_the_penalty_enters_the_loss():
    svertka.utils.set_random_seed(0)
    model = svertka.Sequential([
        svertka.Input((6, 6, 1)),
        svertka.layers.Conv2D(2, 3, kernel_regularizer=R.L1L2(0.01, 0.01)),
        svertka.layers.Flatten(),
        svertka.layers.Dense(1),
    ])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 6, 6, 1)).astype(np.float32)
    y = x.mean(axis=(1, 2, 3))[:, None]
    kernel = model.layers[0].kernel
    before = kernel.numpy().copy()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert not np.array_equal(before, kernel.numpy())
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    w = kernel.numpy().astype(np.float64)
    penalty = 0.01 * np.abs(w).sum() + 0.01 * (w ** 2).sum()
    assert history.history["loss"][-1] > 0
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + penalty, rel=1e-4)
