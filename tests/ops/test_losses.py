import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops
from svertka.kernels.losses import robust_log_partition_quad
from svertka.ops.losses import robust_loss_nll

rng = np.random.default_rng(7)
EPS = 1e-7  # Keras's clip


def r(*shape):
    return rng.standard_normal(shape)


def probs(n, k):
    p = rng.uniform(0.05, 1.0, (n, k))
    return p / p.sum(axis=1, keepdims=True)


def onehot(labels, k):
    return np.eye(k)[labels]


def keras_cce(t, p):
    """Keras's formula, written out row by row."""
    out = []
    for ti, pi in zip(t.reshape(-1, t.shape[-1]), p.reshape(-1, p.shape[-1]), strict=True):
        q = np.clip(pi / pi.sum(), EPS, 1 - EPS)
        out.append(-np.sum(ti * np.log(q)))
    return np.mean(out)


def keras_bce(t, p):
    pc = np.clip(p, EPS, 1 - EPS)
    return np.mean(-(t * np.log(pc) + (1 - t) * np.log(1 - pc)))


# softmax_cross_entropy


@pytest.mark.parametrize("n, k", [(1, 2), (4, 3), (5, 7)])
def test_softmax_cross_entropy_int_labels_match_torch(n, k):
    torch = pytest.importorskip("torch")
    labels = rng.integers(0, k, n)
    compare_torch(
        lambda z: ops.softmax_cross_entropy(z, labels),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels)),
        r(n, k),
    )


@pytest.mark.parametrize("n, k", [(3, 4), (6, 2)])
def test_softmax_cross_entropy_soft_targets_match_torch_including_target_gradient(n, k):
    torch = pytest.importorskip("torch")
    compare_torch(
        ops.softmax_cross_entropy, torch.nn.functional.cross_entropy, r(n, k), probs(n, k)
    )


@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_cross_entropy_gradients(sparse):
    labels = np.array([2, 0, 1, 2])
    t = labels if sparse else onehot(labels, 3) * 0.8 + 0.05
    check_grad(ops.softmax_cross_entropy, r(4, 3), t)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]], dtype=np.float32)
    x = svertka.Tensor(z, requires_grad=True)
    y = ops.softmax_cross_entropy(x, np.array([1, 1]))
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(y.item(), 500.0)
    np.testing.assert_allclose(x.grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


def test_softmax_cross_entropy_label_forms_agree():
    z = r(5, 4)
    labels = np.array([3, 0, 1, 1, 2])
    expected = ops.softmax_cross_entropy(z, labels).item()
    for form in (
        labels.tolist(),
        svertka.Tensor(labels),
        labels.astype(np.float32),
        svertka.Tensor(labels.tolist()),
        onehot(labels, 4),
    ):
        np.testing.assert_allclose(ops.softmax_cross_entropy(z, form).item(), expected)


def test_softmax_cross_entropy_int_labels_get_no_gradient():
    labels = svertka.Tensor(np.array([0, 1]))
    ops.softmax_cross_entropy(svertka.Tensor(r(2, 2), requires_grad=True), labels).backward()
    assert labels.grad is None


@pytest.mark.parametrize(
    "z, labels, message",
    [
        (np.zeros((3, 4)), np.array([0, 1]), "one class id per sample"),
        (np.zeros((2, 4)), np.array([0, 4]), r"must lie in \[0, 4\)"),
        (np.zeros((2, 4)), np.array([-1, 0]), r"must lie in \[0, 4\)"),
        (np.zeros((2, 4)), np.array([0.5, 1.0]), "integer class ids"),
        (np.zeros((2, 4)), np.zeros((2, 3)), r"targets \(2, 4\)"),
        (np.zeros((2, 4)), np.zeros((2, 4, 1)), r"targets \(2, 4\)"),
        (np.zeros(4), np.array([0]), r"shape \(N, K\)"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_input(z, labels, message):
    with pytest.raises(ValueError, match=message):
        ops.softmax_cross_entropy(z, labels)


def test_softmax_cross_entropy_rejects_non_integer_label_dtype():
    with pytest.raises(TypeError, match="integer class ids"):
        ops.softmax_cross_entropy(np.zeros((2, 2)), np.array([True, False]))


# categorical_crossentropy


def test_categorical_crossentropy_matches_keras_formula_including_clipping():
    t = onehot(np.array([0, 1, 2, 1]), 3) * 0.9 + 0.1 / 3
    p = np.array([[0.2, 0.3, 0.5], [1e-12, 0.5, 0.5], [3.0, 1.0, 0.0], [0.0, 2.0, 0.0]])
    ours = ops.categorical_crossentropy(t, p).item()
    np.testing.assert_allclose(ours, keras_cce(t, p), rtol=1e-12)


def test_categorical_crossentropy_averages_over_all_but_the_last_axis():
    t, p = rng.uniform(0, 1, (2, 3, 2, 4)), rng.uniform(0.1, 1, (2, 3, 2, 4))
    np.testing.assert_allclose(
        ops.categorical_crossentropy(t, p).item(), keras_cce(t, p), rtol=1e-12
    )


def test_categorical_crossentropy_matches_torch_inside_the_clip():
    torch = pytest.importorskip("torch")
    p = rng.uniform(0.1, 2.0, (4, 5))  # unnormalised: the op divides by the row sum
    compare_torch(
        ops.categorical_crossentropy,
        lambda t, p: -(t * torch.log(p / p.sum(1, keepdim=True))).sum(1).mean(),
        probs(4, 5),
        p,
    )


@pytest.mark.parametrize(
    "p",
    [
        np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]),
        np.array([[1.5, 0.7, 0.9], [0.2, 0.2, 2.0]]),
        # clipped entries (zero gradient there), far enough inside the clip for the differences
        np.array([[1e-12, 400.0, 600.0], [300.0, 700.0, 1e-12]]),
    ],
)
def test_categorical_crossentropy_gradients(p):
    check_grad(ops.categorical_crossentropy, probs(2, 3), p)


def test_categorical_crossentropy_gradient_is_zero_where_clipped():
    # the clipped entry's own path is cut; what remains is the row sum's effect, -sum(g q)/S
    t, p = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    x = svertka.Tensor(p, requires_grad=True)
    ops.categorical_crossentropy(t, x).backward()
    q = np.clip(p, EPS, 1 - EPS)
    g = np.array([-1.0 / q[0, 0], 0.0]) * [0.0, 1.0]  # d/dq with both entries clipped
    np.testing.assert_allclose(x.grad, g[None] - (g * p).sum())


def test_categorical_crossentropy_from_logits_is_softmax_cross_entropy():
    torch = pytest.importorskip("torch")
    compare_torch(
        lambda t, z: ops.categorical_crossentropy(t, z, from_logits=True),
        lambda t, z: torch.nn.functional.cross_entropy(z, t),
        probs(3, 4),
        r(3, 4),
    )
    t, z = rng.uniform(0, 1, (2, 3, 4)), r(2, 3, 4)
    expected = ops.softmax_cross_entropy(z.reshape(6, 4), t.reshape(6, 4)).item()
    np.testing.assert_allclose(
        ops.categorical_crossentropy(t, z, from_logits=True).item(), expected
    )


# binary_crossentropy and mean_squared_error


def test_binary_crossentropy_matches_keras_formula_including_clipping():
    t = rng.uniform(0, 1, (3, 4))
    p = rng.uniform(0, 1, (3, 4))
    p[0, 0], p[1, 1], p[2, 2] = 0.0, 1.0, 1e-9
    np.testing.assert_allclose(ops.binary_crossentropy(t, p).item(), keras_bce(t, p), rtol=1e-12)


def test_binary_crossentropy_matches_torch():
    torch = pytest.importorskip("torch")
    compare_torch(
        ops.binary_crossentropy,
        lambda t, p: torch.nn.functional.binary_cross_entropy(p, t),
        rng.uniform(0, 1, (3, 4)),
        rng.uniform(0.05, 0.95, (3, 4)),
        wrt=[1],
    )


def test_binary_crossentropy_from_logits_matches_torch_and_is_stable():
    torch = pytest.importorskip("torch")
    z = r(3, 4) * 3
    z[0, :2] = [200.0, -200.0]  # exp(200) would overflow a naive sigmoid in float32
    compare_torch(
        lambda t, z: ops.binary_crossentropy(t, z, from_logits=True),
        lambda t, z: torch.nn.functional.binary_cross_entropy_with_logits(z, t),
        rng.uniform(0, 1, (3, 4)),
        z,
    )
    y = ops.binary_crossentropy(
        np.ones(2, np.float32), np.array([200, -200], np.float32), from_logits=True
    )
    assert y.dtype == np.float32 and np.isfinite(y.item())


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_gradients(from_logits):
    p = r(2, 3) if from_logits else rng.uniform(0.05, 0.95, (2, 3))
    check_grad(
        lambda t, p: ops.binary_crossentropy(t, p, from_logits=from_logits),
        rng.uniform(0, 1, (2, 3)),
        p,
    )


def test_binary_crossentropy_gradient_is_zero_where_clipped():
    p = svertka.Tensor(np.array([0.0, 1e-9, 0.5, 1.0]), requires_grad=True)
    ops.binary_crossentropy(np.array([1.0, 1.0, 1.0, 0.0]), p).backward()
    np.testing.assert_allclose(p.grad, [0.0, 0.0, -0.5, 0.0])  # -(1/p)/4 at p = 0.5


def test_mean_squared_error_matches_torch_and_gradients():
    torch = pytest.importorskip("torch")
    compare_torch(
        ops.mean_squared_error,
        lambda t, p: torch.nn.functional.mse_loss(p, t),
        r(3, 2, 2),
        r(3, 2, 2),
    )
    check_grad(ops.mean_squared_error, r(4, 3), r(4, 3))


@pytest.mark.parametrize(
    "fn", [ops.categorical_crossentropy, ops.binary_crossentropy, ops.mean_squared_error]
)
def test_keras_losses_reject_shape_mismatch_and_keep_float32(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(np.zeros((2, 3)), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="rank >= 1"):
        fn(np.zeros(()), np.full((), 0.5))
    with pytest.raises(TypeError, match="'y_pred' must hold real numbers"):
        fn(np.zeros(2), np.array(["a", "b"]))
    assert fn(np.zeros(2), np.array([0, 1])).dtype == np.float32  # integers computed in float32
    y = fn(np.array([[0, 1]]), svertka.Tensor(np.array([[0.3, 0.7]], np.float32)))
    assert y.dtype == np.float32  # integer targets take the predictions' dtype


# robust_loss


def barron(x, a, c):
    """The paper's general formula, valid away from alpha in {0, 2, +-inf}."""
    s = (x / c) ** 2
    b = abs(a - 2)
    return b / a * ((s / b + 1) ** (a / 2) - 1)


@pytest.mark.parametrize(
    "alpha, expected",
    [
        (2.0, lambda s: 0.5 * s),
        (1.0, lambda s: np.sqrt(s + 1) - 1),
        (0.0, lambda s: np.log(0.5 * s + 1)),
        (-2.0, lambda s: 2 * s / (s + 4)),
        (-np.inf, lambda s: 1 - np.exp(-0.5 * s)),
        (np.inf, lambda s: np.expm1(0.5 * s)),
    ],
)
def test_robust_loss_special_values(alpha, expected):
    x, c = np.linspace(-4, 4, 17), 1.7
    np.testing.assert_allclose(
        ops.robust_loss(x, alpha, c).numpy(), expected((x / c) ** 2), rtol=1e-13, atol=1e-15
    )


@pytest.mark.parametrize("alpha", [-30.0, -1.3, -0.5, 0.3, 0.999, 1.001, 1.5, 2.5, 8.0])
def test_robust_loss_matches_general_formula(alpha):
    x = r(20) * 3
    # atol: the formula as written cancels for tiny x (to ~1e-10 relative at alpha = -30)
    np.testing.assert_allclose(
        ops.robust_loss(x, alpha, 0.8).numpy(), barron(x, alpha, 0.8), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("alpha", [-1e-9, 1e-12, 2 - 1e-9, 2 + 1e-9, 2 - 1e-4])
def test_robust_loss_is_exact_next_to_the_removable_singularities(alpha):
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    x = np.array([1e-3, 0.4, 2.0, 30.0])
    ref = [float(barron(mp.mpf(v), mp.mpf(alpha), mp.mpf(1))) for v in x]
    np.testing.assert_allclose(ops.robust_loss(x, alpha, 1.0).numpy(), ref, rtol=1e-13)


def test_robust_loss_grows_with_alpha():
    alphas = np.array([-np.inf, -50, -2, -0.5, 0, 0.5, 1, 1.9, 2, 2.1, 4, 20, np.inf])
    x = np.array([0.3, 1.0, 5.0])[:, None]
    rho = ops.robust_loss(x, alphas, 1.0).numpy()
    assert (np.diff(rho, axis=1) > 0).all()


@pytest.mark.parametrize(
    "alpha", [-np.inf, -5.0, -2.0, -0.7, 0.0, 1e-8, 0.5, 1.0, 1.5, 2.0, 2.0 + 3e-4, 3.0, np.inf]
)
def test_robust_loss_gradients(alpha):
    x = np.array([-2.5, -0.3, 0.0, 0.8, 1.7])
    finite = np.isfinite(alpha) and alpha != 2.0  # d/dalpha diverges at 2 (clamped)
    check_grad(
        ops.robust_loss,
        x,
        np.array(alpha),
        np.array(1.3),
        wrt=[0, 1, 2] if finite else [0, 2],
        rtol=1e-6,
    )


def test_robust_loss_gradients_with_per_channel_alpha_and_scale():
    check_grad(
        ops.robust_loss,
        r(3, 4),
        np.array([-1.0, 0.0, 1.0, 2.5]),
        np.array([[0.5], [1.0], [2.0]]),
        rtol=1e-6,
    )


def test_robust_loss_alpha_gradient_is_continuous_at_zero_and_finite_at_two():
    x = np.array([0.2, 1.0, 4.0])

    def alpha_grad(a):
        alpha = svertka.Tensor(np.array(a), requires_grad=True)
        ops.robust_loss(x, alpha, 1.0).sum().backward()
        return alpha.grad.item()

    at_zero = alpha_grad(0.0)
    np.testing.assert_allclose([alpha_grad(-1e-9), alpha_grad(1e-9)], at_zero, rtol=1e-8)
    # the switch between the two rewritings at |alpha| = 1 is seamless too
    np.testing.assert_allclose(alpha_grad(np.nextafter(1.0, 0)), alpha_grad(1.0), rtol=1e-12)
    at_two = alpha_grad(2.0)
    assert np.isfinite(at_two) and at_two > alpha_grad(2 - 1e-3) > 0


def test_robust_loss_float32_stays_float32_and_accurate():
    x = r(50).astype(np.float32) * 3
    for alpha in (0.0, 1e-5, 1.0, 2.0 - 1e-3, 2.0):
        y = ops.robust_loss(x, alpha, 1.0)
        assert y.dtype == np.float32
        np.testing.assert_allclose(
            y.numpy(), ops.robust_loss(x.astype(np.float64), alpha, 1.0).numpy(), rtol=2e-6
        )


@pytest.mark.parametrize("fn", [ops.robust_loss, robust_loss_nll])
def test_robust_losses_reject_bad_arguments(fn):
    with pytest.raises(ValueError, match="'scale' must be positive"):
        fn(np.ones(3), 1.0, 0.0)
    with pytest.raises(ValueError, match="must broadcast together"):
        fn(np.ones((2, 3)), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="must broadcast together"):
        fn(np.ones(3), 1.0, np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        fn(np.ones(3), np.nan, 1.0)


# robust_loss_nll


@pytest.mark.parametrize("alpha, z", [(2.0, np.sqrt(2 * np.pi)), (0.0, np.sqrt(2) * np.pi)])
def test_partition_function_known_values(alpha, z):
    # at x = 0, rho = 0, so the NLL with scale 1 is log Z
    np.testing.assert_allclose(
        robust_loss_nll(np.zeros(1), alpha, 1.0).item(), np.log(z), rtol=1e-14
    )


@pytest.mark.parametrize("alpha", [0.3, 1.0, 1.9, 2.5, 4.0])
def test_partition_function_quadrature_matches_mpmath(alpha):
    # the direct integration, which the table is built from and checked against
    # (tests/test_losses_adaptive.py); the NLL at x = 0 reads the table: within 2e-8
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 20
    a = mp.mpf(alpha)
    z = mp.quad(lambda x: mp.exp(-barron(x, a, 1)), [-mp.inf, -10, -1, 0, 1, 10, mp.inf])
    log_z, _ = robust_log_partition_quad(np.array([alpha]))
    np.testing.assert_allclose(log_z[0], float(mp.log(z)), rtol=1e-12)
    np.testing.assert_allclose(
        robust_loss_nll(np.zeros(1), alpha, 1.0).item(), float(mp.log(z)), atol=2e-8
    )


@pytest.mark.parametrize("alpha, scale", [(0.5, 0.7), (1.0, 1.0), (2.0, 2.5)])
def test_nll_is_a_normalised_density(alpha, scale):
    x = np.linspace(-60, 60, 240001) * scale  # tails beyond carry < 1e-3 of the mass at 0.5
    p = np.exp(-robust_loss_nll(x, alpha, scale).numpy())
    np.testing.assert_allclose(np.trapezoid(p, x), 1.0, atol=2e-3)


@pytest.mark.parametrize("alpha", [0.01, 0.5, 1.0, 1.7, 1.99])
def test_nll_gradients(alpha):
    check_grad(
        robust_loss_nll, np.array([-1.5, 0.1, 0.9, 3.0]), np.array(alpha), np.array(0.8), rtol=1e-6
    )


def test_nll_gradients_with_per_element_alpha():
    check_grad(robust_loss_nll, r(2, 3), rng.uniform(0.1, 1.9, (2, 3)), np.array(1.2), rtol=1e-6)


def test_nll_alpha_gradient_prefers_the_data_shape():
    # Gaussian data pull alpha up towards 2; Cauchy-like data with outliers pull it down
    def alpha_grad(x):
        alpha = svertka.Tensor(np.array(1.0), requires_grad=True)
        robust_loss_nll(x, alpha, 1.0).sum().backward()
        return alpha.grad.item()

    assert alpha_grad(np.random.default_rng(0).standard_normal(2000)) < 0
    assert alpha_grad(np.random.default_rng(0).standard_cauchy(2000)) > 0


def test_nll_rejects_alpha_outside_0_4():
    for alpha in (-0.1, 4.1, np.inf):
        with pytest.raises(ValueError, match=r"'alpha' must lie in \[0, 4\]"):
            robust_loss_nll(np.ones(3), alpha, 1.0)
