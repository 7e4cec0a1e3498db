"""Barron's adaptive robust loss: rho and its gradients against the paper's closed forms, the
tabulated partition function against direct integration, the NLL's gradients through Barron's
parametrisation, and AdaptiveRobustLoss learning alpha with a model."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import losses, ops
from svertka.kernels import losses as K
from svertka.layers import Dense
from svertka.losses import AdaptiveRobustLoss
from svertka.utils import set_random_seed

rng = np.random.default_rng(24)


# The paper's closed forms (Barron 2019, eq. 1 and its derivatives), valid away from alpha in
# {0, 2, +-inf}; s = (x/c)^2, b = |alpha - 2|, u = s/b + 1, sigma = sign(alpha - 2).
def rho(x, a, c):
    s, b = (x / c) ** 2, abs(a - 2)
    return b / a * ((s / b + 1) ** (a / 2) - 1)


def drho_dx(x, a, c):
    s, b = (x / c) ** 2, abs(a - 2)
    return x / c**2 * (s / b + 1) ** (a / 2 - 1)


def drho_dc(x, a, c):
    s, b = (x / c) ** 2, abs(a - 2)
    return -(x**2) / c**3 * (s / b + 1) ** (a / 2 - 1)


def drho_da(x, a, c):
    """By hand: d(b/a)/da = 2 sigma/a^2 (with db/da = sigma), du/da = -sigma s/b^2."""
    s, b, sigma = (x / c) ** 2, abs(a - 2), np.sign(a - 2)
    u = s / b + 1
    return (2 * sigma / a**2 * (u ** (a / 2) - 1)
            + b / a * u ** (a / 2) * (np.log(u) / 2 - a * sigma * s / (2 * b**2 * u)))


def grid():
    """Every residual against every (alpha, c) pair of the grid, as broadcast arrays."""
    x = np.array([-6.0, -1.7, -0.4, 0.05, 0.9, 3.0])[:, None, None]
    a = np.array([-8.0, -2.0, -0.5, 0.3, 0.5, 1.0, 1.5, 1.9, 2.5, 3.5])[None, :, None]
    c = np.array([0.3, 1.0, 2.5])[None, None, :]
    return np.broadcast_arrays(x, a, c)


def grads(fn, x, a, c):
    ts = [svertka.Tensor(v.copy(), requires_grad=True) for v in (x, a, c)]
    y = fn(*ts)
    y.sum().backward()  # every element has its own x, alpha, c: the sum's gradients are theirs
    return y.numpy(), [t.grad for t in ts]


# rho: the special cases and the closed forms


@pytest.mark.parametrize("alpha, expected, dexpected", [
    (2.0, lambda s: s / 2, lambda s: 1.0),                                  # L2
    (1.0, lambda s: np.sqrt(s + 1) - 1, lambda s: 1 / np.sqrt(s + 1)),      # pseudo-Huber
    (0.0, lambda s: np.log(s / 2 + 1), lambda s: 1 / (s / 2 + 1)),          # Cauchy
    (-np.inf, lambda s: -np.expm1(-s / 2), lambda s: np.exp(-s / 2)),       # Welsch
])
def test_rho_special_cases_and_their_x_gradients(alpha, expected, dexpected):
    x, c = np.linspace(-5, 5, 21), 1.3
    s = (x / c) ** 2
    y, (gx, _, gc) = grads(ops.robust_loss, x, np.full_like(x, alpha), np.full_like(x, c))
    np.testing.assert_allclose(y, expected(s), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(gx, x / c**2 * dexpected(s), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gc, -(x**2) / c**3 * dexpected(s), rtol=1e-12, atol=1e-15)


def test_rho_and_its_x_alpha_c_gradients_equal_the_papers_closed_forms_on_a_grid():
    x, a, c = grid()
    y, (gx, ga, gc) = grads(ops.robust_loss, x, a, c)
    np.testing.assert_allclose(y, rho(x, a, c), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gx, drho_dx(x, a, c), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gc, drho_dc(x, a, c), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ga, drho_da(x, a, c), rtol=1e-9, atol=1e-12)


def test_the_hand_derived_alpha_derivative_equals_central_differences_of_the_closed_form():
    x, a, c = grid()
    h = 1e-6
    numeric = (rho(x, a + h, c) - rho(x, a - h, c)) / (2 * h)
    np.testing.assert_allclose(drho_da(x, a, c), numeric, rtol=1e-6, atol=1e-9)


def test_rho_forward_and_gradients_equal_torch_autograd_of_the_closed_form():
    torch = pytest.importorskip("torch")

    def torch_rho(x, a, c):
        s, b = (x / c) ** 2, torch.abs(a - 2)
        return b / a * ((s / b + 1) ** (a / 2) - 1)

    compare_torch(ops.robust_loss, torch_rho, *grid(), rtol=1e-10, atol=1e-12)


# the partition function: the table against direct integration


def test_table_is_exact_at_its_nodes_and_built_once():
    table = K.robust_partition_table()
    assert K.robust_partition_table() is table  # cached for the process
    nodes, f, df = table
    assert nodes[0] == 0 and nodes[-1] == K.ROBUST_ALPHA_MAX and 2.0 in nodes
    assert np.all(np.diff(nodes) > 0)
    log_z, dlog_z = K.robust_log_partition(nodes)
    np.testing.assert_array_equal(log_z, f)
    np.testing.assert_allclose(dlog_z, df, rtol=1e-12, atol=1e-15)
    log_z, _ = K.robust_log_partition(np.array([0.0, 2.0]))
    np.testing.assert_allclose(np.exp(log_z), [np.sqrt(2) * np.pi, np.sqrt(2 * np.pi)],
                               rtol=1e-15)


def test_interpolated_log_partition_is_within_2e_8_of_direct_integration():
    a = np.concatenate([
        rng.uniform(0, K.ROBUST_ALPHA_MAX, 1500),
        10 ** rng.uniform(-9, -0.5, 200),  # towards 0, where log Z's derivatives are large
        2 + rng.choice([-1, 1], 400) * 10 ** rng.uniform(-9, -0.3, 400),  # its log kink at 2
    ])
    log_z, dlog_z = K.robust_log_partition(a)  # all in one vectorised call
    ref, dref = K.robust_log_partition_quad(a)
    np.testing.assert_allclose(log_z, ref, rtol=0, atol=2e-8)
    # the derivative diverges like log|a - 2| / 4 at 2 (clamped within 1.2e-7 of it)
    away = np.abs(a - 2) > 1e-6
    np.testing.assert_allclose(dlog_z[away], dref[away], rtol=0, atol=1e-5)


def test_log_partition_derivative_is_the_interpolants_own():
    a = rng.uniform(0.01, 3.99, 50)
    h = 1e-6
    numeric = (K.robust_log_partition(a + h)[0] - K.robust_log_partition(a - h)[0]) / (2 * h)
    np.testing.assert_allclose(K.robust_log_partition(a)[1], numeric, rtol=1e-7, atol=1e-8)


# the NLL


@pytest.mark.parametrize("alpha, logpdf", [
    (2.0, lambda x, c: -0.5 * (x / c) ** 2 - np.log(c) - 0.5 * np.log(2 * np.pi)),  # normal
    (0.0, lambda x, c: -np.log(np.pi * np.sqrt(2) * c * (1 + x**2 / (2 * c**2)))),  # Cauchy
])
def test_nll_special_cases_are_the_normal_and_cauchy_densities(alpha, logpdf):
    x = np.linspace(-7, 7, 29)
    for c in (0.4, 1.0, 3.0):
        np.testing.assert_allclose(ops.robust_loss_nll(x, alpha, c).numpy(), -logpdf(x, c),
                                   rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0, 4.0])
def test_nll_is_a_normalised_density_above_and_below_2(alpha):
    x = np.linspace(-100, 100, 200001)  # beyond, exp(-NLL) < 1e-11 at alpha = 0.5
    p = np.exp(-ops.robust_loss_nll(x, alpha, 0.8).numpy())
    np.testing.assert_allclose(np.trapezoid(p, x), 1.0, atol=1e-7)


def test_nll_gradients_with_one_alpha_and_scale_per_dimension():
    alphas = np.array([0.001, 0.4, 1.0, 1.7, 1.999, 2.6, 3.9])
    check_grad(ops.robust_loss_nll, rng.standard_normal((5, 7)) * 2, alphas,
               rng.uniform(0.3, 2.0, 7), rtol=1e-6)


@pytest.mark.parametrize("kwargs", [
    {},  # Barron's defaults: alpha in (0.001, 1.999), c > 1e-5
    {"alpha_lo": 0.5, "alpha_hi": 3.5, "alpha_init": 2.8, "scale_lo": 0.1, "scale_init": 0.7},
])
def test_nll_gradients_through_barrons_parametrisation(kwargs):
    loss = AdaptiveRobustLoss(num_dims=3, dtype="float64", reduction=None, **kwargs)

    def nll(x, latent_alpha, latent_scale):
        loss._latent_alpha, loss._latent_scale = latent_alpha, latent_scale
        return loss(np.zeros(x.shape), x)

    check_grad(nll, rng.standard_normal((4, 3)) * 2, rng.normal(0, 1.5, 3),
               rng.normal(0, 1.0, 3), rtol=1e-6)


def test_the_parametrisation_starts_at_the_initial_values_and_respects_the_bounds():
    loss = AdaptiveRobustLoss(num_dims=4, alpha_lo=0.2, alpha_hi=1.6, alpha_init=0.5,
                              scale_lo=0.01, scale_init=2.0)
    np.testing.assert_allclose(loss.alpha(), 0.5, rtol=1e-6)
    np.testing.assert_allclose(loss.scale(), 2.0, rtol=1e-6)
    np.testing.assert_allclose(AdaptiveRobustLoss(num_dims=1).alpha(), 1.0)  # the midpoint
    latent_alpha, latent_scale = loss.trainable_weights
    latent_alpha.data[...] = [-40.0, -3.0, 3.0, 40.0]
    latent_scale.data[...] = [-40.0, -1.0, 1.0, 40.0]
    a, c = loss.alpha(), loss.scale()
    assert np.all((a >= 0.2) & (a <= 1.6)) and np.all(np.diff(a) > 0)
    np.testing.assert_allclose(a[[0, 3]], [0.2, 1.6], rtol=1e-6)
    assert np.all(c >= np.float32(0.01)) and np.all(np.diff(c) > 0)
    np.testing.assert_allclose(c[0], 0.01, rtol=1e-6)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    expected = ops.robust_loss_nll(x, a, c).numpy().mean(axis=-1)
    loss.reduction = None
    np.testing.assert_allclose(loss(np.zeros_like(x), x).numpy(), expected, rtol=1e-5)


def test_equal_bounds_fix_alpha_and_scale_init_equal_to_scale_lo_fixes_the_scale():
    loss = AdaptiveRobustLoss(num_dims=2, alpha_lo=1.0, alpha_hi=1.0, scale_lo=0.5,
                              scale_init=0.5)
    assert loss.trainable_weights == []
    x = svertka.Tensor(np.array([[0.3, -2.0]]), requires_grad=True)
    value = loss(np.zeros((1, 2)), x)
    value.backward()
    np.testing.assert_allclose(value.item(), ops.robust_loss_nll(x.data, 1.0, 0.5).numpy().mean())
    assert x.grad is not None
    only_alpha = AdaptiveRobustLoss(num_dims=2, scale_lo=0.5, scale_init=0.5)
    assert [w.name for w in only_alpha.trainable_weights] == ["latent_alpha"]
    np.testing.assert_allclose(only_alpha.scale(), 0.5)


# the loss object


def test_num_dims_none_is_taken_from_the_first_y_pred_and_then_held():
    loss = AdaptiveRobustLoss()
    assert loss.trainable_weights == [] and not loss.built
    with pytest.raises(ValueError, match="no weights yet"):
        loss.alpha()
    y = svertka.Tensor(rng.standard_normal((8, 5)).astype(np.float32), requires_grad=True)
    loss(np.zeros((8, 5), np.float32), y).backward()
    assert loss.num_dims == 5 and [w.shape for w in loss.trainable_weights] == [(5,), (5,)]
    assert all(w.grad is not None for w in loss.trainable_weights)
    # fit collects the weights before the pass that made them: that pass's gradients were
    # never applied nor cleared, so the next call drops them
    loss(np.zeros((8, 5), np.float32), y)
    assert all(w.grad is None for w in loss.trainable_weights)
    with pytest.raises(ValueError, match=r"y_pred has 3 values in its last axis .* num_dims=5"):
        loss(np.zeros((8, 3)), np.ones((8, 3)))
    one = AdaptiveRobustLoss()
    assert one(np.zeros(6), np.ones(6, np.float32)).dtype == np.float32
    assert one.num_dims == 1


def test_sample_weights_weigh_each_samples_mean_over_dimensions():
    loss = AdaptiveRobustLoss(num_dims=2, alpha_init=0.7)
    y = rng.standard_normal((3, 2)).astype(np.float32)
    per_sample = AdaptiveRobustLoss(num_dims=2, alpha_init=0.7, reduction=None)(0 * y, y).numpy()
    weighted = loss(0 * y, y, sample_weight=np.array([1.0, 0.0, 2.0])).item()
    np.testing.assert_allclose(weighted, (per_sample[0] + 2 * per_sample[2]) / 3, rtol=1e-6)


def test_get_config_round_trip_keeps_the_learned_values():
    loss = AdaptiveRobustLoss(num_dims=3, alpha_lo=0.1, alpha_hi=3.0, alpha_init=2.0,
                              scale_lo=1e-3, scale_init=0.5, name="arl")
    loss.trainable_weights[0].data[...] = [0.5, -1.0, 2.0]
    loss.trainable_weights[1].data[...] = [0.1, 0.2, -0.3]
    config = losses.serialize(loss)
    assert config["class_name"] == "AdaptiveRobustLoss"
    back = losses.deserialize(config)
    assert back.get_config() == loss.get_config()
    np.testing.assert_array_equal(back.alpha(), loss.alpha())
    np.testing.assert_array_equal(back.scale(), loss.scale())
    unbuilt = AdaptiveRobustLoss.from_config(AdaptiveRobustLoss().get_config())
    assert not unbuilt.built and isinstance(losses.get("AdaptiveRobustLoss"), AdaptiveRobustLoss)
    with pytest.raises(ValueError, match="argument 'latent_alpha'.* must be 3 finite numbers"):
        AdaptiveRobustLoss(num_dims=3, latent_alpha=[0.0, 1.0])


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha_lo": 1.5, "alpha_hi": 1.0}, r"'alpha_hi' must be >= alpha_lo \(1.5\), received 1.0"),
    ({"alpha_lo": -0.1}, r"'alpha_lo' must be a finite number >= 0.0 and <= 4.0"),
    ({"alpha_hi": 4.5}, r"'alpha_hi' must be a finite number >= 0.0 and <= 4.0"),
    ({"alpha_init": 1.999}, r"'alpha_init' must lie in \(alpha_lo, alpha_hi\)"),
    ({"scale_lo": 0.0}, r"'scale_lo' must be a finite number > 0.0"),
    ({"scale_lo": -1.0}, r"'scale_lo' must be a finite number > 0.0"),
    ({"scale_init": 1e-6}, r"'scale_init' must be >= scale_lo \(1e-05\)"),
    ({"num_dims": 0}, r"'num_dims'"),
])
def test_bad_arguments_are_refused_with_their_names(kwargs, match):
    with pytest.raises(ValueError, match="AdaptiveRobustLoss: argument " + match):
        AdaptiveRobustLoss(**kwargs)


def test_a_saved_model_keeps_its_losss_learned_shape(tmp_path):
    set_random_seed(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x[:, :2] + rng.standard_normal((64, 2))).astype(np.float32)
    loss = AdaptiveRobustLoss()
    model = svertka.Sequential([Dense(2, input_shape=(3,))])
    model.compile(optimizer=svertka.optimizers.Adam(0.05), loss=loss)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert not np.allclose(loss.alpha(), 1.0)  # trained with the model
    model.save(tmp_path / "m.svk")
    back = svertka.load_model(tmp_path / "m.svk")
    assert isinstance(back.loss, AdaptiveRobustLoss)
    np.testing.assert_array_equal(back.loss.alpha(), loss.alpha())
    np.testing.assert_array_equal(back.loss.scale(), loss.scale())
    np.testing.assert_allclose(back.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)


# learning alpha


def _fit(noise, seed=0):
    """A linear model y = x W + noise (two outputs, 4096 samples) fitted with the adaptive
    loss; its alphas, scales and the largest error in W."""
    set_random_seed(seed)
    r = np.random.default_rng(seed)
    w = np.array([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]], np.float32)
    x = r.standard_normal((4096, 3)).astype(np.float32)
    y = (x @ w + noise(r, (4096, 2))).astype(np.float32)
    loss = AdaptiveRobustLoss()
    model = svertka.Sequential([Dense(2, input_shape=(3,))])
    # the likelihood is flat in alpha near 2 and its gradients there are small after the
    # large ones of the first steps: Adam's short second-moment memory (beta_2 = 0.9) keeps
    # the steps from shrinking with them (0.999 needs about 4 times the 150 steps)
    model.compile(optimizer=svertka.optimizers.Adam(0.1, beta_2=0.9), loss=loss)
    model.fit(x, y, batch_size=4096, epochs=150, verbose=0)
    return loss.alpha(), loss.scale(), np.abs(model.layers[0].get_weights()[0] - w).max()


def outliers(r, shape):
    """Gaussian noise (sd 0.3) with 20% of the values replaced by outliers in +-[5, 20]."""
    e = r.normal(0, 0.3, shape)
    bad = r.random(shape) < 0.2
    e[bad] = r.choice([-1, 1], bad.sum()) * r.uniform(5, 20, bad.sum())
    return e


def test_outliers_make_the_learned_alpha_robust():
    alpha, scale, w_error = _fit(outliers)
    assert alpha.mean() < 1 and np.all(alpha < 1)  # 0.0013 and 0.0013: near Cauchy
    assert w_error < 0.05  # 0.012: the outliers (variance ~35) hardly move the fit


def test_gaussian_noise_makes_the_learned_alpha_near_2_and_the_scale_its_sd():
    alpha, scale, w_error = _fit(lambda r, shape: r.normal(0, 0.5, shape))
    assert np.all(alpha > 1.8)  # 1.96 and 1.97
    np.testing.assert_allclose(scale, 0.5, rtol=0.15)  # at alpha = 2, c is the sd
    assert w_error < 0.05


@pytest.mark.parametrize("num_dims", [2, None])  # None: made for the output before fit
def test_a_crashed_run_resumes_with_the_losss_weights_bit_for_bit(tmp_path, num_dims):
    from svertka.callbacks import BackupAndRestore, Callback

    class Crash(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 5:
                raise RuntimeError("crash")

    r = np.random.default_rng(3)
    x = r.standard_normal((64, 3)).astype(np.float32)
    y = (x[:, :2] + outliers(r, (64, 2))).astype(np.float32)

    def run(callbacks):
        set_random_seed(1)
        loss = AdaptiveRobustLoss(num_dims=num_dims)  # the backup restores its weights too
        model = svertka.Sequential([Dense(2, input_shape=(3,))])
        model.compile(optimizer=svertka.optimizers.Adam(0.05), loss=loss)
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks)
        return model, loss

    reference, ref_loss = run([])
    with pytest.raises(RuntimeError, match="crash"):
        run([BackupAndRestore(tmp_path, save_freq=2), Crash()])
    resumed, loss = run([BackupAndRestore(tmp_path, save_freq=2)])
    np.testing.assert_array_equal(loss.alpha(), ref_loss.alpha())
    np.testing.assert_array_equal(loss.scale(), ref_loss.scale())
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
