"""Triplet margin loss: gradients, PyTorch's F.triplet_margin_loss (its eps inside the norm
included), and the compile-ready TripletMarginLoss."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import layers, losses, ops

rng = np.random.default_rng(7)


def triplets(n=6, d=4, margin=0.5):
    """Random triplets kept away from the hinge (|d_ap - d_an + margin| > 0.05), some on each
    side of it, so central differences never straddle the kink."""
    while True:
        a, p, q = (rng.standard_normal((n, d)) for _ in range(3))
        z = (np.linalg.norm(a - p + 1e-6, axis=1) - np.linalg.norm(a - q + 1e-6, axis=1)
             + margin)
        if np.abs(z).min() > 0.05 and (z > 0).any() and (z < 0).any():
            return a, p, q


def test_gradient_of_every_input():
    check_grad(lambda a, p, q: ops.triplet_margin_loss(a, p, q, margin=0.5), *triplets())


@pytest.mark.parametrize("p", [2, 1, 3])
def test_matches_torch(p):
    torch = pytest.importorskip("torch")
    a, pos, neg = triplets(n=8, d=5, margin=0.5)
    compare_torch(lambda *t: ops.triplet_margin_loss(*t, margin=0.5, p=p),
                  lambda *t: torch.nn.functional.triplet_margin_loss(*t, margin=0.5, p=p),
                  a, pos, neg, atol=1e-10)


def test_matches_torch_on_one_triplet_and_with_the_default_margin():
    torch = pytest.importorskip("torch")
    a, pos, neg = (rng.standard_normal(3) for _ in range(3))
    compare_torch(ops.triplet_margin_loss, lambda *t: torch.nn.functional.triplet_margin_loss(
        *t, margin=0.1), a, pos, neg, atol=1e-10)


def test_eps_inside_the_norm_as_torch():
    torch = pytest.importorskip("torch")
    a = np.zeros((1, 3))
    # d(a, a) is ||eps * 1|| = sqrt(3) * 1e-6, not 0: the loss is 0.1 + that - 1
    y = ops.triplet_margin_loss(a, a, np.array([[0.0, 0.0, -1.0]])).item()
    t = torch.nn.functional.triplet_margin_loss(*(torch.tensor(v) for v in
                                                  (a, a, np.array([[0.0, 0.0, -1.0]]))),
                                                margin=0.1).item()
    assert y == pytest.approx(t, abs=1e-15)


def test_separated_triplets_give_zero_loss_and_gradient():
    a = svertka.Tensor(np.zeros((2, 2)), requires_grad=True)
    loss = ops.triplet_margin_loss(a, np.full((2, 2), 0.1), np.full((2, 2), 5.0))
    loss.backward()
    assert loss.item() == 0 and (a.grad == 0).all()


def test_rejects_mismatched_shapes_and_bad_options():
    with pytest.raises(ValueError, match="triplet_margin_loss: arguments 'anchor', 'positive' "
                                         "and 'negative' must be non-empty arrays of one shape"):
        ops.triplet_margin_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="triplet_margin_loss: argument 'p' must be"):
        ops.triplet_margin_loss(np.ones(2), np.ones(2), np.ones(2), p=0.5)


def test_loss_object_cuts_the_batch_into_anchors_positives_negatives():
    a, pos, neg = triplets(n=4, d=3, margin=0.3)
    loss = losses.TripletMarginLoss(margin=0.3)
    y = loss(None, np.concatenate([a, pos, neg]))
    assert y.item() == pytest.approx(ops.triplet_margin_loss(a, pos, neg, margin=0.3).item())
    with pytest.raises(ValueError, match=r"TripletMarginLoss: argument 'y_pred' must be "
                                         r"embeddings \(3N, D\)"):
        loss(None, np.ones((4, 3)))


def test_loss_object_is_saved_with_a_compiled_model(tmp_path):
    loss = losses.TripletMarginLoss(margin=0.25, p=1)
    again = losses.get(losses.serialize(loss))
    assert isinstance(again, losses.TripletMarginLoss)
    assert again.get_config() == {"margin": 0.25, "p": 1.0}
    model = svertka.Sequential([layers.Dense(3, input_shape=(4,)),
                                layers.Lambda(ops.l2_normalize)])
    model.compile(optimizer="sgd", loss=loss)
    x = rng.standard_normal((6, 4)).astype(np.float32)  # two triplets
    model.fit(x, np.zeros(6), batch_size=6, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.svertka")
    loaded = svertka.load_model(tmp_path / "m.svertka")
    assert isinstance(loaded.loss, losses.TripletMarginLoss)
    assert loaded.loss.get_config() == loss.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
