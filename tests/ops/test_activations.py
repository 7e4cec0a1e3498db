import warnings

import numpy as np
import pytest
from helpers import check_grad, compare_torch

import svertka
from svertka import ops
from svertka.kernels.activations import naive_maxout
from svertka.ops.activations import ACTIVATIONS, get_activation, linear, swish

rng = np.random.default_rng(7)


def r(*shape, scale=2.0):
    return scale * rng.standard_normal(shape)


def away(x, kinks=(0.0,), margin=0.05):
    """Move entries lying within ``margin`` of a kink to ``2 * margin`` past it."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, 2 * margin, -2 * margin)
    return x


def grad_of(fn, x, gy=None):
    """(y, x.grad) for y = fn(x) and upstream gradient gy (ones by default)."""
    t = svertka.Tensor(x, requires_grad=True)
    y = fn(t)
    y.backward(np.ones(y.shape, y.dtype) if gy is None else gy)
    return y.numpy(), t.grad


ELEMENTWISE = [  # (name, fn, kinks to keep the gradient check away from)
    ("step", ops.step, (0.0,)),
    ("step_levels", lambda x: ops.step(x, 0.5, -2.0, 3.0), (0.5,)),
    ("linear_threshold", ops.linear_threshold, (-1.0, 1.0)),
    ("hard_linear_threshold", lambda x: ops.linear_threshold(x, 0.0, 1.0), (0.0, 1.0)),
    ("linear_threshold_wide", lambda x: ops.linear_threshold(x, -0.5, 2.5), (-0.5, 2.5)),
    ("sigmoid", ops.sigmoid, ()),
    ("tanh", ops.tanh, ()),
    ("relu", ops.relu, (0.0,)),
    ("leaky_relu", ops.leaky_relu, (0.0,)),
    ("leaky_relu_0.01", lambda x: ops.leaky_relu(x, alpha=0.01), (0.0,)),
    ("leaky_relu_1.5", lambda x: ops.leaky_relu(x, alpha=1.5), (0.0,)),
    ("elu", ops.elu, (0.0,)),
    ("elu_0.5", lambda x: ops.elu(x, alpha=0.5), (0.0,)),
    ("gelu", ops.gelu, ()),
    ("gelu_tanh", lambda x: ops.gelu(x, approximate=True), ()),
    ("softplus", ops.softplus, ()),
    ("softsign", ops.softsign, (0.0,)),
    ("swish", swish, ()),
    ("softmax", ops.softmax, ()),
    ("softmax_axis0", lambda x: ops.softmax(x, axis=0), ()),
    ("log_softmax", ops.log_softmax, ()),
    ("log_softmax_axis1", lambda x: ops.log_softmax(x, axis=1), ()),
    ("maxout_2", lambda x: ops.maxout(x, 2), ()),
    ("maxout_3", lambda x: ops.maxout(x, 3), ()),
    ("maxout_3_axis1", lambda x: ops.maxout(x, 3, axis=1), ()),
]


@pytest.mark.parametrize("name, fn, kinks", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
@pytest.mark.parametrize("shape", [(2, 6), (2, 3, 6)])
def test_gradient(name, fn, kinks, shape):
    check_grad(fn, away(r(*shape), kinks, margin=0.05))


@pytest.mark.parametrize("alpha_shape", [(4,), (), (3, 1), (1, 3, 1, 4), (2, 3, 3, 4)])
def test_prelu_gradient_for_x_and_alpha(alpha_shape):
    x = away(r(2, 3, 3, 4))
    alpha = 0.1 + 0.5 * rng.random(alpha_shape)
    check_grad(ops.prelu, x, alpha)


def test_maxout_gradient_away_from_ties():
    x = rng.permutation(24).reshape(2, 12) * 0.1  # distinct values: no ties
    check_grad(lambda t: ops.maxout(t, 4), x)


TORCH_CASES = [  # (name, ours, torch's; torch functions take torch tensors)
    ("sigmoid", ops.sigmoid, lambda t: t.sigmoid()),
    ("tanh", ops.tanh, lambda t: t.tanh()),
    ("relu", ops.relu, lambda t: t.relu()),
    ("leaky_relu", ops.leaky_relu, "leaky_relu:0.2"),
    ("leaky_relu_0.05", lambda x: ops.leaky_relu(x, 0.05), "leaky_relu:0.05"),
    ("elu", ops.elu, "elu:1.0"),
    ("elu_1.7", lambda x: ops.elu(x, alpha=1.7), "elu:1.7"),
    ("gelu", ops.gelu, "gelu:none"),
    ("gelu_tanh", lambda x: ops.gelu(x, approximate=True), "gelu:tanh"),
    ("softplus", ops.softplus, "softplus"),
    ("softsign", ops.softsign, "softsign"),
    ("swish", swish, "silu"),
    ("softmax", ops.softmax, "softmax:-1"),
    ("softmax_axis1", lambda x: ops.softmax(x, axis=1), "softmax:1"),
    ("log_softmax", ops.log_softmax, "log_softmax:-1"),
    ("log_softmax_axis0", lambda x: ops.log_softmax(x, axis=0), "log_softmax:0"),
    ("linear_threshold", ops.linear_threshold, "hardtanh:-1:1"),
    ("hard_linear_threshold", lambda x: ops.linear_threshold(x, 0.0, 1.0), "hardtanh:0:1"),
    ("linear_threshold_user", lambda x: ops.linear_threshold(x, -0.5, 2.5), "clamp:-0.5:2.5"),
    ("step", ops.step, "step:0:0:1"),
    ("step_levels", lambda x: ops.step(x, 0.5, -2.0, 3.0), "step:0.5:-2:3"),
    ("step_negative_threshold", lambda x: ops.step(x, -1.5, 0.25, 0.75), "step:-1.5:0.25:0.75"),
]


def _torch_fn(spec):
    if callable(spec):
        return spec
    import torch.nn.functional as F

    name, *args = spec.split(":")
    if name == "gelu":
        return lambda t: F.gelu(t, approximate=args[0])
    args = [float(a) for a in args]
    if name == "step":  # torch.where's gradient to t is zero, as the step's: the 0 * t says so
        import torch

        return lambda t: torch.where(t > args[0], args[2], args[1]).to(t.dtype) + 0 * t
    return {
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=args[0]),
        "elu": lambda t: F.elu(t, alpha=args[0]),
        "softplus": F.softplus,
        "softsign": F.softsign,
        "silu": F.silu,
        "softmax": lambda t: F.softmax(t, dim=int(args[0])),
        "log_softmax": lambda t: F.log_softmax(t, dim=int(args[0])),
        "hardtanh": lambda t: F.hardtanh(t, min_val=args[0], max_val=args[1]),
        "clamp": lambda t: t.clamp(args[0], args[1]),
    }[name]


@pytest.mark.parametrize("name, ours, theirs", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(name, ours, theirs):
    pytest.importorskip("torch")
    x = away(r(3, 4, 5, scale=3.0), (-1.0, 0.0, 1.0))
    compare_torch(ours, _torch_fn(theirs), x)


def test_prelu_per_channel_matches_torch():
    torch = pytest.importorskip("torch")
    from helpers import nchw_to_nhwc, nhwc_to_nchw

    x, alpha = away(r(2, 3, 3, 4)), rng.random(4)
    compare_torch(
        ops.prelu,
        lambda t, a: nchw_to_nhwc(torch.nn.functional.prelu(nhwc_to_nchw(t), a)),
        x,
        alpha,
    )


def test_step_forward_and_zero_gradient():
    x = np.array([-3.0, -1e-12, 0.0, 1e-12, 2.0])
    y, gx = grad_of(ops.step, x, gy=np.arange(1.0, 6.0))
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1])  # step(0) = 0
    np.testing.assert_array_equal(gx, np.zeros(5))


@pytest.mark.parametrize(
    "shape, pieces, axis",
    [((2, 6), 2, -1), ((2, 3, 3, 12), 3, -1), ((8,), 4, -1), ((3, 5), 1, -1), ((2, 4), 4, -1),
     ((2, 6, 3, 3), 3, 1), ((4, 3, 2), 2, 0), ((2, 4, 6, 3), 2, -2)],
)
def test_maxout_matches_naive_reference(shape, pieces, axis):
    x = np.round(r(*shape), 0)  # rounding makes ties: the gradient must go to the first
    y_shape = list(shape)
    y_shape[axis] //= pieces
    gy = r(*y_shape)
    y, gx = grad_of(lambda t: ops.maxout(t, pieces, axis=axis), x, gy)
    y_ref, gx_ref = naive_maxout(x, pieces, gy, axis=axis)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)


@pytest.mark.parametrize("pieces", [2, 3, 4])
@pytest.mark.parametrize("axis", [-1, 1])
def test_maxout_gradient_on_feature_maps(pieces, axis):
    """float64 central differences on (N, H, W, C * pieces) maps (and channels-first (N,
    C * pieces, H, W) with axis=1): every element checked, distinct values (no ties)."""
    shape = (2, 3, 3, 2 * pieces) if axis == -1 else (2, 2 * pieces, 3, 3)
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1
    check_grad(lambda t: ops.maxout(t, pieces, axis=axis), x)


def _torch_maxout(pieces, axis):
    """PyTorch's maxout over consecutive channels: split the channel axis into (C, pieces),
    keep the maximum over the pieces with ``max(dim)`` (its gradient to the first tie)."""
    return lambda t: t.unflatten(axis, (-1, pieces)).max(axis + 1 if axis >= 0 else -1).values


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(
    "shape, pieces, axis",
    [((2, 4, 4, 6), 2, -1), ((2, 4, 4, 12), 3, -1), ((3, 8), 4, -1), ((2, 6, 4, 4), 3, 1)],
)
def test_maxout_matches_torch_forward_and_gradient(shape, pieces, axis, ties):
    pytest.importorskip("torch")
    x = r(*shape)
    if ties:  # integers: many tied maxima, each gradient must go to the first piece only
        x = np.round(x)
    compare_torch(lambda t: ops.maxout(t, pieces, axis=axis), _torch_maxout(pieces, axis), x,
                  atol=0, rtol=0)


def test_maxout_tie_sends_gradient_to_first_piece():
    _, gx = grad_of(lambda t: ops.maxout(t, 3), np.array([2.0, 5.0, 5.0, 1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(gx, [0, 1, 0, 1, 0, 0])
    x = np.zeros((1, 2, 2, 6))  # every pixel's pieces all tied: gradient to piece 0 only
    _, gx = grad_of(lambda t: ops.maxout(t, 3), x, gy=np.full((1, 2, 2, 2), 2.0))
    np.testing.assert_array_equal(gx, np.tile([2.0, 0, 0, 2.0, 0, 0], (1, 2, 2, 1)))


def test_maxout_nan_group_gives_nan_and_its_gradient_goes_to_the_first_nan():
    x = np.array([[1.0, np.nan, 3.0, np.nan, 2.0, 0.0]])
    y, gx = grad_of(lambda t: ops.maxout(t, 3), x, gy=np.array([[5.0, 7.0]]))
    y_ref, gx_ref = naive_maxout(x, 3, np.array([[5.0, 7.0]]))
    np.testing.assert_array_equal(y, [[np.nan, np.nan]])
    np.testing.assert_array_equal(gx, [[0, 5.0, 0, 7.0, 0, 0]])
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(gx, gx_ref)


def test_maxout_groups_consecutive_channels_at_each_pixel():
    x = np.zeros((1, 1, 2, 6))
    x[0, 0, 0] = [1, 9, 2, 3, 8, 4]  # pixel 0: units (1, 9, 2) and (3, 8, 4)
    x[0, 0, 1] = [7, 0, 0, 0, 0, 5]
    np.testing.assert_array_equal(ops.maxout(x, 3).numpy(), [[[[9, 8], [7, 5]]]])
    np.testing.assert_array_equal(ops.maxout(x, 2).numpy(), [[[[9, 3, 8], [7, 0, 5]]]])


@pytest.mark.parametrize(
    "threshold, low, high", [(0.0, 0.0, 1.0), (0.5, -1.0, 1.0), (-2.0, 0.1, 0.3), (3.0, -5.0, 2.5)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_levels_threshold_point_and_zero_gradient(threshold, low, high, dtype):
    tiny = np.finfo(dtype).eps * 8 * max(1.0, abs(threshold))
    x = np.array([threshold - 3, threshold - tiny, threshold, threshold + tiny, threshold + 3,
                  np.nan], dtype)
    y, gx = grad_of(lambda t: ops.step(t, threshold, low, high), x, gy=np.arange(1.0, 7.0,
                                                                               dtype=dtype))
    # high strictly above the threshold; low at it (the notes' "Y > threshold"), and for NaN
    expected = np.array([low, low, low, high, high, low], dtype)
    assert y.dtype == dtype and gx.dtype == dtype
    np.testing.assert_array_equal(y, expected)  # exact levels: 0.1 and 0.3 are not rounded
    np.testing.assert_array_equal(gx, np.zeros(6))


def test_step_gradient_check_is_exactly_zero():
    x = away(r(3, 4, 5), (0.5,), margin=0.05)
    check_grad(lambda t: ops.step(t, 0.5, -1.0, 2.0), x)  # central differences: 0 too
    _, gx = grad_of(lambda t: ops.step(t, 0.5, -1.0, 2.0), x, gy=r(3, 4, 5))
    assert not gx.any()


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (0.0, 1.0), (-0.5, 2.0), (2.0, 7.0)])
def test_linear_threshold_slopes_are_one_inside_and_zero_outside(low, high):
    x = np.linspace(low - 2, high + 2, 57)
    x = np.concatenate([x, [low, high]])  # the two kinks: slope 0, as PyTorch's hardtanh
    y, g = grad_of(lambda t: ops.linear_threshold(t, low, high), x)
    np.testing.assert_array_equal(y, np.clip(x, low, high))
    np.testing.assert_array_equal(g, ((x > low) & (x < high)).astype(float))
    check_grad(lambda t: ops.linear_threshold(t, low, high), away(x[:-2], (low, high)))


LARGE = np.array([-1e30, -1000.0, -100.0, -30.0, -1.0, 0.0, 0.5, 1.0, 30.0, 100.0, 1000.0, 1e30])
ALL_FNS = [(name, fn) for name, fn, _ in ELEMENTWISE] + [
    ("prelu", lambda x: ops.prelu(x, np.asarray(0.25, x.dtype)))
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, fn", ALL_FNS, ids=[f[0] for f in ALL_FNS])
def test_large_inputs_are_finite_and_raise_nothing(name, fn, dtype):
    x = np.stack([LARGE, LARGE[::-1]]).astype(dtype)  # (2, 12): maxout's 2 and 3 divide it
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y, gx = grad_of(fn, x)
    assert y.dtype == dtype and gx.dtype == dtype
    assert np.isfinite(y).all() and np.isfinite(gx).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturation_values_at_large_inputs(dtype):
    x = np.array([-1000.0, 1000.0], dtype)
    tiny = 1e-30
    np.testing.assert_allclose(ops.sigmoid(x).numpy(), [0, 1], atol=tiny)
    np.testing.assert_array_equal(ops.tanh(x).numpy(), [-1, 1])
    np.testing.assert_array_equal(ops.softplus(x).numpy(), [0, 1000])
    np.testing.assert_allclose(ops.softsign(x).numpy(), np.array([-1000, 1000]) / 1001, rtol=1e-6)
    np.testing.assert_array_equal(ops.elu(x).numpy(), [-1, 1000])
    np.testing.assert_allclose(ops.gelu(x).numpy(), [0, 1000], atol=tiny)
    np.testing.assert_allclose(ops.gelu(x, approximate=True).numpy(), [0, 1000], atol=tiny)
    np.testing.assert_allclose(ops.softmax(x).numpy(), [0, 1], atol=tiny)
    np.testing.assert_array_equal(ops.log_softmax(x).numpy(), [-2000, 0])
    _, g = grad_of(ops.sigmoid, x)
    np.testing.assert_allclose(g, [0, 0], atol=tiny)


def test_derivative_identities_of_the_notes():
    x = np.linspace(-6, 6, 41)
    f, g = grad_of(ops.sigmoid, x)
    np.testing.assert_allclose(g, f * (1 - f), rtol=1e-12)
    np.testing.assert_allclose(g, np.exp(-x) / (1 + np.exp(-x)) ** 2, rtol=1e-12)
    f, g = grad_of(ops.tanh, x)
    np.testing.assert_allclose(g, 1 - f**2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g, 1 / np.cosh(x) ** 2, rtol=1e-10)
    _, g = grad_of(ops.softplus, x)
    np.testing.assert_allclose(g, ops.sigmoid(x).numpy(), rtol=1e-12)
    _, g = grad_of(ops.softsign, x)
    np.testing.assert_allclose(g, 1 / (1 + np.abs(x)) ** 2, rtol=1e-12)
    f, g = grad_of(ops.gelu, x)
    phi_cdf = f[x != 0] / x[x != 0]
    np.testing.assert_allclose(
        g[x != 0],
        phi_cdf + x[x != 0] * np.exp(-(x[x != 0] ** 2) / 2) / np.sqrt(2 * np.pi),
        rtol=1e-12,
    )


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_elu_range_and_slope(alpha):
    x = np.linspace(-50, 5, 111)
    y, g = grad_of(lambda t: ops.elu(t, alpha=alpha), x)
    assert y.min() >= -alpha and np.isclose(y.min(), -alpha)
    neg = x <= 0
    np.testing.assert_allclose(g[neg], y[neg] + alpha, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(g[~neg], 1.0)


def test_leaky_relu_default_slope_is_keras_3s_0_2_and_the_layers_0_3():
    """As Keras 3: keras.ops.leaky_relu and activation="leaky_relu" use 0.2, the LeakyReLU
    layer 0.3 (svertka used 0.3 for the name too)."""
    y, g = grad_of(ops.leaky_relu, np.array([-2.0, 3.0]))
    np.testing.assert_allclose(y, [-0.4, 3.0])
    np.testing.assert_allclose(g, [0.2, 1.0])
    x = np.array([[-1.0]])
    named = svertka.layers.Activation("leaky_relu")(x).numpy()
    assert named.tolist() == [[pytest.approx(-0.2)]]
    assert svertka.layers.LeakyReLU()(x).numpy().tolist() == [[pytest.approx(-0.3)]]


def test_linear_threshold_kinks_have_zero_gradient():
    y, g = grad_of(ops.linear_threshold, np.array([-2.0, -1.0, 0.3, 1.0, 2.0]))
    np.testing.assert_array_equal(y, [-1.0, -1.0, 0.3, 1.0, 1.0])
    np.testing.assert_array_equal(g, [0, 0, 1, 0, 0])


def test_relu_gradient_at_zero_is_zero():
    _, g = grad_of(ops.relu, np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(g, [0, 0, 1])


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log():
    x = r(3, 5, scale=10.0)
    y = ops.softmax(x, axis=0).numpy()
    np.testing.assert_allclose(y.sum(axis=0), 1.0)
    np.testing.assert_allclose(ops.log_softmax(x, axis=0).numpy(), np.log(y), atol=1e-12)


@pytest.mark.parametrize("name, fn", ALL_FNS, ids=[f[0] for f in ALL_FNS])
def test_float32_stays_float32_and_inputs_are_untouched(name, fn):
    x = away(r(2, 6)).astype(np.float32)
    gy_shape = fn(svertka.Tensor(x)).shape
    gy = r(*gy_shape).astype(np.float32)
    x0, gy0 = x.copy(), gy.copy()
    y, gx = grad_of(fn, x, gy)
    assert y.dtype == np.float32 and gx.dtype == np.float32
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(gy, gy0)


def test_prelu_alpha_gradient_is_summed_per_channel():
    x = np.array([[-1.0, 2.0], [-3.0, -4.0]])
    xt, at = (
        svertka.Tensor(x, requires_grad=True),
        svertka.Tensor(np.array([0.1, 0.2]), requires_grad=True),
    )
    ops.prelu(xt, at).sum().backward()
    np.testing.assert_allclose(at.grad, [-4.0, -4.0])
    np.testing.assert_allclose(xt.grad, [[0.1, 1.0], [0.1, 0.2]])


def test_get_activation_names_callables_and_none():
    assert set(ACTIVATIONS) == {
        "step",
        "linear_threshold",
        "sigmoid",
        "tanh",
        "relu",
        "swish",
        "silu",
        "leaky_relu",
        "elu",
        "gelu",
        "softplus",
        "softsign",
        "softmax",
        "log_softmax",
        "linear",
    }
    for name, fn in ACTIVATIONS.items():
        assert get_activation(name) is fn
    assert get_activation("relu") is ops.relu
    assert get_activation(None) is linear
    x = svertka.Tensor([1.0, -2.0])
    np.testing.assert_array_equal(get_activation("linear")(x).numpy(), [1.0, -2.0])
    custom = lambda t: t * 2  # noqa: E731
    assert get_activation(custom) is custom


def test_get_activation_errors():
    with pytest.raises(
        ValueError,
        match=r"get_activation: argument 'name' must be one of "
        r"\[.*'relu'.*\], received 'foo'",
    ):
        get_activation("foo")
    for name in ("prelu", "maxout"):
        with pytest.raises(ValueError, match=f"get_activation: '{name}' .*needs"):
            get_activation(name)
    with pytest.raises(TypeError, match="get_activation: .*received int"):
        get_activation(5)


def test_argument_errors():
    x = svertka.Tensor(np.ones((2, 3, 3, 4)))
    with pytest.raises(ValueError, match="prelu: argument 'alpha' must broadcast.*\\(3,\\)"):
        ops.prelu(x, svertka.Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="prelu: argument 'alpha'"):
        ops.prelu(x, svertka.Tensor(np.ones((5, 2, 3, 3, 4))))
    with pytest.raises(ValueError, match="maxout: .*divisible by pieces=3.*\\(2, 3, 3, 4\\)"):
        ops.maxout(x, 3)
    with pytest.raises(ValueError, match="maxout: argument 'pieces'"):
        ops.maxout(x, 0)
    with pytest.raises(ValueError, match=r"maxout: axis 1 of argument 'x' must have a length "
                                         r"divisible by pieces=2, received shape \(2, 3, 3, 4\)"):
        ops.maxout(x, 2, axis=1)
    with pytest.raises(ValueError, match=r"maxout: argument 'axis' must be in \[-4, 4\)"):
        ops.maxout(x, 2, axis=4)
    with pytest.raises(ValueError, match="maxout: argument 'x' must have an axis of channels"):
        ops.maxout(np.float64(3.0), 1)
    for kwargs, name in [(dict(threshold=float("nan")), "threshold"),
                         (dict(low=-float("inf")), "low"), (dict(high=float("inf")), "high")]:
        with pytest.raises(ValueError, match=f"step: argument '{name}' must be a finite "
                                             f"number, received"):
            ops.step(x, **kwargs)
    with pytest.raises(TypeError, match="step: argument 'high' must be a finite number, "
                                        "received '1'"):
        ops.step(x, high="1")
    with pytest.raises(ValueError, match=r"step: argument 'low' must be below 'high', "
                                         r"received low=1.0, high=1.0"):
        ops.step(x, low=1.0)
    with pytest.raises(ValueError, match=r"step: argument 'low' must be below 'high', "
                                         r"received low=2.0, high=-1.0"):
        ops.step(x, 0.0, 2.0, -1.0)
    with pytest.raises(ValueError, match="softmax: argument 'axis' must be in \\[-4, 4\\)"):
        ops.softmax(x, axis=4)
    with pytest.raises(TypeError, match="log_softmax: argument 'axis' must be an int"):
        ops.log_softmax(x, axis=1.0)
    with pytest.raises(ValueError, match="linear_threshold: .*min_value=1.0, max_value=1.0"):
        ops.linear_threshold(x, 1.0, 1.0)
    with pytest.raises(TypeError, match="leaky_relu: argument 'alpha' must be a finite number"):
        ops.leaky_relu(x, alpha="0.3")
    with pytest.raises(TypeError, match="relu: argument 'x' must hold real numbers, received "
                                        "dtype complex128"):
        ops.relu(np.zeros(3, complex))
    y = ops.relu(np.array([-1, 2], np.int64))  # integers compute in float32
    assert y.dtype == np.float32 and y.numpy().tolist() == [0.0, 2.0]
