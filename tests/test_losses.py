import json

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import losses, ops
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


# Keras 3's loss classes. Expected values are Keras's documented ones (its docstrings) or
# worked out by hand; tests/test_losses_keras.py compares with Keras itself.
def test_keras_documented_values_of_the_crossentropies():
    y_true = np.array([[0, 1], [0, 0]])
    logits = np.array([[-18.6, 0.51], [2.94, -12.8]])
    assert losses.BinaryCrossentropy(from_logits=True)(y_true, logits).item() == \
        pytest.approx(0.8654, abs=2e-4)
    bce = losses.BinaryCrossentropy(from_logits=True)
    assert bce(y_true, logits, sample_weight=[0.8, 0.2]).item() == pytest.approx(0.243, abs=1e-3)
    bce = losses.BinaryCrossentropy(from_logits=True, reduction="sum")
    assert bce(y_true, logits).item() == pytest.approx(1.730, abs=1e-3)
    bce = losses.BinaryCrossentropy(from_logits=True, reduction=None)
    np.testing.assert_allclose(bce(y_true, logits).numpy(), [0.235, 1.496], atol=1e-3)

    onehot, ids = np.array([[0, 1, 0], [0, 0, 1]]), np.array([1, 2])
    p = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    for loss, y in ((losses.CategoricalCrossentropy, onehot),
                    (losses.SparseCategoricalCrossentropy, ids)):
        assert loss()(y, p).item() == pytest.approx(1.177, abs=1e-3)
        assert loss()(y, p, sample_weight=np.array([0.3, 0.7])).item() == \
            pytest.approx(0.814, abs=1e-3)
        assert loss(reduction="sum")(y, p).item() == pytest.approx(2.354, abs=1e-3)
        np.testing.assert_allclose(loss(reduction=None)(y, p).numpy(), [0.0513, 2.303],
                                   atol=1e-3)


def test_label_smoothing_and_huber_by_hand():
    # smoothing 0.2 over 2 classes: targets (0.1, 0.9); softmax(0, 0) = (0.5, 0.5)
    cce = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    assert cce(np.array([[0.0, 1.0]]), np.zeros((1, 2))).item() == pytest.approx(np.log(2))
    bce = losses.BinaryCrossentropy(label_smoothing=1.0)  # every target becomes 0.5
    value = bce(np.array([[1.0]]), np.array([[0.25]])).item()
    assert value == pytest.approx(-0.5 * (np.log(0.25) + np.log(0.75)))
    huber = losses.Huber()  # Keras's docstring: 0.155
    assert huber(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]])).item() == \
        pytest.approx(0.155)
    assert losses.Huber(delta=2.0)(np.zeros((1, 1)), np.array([[5.0]])).item() == 8.0


def test_reductions_and_sample_weights_by_hand():
    y_pred, y_true = np.array([[1.0], [2.0]]), np.zeros((2, 1))  # squared errors 1 and 4
    w = np.array([1.0, 3.0])
    expected = {"sum_over_batch_size": 13 / 2, "mean": 13 / 2, "sum": 13.0,
                "mean_with_sample_weight": 13 / 4}
    for reduction, value in expected.items():
        loss = losses.MeanSquaredError(reduction=reduction)
        assert loss(y_true, y_pred, sample_weight=w).item() == pytest.approx(value)
    for reduction in (None, "none"):
        loss = losses.MeanSquaredError(reduction=reduction)
        assert loss(y_true, y_pred, sample_weight=w).numpy().ravel().tolist() == [1.0, 12.0]
        assert loss(y_true, y_pred).numpy().tolist() == [1.0, 4.0]
    mean_w = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert mean_w(y_true, y_pred).item() == 2.5  # without weights: the plain mean
    assert mean_w(y_true, y_pred, sample_weight=np.zeros(2)).item() == 0.0  # 0 / 0 is 0
    # labels (N,) meet predictions (N, 1), as in Keras
    assert losses.MeanSquaredError()(np.zeros(2), y_pred).item() == 2.5
    # an empty batch gives Keras's empty result, not NaN
    assert losses.MeanSquaredError()(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)


def test_ignore_class_leaves_positions_out_of_the_loss_and_the_mean():
    labels, logits = np.array([0, 1, 0, 3]), np.zeros((4, 4))  # each valid loss is log 4
    log4 = np.log(4)
    expected = {"sum_over_batch_size": log4, "mean": log4, "sum": 2 * log4,
                "mean_with_sample_weight": log4}
    for reduction, value in expected.items():
        loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0,
                                                    reduction=reduction)
        assert loss(labels, logits).item() == pytest.approx(value)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=0, reduction=None)
    np.testing.assert_allclose(loss(labels, np.full((4, 4), 0.25)).numpy(), [0, log4, 0, log4])
    z = svertka.Tensor(np.random.default_rng(0).normal(size=(4, 4)), requires_grad=True)
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)(labels, z).backward()
    assert not z.grad[[0, 2]].any() and z.grad[[1, 3]].any()


def test_from_logits_is_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], np.float32)  # confidently wrong
    wrong = np.array([[0.0, 1.0], [1.0, 0.0]])
    for loss, y, expected in (
            (losses.CategoricalCrossentropy(from_logits=True), wrong, 2000.0),
            (losses.SparseCategoricalCrossentropy(from_logits=True), np.array([1, 0]), 2000.0),
            (losses.BinaryCrossentropy(from_logits=True), wrong, 1000.0)):
        t = svertka.Tensor(z, requires_grad=True)
        value = loss(y, t)
        value.backward()
        assert value.item() == pytest.approx(expected, rel=1e-6)
        assert np.isfinite(t.grad).all() and np.abs(t.grad).max() > 0.1


def _pos(*shape, seed=0):
    return np.random.default_rng(seed).uniform(0.05, 0.95, shape)


def _normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _bits(*shape, seed=3):
    return np.random.default_rng(seed).integers(0, 2, shape).astype(np.float64)


IDS = np.array([0, 2, 1, 2])
# (loss, y_true, y_pred, indices to check: 0 = y_true, 1 = y_pred), all float64
GRAD_CASES = [
    (losses.MeanSquaredError(reduction=None), _normal(4, 3, seed=1), _normal(4, 3), None),
    (losses.MeanAbsoluteError(reduction=None), _normal(4, 3, seed=1), _normal(4, 3), None),
    (losses.MeanAbsolutePercentageError(reduction=None), _normal(4, 3, seed=1), _normal(4, 3),
     None),
    (losses.MeanSquaredLogarithmicError(reduction=None), _pos(4, 3, seed=1), _pos(4, 3), None),
    (losses.CosineSimilarity(reduction=None), _normal(4, 3, seed=1), _normal(4, 3), None),
    (losses.CosineSimilarity(axis=0, reduction=None), _normal(4, 3, seed=1), _normal(4, 3),
     None),
    (losses.Huber(delta=0.7, reduction=None), _normal(4, 3, seed=1), _normal(4, 3), None),
    (losses.LogCosh(reduction=None), _normal(4, 3, seed=1), _normal(4, 3), None),
    (losses.Hinge(reduction=None), _bits(4, 3), _normal(4, 3), [1]),
    (losses.SquaredHinge(reduction=None), _bits(4, 3), _normal(4, 3), [1]),
    (losses.CategoricalHinge(reduction=None), np.eye(3)[IDS], _normal(4, 3), [1]),
    (losses.KLDivergence(reduction=None), _pos(4, 3, seed=1), _pos(4, 3), None),
    (losses.Poisson(reduction=None), _pos(4, 3, seed=1), _pos(4, 3), None),
    (losses.BinaryCrossentropy(reduction=None), _pos(4, 3, seed=1), _pos(4, 3), None),
    (losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, reduction=None),
     _pos(4, 3, seed=1), _normal(4, 3), None),
    (losses.CategoricalCrossentropy(label_smoothing=0.2, reduction=None), _pos(4, 3, seed=1),
     _pos(4, 3), None),
    (losses.CategoricalCrossentropy(from_logits=True, axis=1, reduction=None),
     _pos(2, 3, 4, seed=1), _normal(2, 3, 4), None),
    (losses.SparseCategoricalCrossentropy(reduction=None), IDS, _pos(4, 3), None),
    (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1,
                                          reduction="mean_with_sample_weight"),
     np.array([[0, 1], [2, 2]]), _normal(2, 2, 3), None),
]


@pytest.mark.parametrize("loss, y_true, y_pred, wrt", GRAD_CASES,
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_loss_gradients_match_finite_differences(loss, y_true, y_pred, wrt):
    check_grad(loss, y_true, y_pred, wrt=wrt)
    with svertka.no_grad():
        shape = loss(y_true, y_pred).shape  # one weight per value (cosine on axis 0: per column)
    w = np.random.default_rng(5).uniform(0.5, 2.0, shape)
    check_grad(lambda t, p: type(loss).from_config({**loss.get_config(), "reduction": "sum"})(
        t, p, sample_weight=w), y_true, y_pred, wrt=wrt)


def _torch_cases():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    eps = 1e-7

    def hinge_labels(t):
        return 2 * t - 1

    return [
        (losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None),
         lambda p, t: F.cross_entropy(p, t, reduction="none"), _normal(5, 4), IDS[[0, 1, 2, 3, 0]]),
        (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2),
         lambda p, t: F.cross_entropy(p, t, ignore_index=2), _normal(5, 4), IDS[[0, 1, 2, 3, 0]]),
        (losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None),
         lambda p, t: F.cross_entropy(p.permute(0, 3, 1, 2), t, reduction="none"),
         _normal(2, 3, 3, 4), np.random.default_rng(0).integers(0, 4, (2, 3, 3))),
        (losses.CategoricalCrossentropy(from_logits=True, reduction=None),
         lambda p, t: F.cross_entropy(p, t, reduction="none"), _normal(4, 3), _pos(4, 3)),
        (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, reduction=None),
         lambda p, t: F.cross_entropy(p, t.argmax(-1), label_smoothing=0.1, reduction="none"),
         _normal(4, 3), np.eye(3)[IDS]),
        (losses.BinaryCrossentropy(from_logits=True, reduction=None),
         lambda p, t: F.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1),
         _normal(4, 3) * 20, _pos(4, 3)),
        (losses.BinaryCrossentropy(reduction=None),
         lambda p, t: F.binary_cross_entropy(p, t, reduction="none").mean(-1), _pos(4, 3),
         _bits(4, 3)),
        (losses.MeanSquaredError(reduction=None),
         lambda p, t: F.mse_loss(p, t, reduction="none").mean(-1), _normal(4, 3),
         _normal(4, 3, seed=1)),
        (losses.MeanAbsoluteError(reduction=None),
         lambda p, t: F.l1_loss(p, t, reduction="none").mean(-1), _normal(4, 3),
         _normal(4, 3, seed=1)),
        (losses.Huber(delta=0.5, reduction=None),
         lambda p, t: F.huber_loss(p, t, delta=0.5, reduction="none").mean(-1), _normal(4, 3),
         _normal(4, 3, seed=1)),
        (losses.KLDivergence(reduction=None),
         lambda p, t: F.kl_div(p.log(), t, reduction="none").sum(-1), _pos(4, 3),
         _pos(4, 3, seed=1)),
        (losses.CosineSimilarity(reduction=None),
         lambda p, t: -F.cosine_similarity(p, t, dim=-1), _normal(4, 3), _normal(4, 3, seed=1)),
        (losses.Poisson(reduction=None),
         lambda p, t: F.poisson_nll_loss(p, t, log_input=False, eps=eps, reduction="none")
         .mean(-1), _pos(4, 3), _pos(4, 3, seed=1)),
        (losses.LogCosh(reduction=None),
         lambda p, t: torch.log(torch.cosh(p - t)).mean(-1), _normal(4, 3),
         _normal(4, 3, seed=1)),
        (losses.MeanAbsolutePercentageError(reduction=None),
         lambda p, t: 100 * ((t - p) / t.abs().clamp(min=eps)).abs().mean(-1), _normal(4, 3),
         _normal(4, 3, seed=1)),
        (losses.MeanSquaredLogarithmicError(reduction=None),
         lambda p, t: ((p.clamp(min=eps) + 1).log() - (t.clamp(min=eps) + 1).log()).pow(2)
         .mean(-1), _pos(4, 3), _pos(4, 3, seed=1)),
        (losses.Hinge(reduction=None),
         lambda p, t: F.relu(1 - hinge_labels(t) * p).mean(-1), _normal(4, 3), _bits(4, 3)),
        (losses.SquaredHinge(reduction=None),
         lambda p, t: F.relu(1 - hinge_labels(t) * p).pow(2).mean(-1), _normal(4, 3),
         _bits(4, 3)),
        (losses.CategoricalHinge(reduction=None),
         lambda p, t: F.relu(((1 - t) * p).amax(-1) - (t * p).sum(-1) + 1), _normal(4, 3),
         np.eye(3)[IDS]),
    ]


@pytest.mark.parametrize("case", range(19))
def test_losses_match_torch_forward_and_gradients(case):
    loss, torch_fn, y_pred, y_true = _torch_cases()[case]
    compare_torch(lambda p, t: loss(t, p), torch_fn, y_pred, y_true, wrt=[0], atol=1e-7,
                  rtol=1e-6)


def test_subclassed_loss_trains_and_must_return_a_tensor():
    class WeightedSquaredError(losses.Loss):
        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * ops.mean((y_pred - y_true) ** 2, axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    loss = WeightedSquaredError(scale=3.0)
    assert loss.name == "weighted_squared_error" and loss.reduction == "sum_over_batch_size"
    assert loss(np.zeros((2, 1)), np.array([[1.0], [2.0]])).item() == pytest.approx(7.5)
    assert WeightedSquaredError.from_config(loss.get_config()).scale == 3.0
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-1.0], [0.5]], np.float32)
    set_random_seed(0)
    model = svertka.Sequential([Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]

    class NumpyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return np.mean((y_pred.numpy() - y_true.numpy()) ** 2, axis=-1)

    with pytest.raises(TypeError, match="NumpyLoss.call: must return a svertka Tensor"):
        NumpyLoss()(np.zeros(2), np.ones(2))
    with pytest.raises(NotImplementedError, match="Loss: subclasses of Loss must implement"):
        losses.Loss()(np.zeros(2), np.ones(2))


def test_compile_with_a_loss_class_trains_saves_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    set_random_seed(0)
    model = svertka.Sequential([Dense(3, input_shape=(4,))])
    model.compile(optimizer=svertka.optimizers.SGD(0.5),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # two steps
    after = model.evaluate(x, y, verbose=0)
    assert after < before
    model.save(tmp_path / "m.svk")
    loaded = svertka.load_model(tmp_path / "m.svk")
    assert isinstance(loaded.loss, losses.SparseCategoricalCrossentropy)
    assert loaded.loss.from_logits is True
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(after, rel=1e-6)


def test_get_serialize_deserialize_by_keras_names():
    assert losses.get("mae") is losses.mean_absolute_error is losses.get("MAE")
    assert losses.get("kld") is losses.kl_divergence and losses.get("huber") is losses.huber
    assert losses.get(None) is None
    assert isinstance(losses.get("SparseCategoricalCrossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    loss = losses.get({"class_name": "CategoricalCrossentropy",
                       "config": {"from_logits": True, "label_smoothing": 0.1}})
    assert loss.from_logits and loss.label_smoothing == 0.1
    for loss in (losses.Huber(delta=0.3, name="h", reduction="sum"),
                 losses.CosineSimilarity(axis=0), losses.BinaryCrossentropy(from_logits=True),
                 losses.SparseCategoricalCrossentropy(ignore_class=255, axis=1),
                 losses.KLDivergence(dtype="float64"),
                 losses.LossFunctionWrapper(losses.huber, delta=2.0)):
        text = json.dumps(losses.serialize(loss))
        again = losses.deserialize(json.loads(text))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()
    assert losses.serialize(losses.mean_absolute_error) == "mean_absolute_error"
    assert losses.deserialize("mse") is losses.mean_squared_error
    assert losses.get("mean_squared_logarithmic_error")(np.zeros(2), np.zeros(2)).item() == 0.0


def test_loss_errors_name_the_class_and_argument():
    with pytest.raises(ValueError, match="Huber: argument 'reduction' must be one of"):
        losses.Huber(reduction="avg")
    with pytest.raises(ValueError, match="Huber: argument 'delta' must be a finite number > 0"):
        losses.Huber(delta=0)
    with pytest.raises(ValueError, match="BinaryCrossentropy: argument 'label_smoothing'"):
        losses.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(TypeError, match="CategoricalCrossentropy: argument 'from_logits'"):
        losses.CategoricalCrossentropy(from_logits="yes")
    with pytest.raises(ValueError, match="categorical_crossentropy: arguments 'y_true' and "
                                         "'y_pred' must have the same shape"):
        losses.CategoricalCrossentropy()(np.zeros((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"class ids in 'y_true' must lie in \[0, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.ones((2, 3)))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy: argument 'y_true' "
                                         "must hold one class id per position"):
        losses.SparseCategoricalCrossentropy()(np.zeros((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="MeanSquaredError: argument 'sample_weight'"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.ones((4, 2)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="losses.deserialize: unknown loss class 'Mine'"):
        losses.deserialize({"class_name": "Mine", "config": {}})
    with pytest.raises(ValueError, match="losses.serialize: the custom loss"):
        losses.serialize(lambda t, p: t)
    with pytest.raises(ValueError, match="MeanSquaredError: argument 'dtype'"):
        losses.MeanSquaredError(dtype="int32")
