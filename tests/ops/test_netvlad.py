"""l2_normalize and netvlad: float64 gradient checks and PyTorch as the oracle (F.normalize and
the paper's definition of NetVLAD, written out with an explicit residual tensor)."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops
from svertka.ops.netvlad import VLAD

rng = np.random.default_rng(5)


def r(*shape):
    return rng.standard_normal(shape)


def torch_netvlad(x, w, b, c):
    """NetVLAD as the paper defines it: residuals (N, L, K, D) weighted by the assignments."""
    import torch
    import torch.nn.functional as F

    n, d = x.shape[0], x.shape[-1]
    x = x.reshape(n, -1, d)  # (N, L, D)
    a = torch.softmax(x @ w + b, dim=-1)  # (N, L, K)
    v = (a[..., None] * (x[:, :, None, :] - c)).sum(dim=1)  # (N, K, D)
    v = F.normalize(v, dim=-1).reshape(n, -1)  # intra-normalisation, flatten
    return F.normalize(v, dim=-1)


@pytest.mark.parametrize("shape, axis", [((4, 3), -1), ((3, 4), 0), ((2, 3, 4), 1)])
def test_l2_normalize_gradient_and_torch(shape, axis):
    x = r(*shape)
    check_grad(lambda t: ops.l2_normalize(t, axis=axis), x)
    torch = pytest.importorskip("torch")
    compare_torch(lambda t: ops.l2_normalize(t, axis=axis),
                  lambda t: torch.nn.functional.normalize(t, dim=axis), x, atol=1e-10)


def test_l2_normalize_below_epsilon_divides_by_epsilon_as_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[3.0, 4.0], [1e-8, -2e-8], [0.0, 0.0]])
    compare_torch(lambda t: ops.l2_normalize(t, epsilon=1e-6),
                  lambda t: torch.nn.functional.normalize(t, dim=-1, eps=1e-6), x, atol=1e-10)
    y = ops.l2_normalize(x).numpy()
    np.testing.assert_allclose(np.linalg.norm(y[:2], axis=1), 1.0)
    assert (y[2] == 0).all()


def test_l2_normalize_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"l2_normalize: argument 'axis' must be in \[-2, 2\)"):
        ops.l2_normalize(np.ones((2, 2)), axis=2)
    with pytest.raises(ValueError, match="l2_normalize: argument 'epsilon' must be"):
        ops.l2_normalize(np.ones(2), epsilon=0.0)


def test_vlad_aggregation_gradient_of_every_input():
    # the closed-form backward alone, before the normalisations can hide an error
    check_grad(lambda *a: VLAD()(*a), r(2, 5, 3), r(3, 4), r(4), r(4, 3))


@pytest.mark.parametrize("x_shape, k", [((2, 2, 3, 4), 3), ((3, 5, 2), 4)])
def test_netvlad_gradient_of_every_input(x_shape, k):
    d = x_shape[-1]
    check_grad(ops.netvlad, r(*x_shape), r(d, k), r(k), r(k, d))


@pytest.mark.parametrize("x_shape, k", [((2, 3, 3, 5), 4), ((1, 7, 3), 2)])
def test_netvlad_matches_the_papers_definition_in_torch(x_shape, k):
    pytest.importorskip("torch")
    d = x_shape[-1]
    compare_torch(ops.netvlad, torch_netvlad, r(*x_shape), r(d, k), r(k), r(k, d), atol=1e-10)


def test_netvlad_output_is_unit_length_with_unit_length_cluster_blocks():
    x, w, b, c = r(3, 4, 4, 6), r(6, 5), r(5), r(5, 6)
    y = ops.netvlad(svertka.Tensor(x), w, b, c).numpy()
    assert y.shape == (3, 30)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0)
    blocks = np.linalg.norm(y.reshape(3, 5, 6), axis=2)  # intra-normalised: equal lengths
    np.testing.assert_allclose(blocks, 1 / np.sqrt(5))


def test_netvlad_float32_stays_float32():
    t = [a.astype(np.float32) for a in (r(2, 3, 3, 4), r(4, 3), r(3), r(3, 4))]
    y = ops.netvlad(*t)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), ops.netvlad(*[a.astype(np.float64) for a in t])
                               .numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((2, 4), (4, 3), (3,), (3, 4)), r"argument 'x' must be local descriptors"),
        (((2, 2, 2, 4), (5, 3), (3,), (3, 4)), r"argument 'w' must have shape \(4, clusters\)"),
        (((2, 2, 2, 4), (4, 3), (2,), (3, 4)), r"argument 'b' must have shape \(3,\)"),
        (((2, 2, 2, 4), (4, 3), (3,), (4, 3)), r"argument 'centroids' must have shape \(3, 4\)"),
    ],
)
def test_netvlad_shape_errors(shapes, message):
    with pytest.raises(ValueError, match=f"netvlad: {message}"):
        ops.netvlad(*[np.ones(s) for s in shapes])
