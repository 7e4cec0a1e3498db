import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.norm import naive_batch_norm

rng = np.random.default_rng(3)


def r(*shape):
    return rng.standard_normal(shape)


# batch_norm


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 4), (3, 1, 1, 2)])
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients(shape, affine, training):
    c = shape[-1]
    gamma = r(c) if affine[0] else None
    beta = r(c) if affine[1] else None
    stats = rng.uniform(-1, 1, c), rng.uniform(0.5, 2, c)

    def fn(x, g, b):
        return ops.batch_norm(x, g, b, stats[0].copy(), stats[1].copy(), training)

    check_grad(fn, r(*shape) * 2 + 1, gamma, beta)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 5)])
@pytest.mark.parametrize("momentum, epsilon", [(0.99, 1e-3), (0.9, 1e-5), (0.0, 0.1)])
def test_batch_norm_training_matches_torch(shape, momentum, epsilon):
    torch = pytest.importorskip("torch")
    c = shape[-1]
    n = int(np.prod(shape[:-1]))
    start_mean, start_var = r(c), rng.uniform(0.5, 2, c)
    ours = start_mean.copy(), start_var.copy()
    theirs = torch.tensor(start_mean), torch.tensor(start_var)
    nchw = len(shape) == 4

    def torch_bn(x, g, b):
        x = nhwc_to_nchw(x) if nchw else x
        y = torch.nn.functional.batch_norm(
            x, *theirs, g, b, training=True, momentum=1 - momentum, eps=epsilon
        )
        return nchw_to_nhwc(y) if nchw else y

    compare_torch(
        lambda x, g, b: ops.batch_norm(x, g, b, *ours, True, momentum, epsilon),
        torch_bn,
        r(*shape) * 3 + 2,
        r(c),
        r(c),
    )
    np.testing.assert_allclose(ours[0], theirs[0].numpy(), rtol=1e-12)
    # torch moves towards the unbiased variance, Keras (and svertka) towards the biased one
    batch_var_torch = (theirs[1].numpy() - momentum * start_var) / (1 - momentum)
    batch_var_ours = (ours[1] - momentum * start_var) / (1 - momentum)
    if momentum < 1:
        np.testing.assert_allclose(batch_var_ours, batch_var_torch * (n - 1) / n, rtol=1e-10)


def test_batch_norm_inference_matches_torch():
    torch = pytest.importorskip("torch")
    mean, var = r(4), rng.uniform(0.5, 2, 4)
    compare_torch(
        lambda x, g, b: ops.batch_norm(x, g, b, mean.copy(), var.copy(), False, epsilon=1e-3),
        lambda x, g, b: nchw_to_nhwc(
            torch.nn.functional.batch_norm(
                nhwc_to_nchw(x),
                torch.tensor(mean),
                torch.tensor(var),
                g,
                b,
                training=False,
                eps=1e-3,
            )
        ),
        r(2, 3, 3, 4),
        r(4),
        r(4),
    )


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_values_and_gradients_are_its_definition(training):
    x, gy = r(3, 2, 2, 4) * 2 + 1, r(3, 2, 2, 4)
    params = [svertka.Tensor(a, requires_grad=True) for a in (x, r(4), r(4))]
    mean, var = r(4), rng.uniform(0.5, 2, 4)
    stats = {} if training else dict(mean=mean, var=var)  # training: the batch's own
    want = naive_batch_norm(x, params[1].numpy(), params[2].numpy(), 1e-3, gy, **stats)
    y = ops.batch_norm(*params, mean, var, training)
    y.backward(gy)
    np.testing.assert_allclose(y.numpy(), want[0], rtol=1e-12, atol=1e-12)
    for t, g in zip(params, want[3:]):
        np.testing.assert_allclose(t.grad, g, rtol=1e-10, atol=1e-12)


def test_batch_norm_training_updates_running_statistics_in_place():
    x = r(8, 2, 2, 3) * 2 + 5
    running_mean, running_var = np.ones(3), np.full(3, 2.0)
    mean_id = id(running_mean)
    y = ops.batch_norm(x, None, None, running_mean, running_var, training=True, momentum=0.8)
    batch_mean, batch_var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased variance
    np.testing.assert_allclose(running_mean, 0.8 * 1.0 + 0.2 * batch_mean)
    np.testing.assert_allclose(running_var, 0.8 * 2.0 + 0.2 * batch_var)
    assert id(running_mean) == mean_id
    want = naive_batch_norm(x, None, None, 1e-3)[0]  # with the batch's own statistics
    np.testing.assert_allclose(y.numpy(), want)


def test_batch_norm_inference_uses_running_statistics_and_leaves_them():
    x, gamma, beta = r(4, 3), r(3), r(3)
    mean, var = r(3), rng.uniform(0.5, 2, 3)
    saved = mean.copy(), var.copy()
    y = ops.batch_norm(x, gamma, beta, mean, var, training=False)
    want = naive_batch_norm(x, gamma, beta, 1e-3, mean=mean, var=var)[0]
    np.testing.assert_allclose(y.numpy(), want)
    np.testing.assert_array_equal(mean, saved[0])
    np.testing.assert_array_equal(var, saved[1])


def test_batch_norm_keeps_float32_and_learns_tensor_parameters():
    x = svertka.Tensor(r(4, 2, 2, 3).astype(np.float32), requires_grad=True)
    gamma = svertka.Tensor(np.ones(3, np.float32), requires_grad=True)
    beta = svertka.Tensor(np.zeros(3, np.float32), requires_grad=True)
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float64)
    for training in (True, False):
        y = ops.batch_norm(x, gamma, beta, mean, var, training)
        (y * y).sum().backward()
        assert y.dtype == x.grad.dtype == gamma.grad.dtype == beta.grad.dtype == np.float32
    assert mean.dtype == np.float32 and var.dtype == np.float64


def test_batch_norm_output_is_normalised_per_channel():
    x = r(50, 4, 4, 3) * [1.0, 10.0, 0.1] + [3.0, -2.0, 100.0]
    y = ops.batch_norm(x, None, None, None, None, training=True, epsilon=1e-8).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-10)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(gamma=np.ones(4)), ValueError, r"'gamma' must have shape \(3,\)"),
        (dict(beta=np.ones((1, 3))), ValueError, r"'beta' must have shape \(3,\)"),
        (dict(momentum=1.5), ValueError, r"'momentum' must be a finite number >= 0.0 and <= 1.0"),
        (dict(momentum=-0.1), ValueError, "'momentum'"),
        (dict(momentum=float("nan")), ValueError, "'momentum'"),
        (dict(momentum="0.9"), TypeError, "'momentum'"),
        (dict(epsilon=-1e-3), ValueError, "'epsilon' must be a finite number > 0.0"),
        (dict(epsilon=0.0), ValueError, "'epsilon' must be a finite number > 0.0"),
        (dict(epsilon=float("inf")), ValueError, "'epsilon'"),
        (dict(x=np.ones((2, 3), complex)), TypeError, "'x' must hold real numbers"),
        (
            dict(running_mean=np.zeros(2)),
            ValueError,
            r"'running_mean' must be a float array of shape \(3,\)",
        ),
        (dict(running_var=np.ones(3, np.int64)), ValueError, "'running_var'"),
        (dict(running_mean=svertka.Tensor(np.zeros(3))), TypeError, "updated in place"),
        (dict(running_var=[1.0, 1.0, 1.0]), TypeError, "updated in place"),
        (dict(training=False, running_mean=None), ValueError, "required when training=False"),
        (dict(x=np.ones(3)), ValueError, "rank >= 2"),
    ],
)
def test_batch_norm_rejects_bad_arguments(kwargs, error, message):
    args = dict(
        x=np.ones((2, 3)),
        gamma=None,
        beta=None,
        running_mean=np.zeros(3),
        running_var=np.ones(3),
        training=True,
    )
    args.update(kwargs)
    with pytest.raises(error, match=message):
        ops.batch_norm(**args)


# dropout


def test_dropout_same_seed_gives_same_mask():
    x = np.ones((10, 10))
    a = ops.dropout(x, 0.4, np.random.default_rng(11)).numpy()
    b = ops.dropout(x, 0.4, np.random.default_rng(11)).numpy()
    c = ops.dropout(x, 0.4, np.random.default_rng(12)).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_drops_rate_and_preserves_expected_value(rate):
    x = rng.uniform(1, 2, (200, 500))
    y = ops.dropout(x, rate, np.random.default_rng(0)).numpy()
    dropped = y == 0
    assert abs(dropped.mean() - rate) < 0.005  # 1e5 draws: std of the fraction < 0.0016
    np.testing.assert_allclose(y.mean(), x.mean(), rtol=0.01)
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - rate))


def test_dropout_gradient_is_mask_times_scale():
    x = svertka.Tensor(r(20, 30), requires_grad=True)
    y = ops.dropout(x, 0.25, np.random.default_rng(4))
    gy = r(20, 30)
    y.backward(gy)
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad, gy * kept / 0.75)
    check_grad(lambda x: ops.dropout(x, 0.3, np.random.default_rng(5)), r(4, 5))


@pytest.mark.parametrize("rate, training", [(0.5, False), (0.0, True)])
def test_dropout_identity_in_inference_or_at_rate_zero(rate, training):
    x = svertka.Tensor(r(3, 4), requires_grad=True)
    gen = np.random.default_rng(0)
    assert ops.dropout(x, rate, gen, training=training) is x
    assert gen.random() == np.random.default_rng(0).random()  # nothing was drawn


def test_dropout_keeps_float32():
    x = svertka.Tensor(np.ones((4, 4), np.float32), requires_grad=True)
    y = ops.dropout(x, 0.5, np.random.default_rng(0))
    y.sum().backward()
    assert y.dtype == x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "rate, gen, error, message",
    [
        (1.0, np.random.default_rng(), ValueError, r">= 0.0 and < 1.0, received 1.0"),
        (-0.1, np.random.default_rng(), ValueError, r">= 0.0 and < 1.0"),
        (1.5, np.random.default_rng(), ValueError, r">= 0.0 and < 1.0"),
        (float("nan"), np.random.default_rng(), ValueError, "'rate' must be a finite number"),
        ("0.5", np.random.default_rng(), TypeError, "'rate' must be a finite number"),
        (0.5, None, TypeError, "'rng' must be a numpy.random.Generator"),
        (0.5, np.random.RandomState(0), TypeError, "received RandomState"),
    ],
)
def test_dropout_rejects_bad_arguments(rate, gen, error, message):
    with pytest.raises(error, match=message):
        ops.dropout(np.ones(3), rate, gen)
