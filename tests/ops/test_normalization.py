"""local_response_norm, layer_norm, group_norm: float64 gradient checks of every input, PyTorch
as the oracle of forward and every gradient, the definitions, dtypes and argument errors."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.layer_norm import naive_normalize
from svertka.kernels.lrn import naive_local_response_norm

rng = np.random.default_rng(5)


def r(*shape):
    return rng.standard_normal(shape)


def channels_first(t):
    """Channels-last torch tensor (N, ..., C) -> (N, C, ...) for torch's normalisations."""
    return nhwc_to_nchw(t) if t.ndim == 4 else t.movedim(-1, 1)


def channels_last(t):
    return t.movedim(1, -1)


# local_response_norm

LRN_SHAPES = [(3, 5), (2, 6, 4), (2, 3, 3, 4), (1, 2, 2, 7)]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("shape", LRN_SHAPES)
def test_local_response_norm_gradients(shape, size):
    # alpha large enough that the cross-channel terms of the gradient matter
    check_grad(lambda x: ops.local_response_norm(x, size, 0.8, 0.75, 1.0), r(*shape) * 2)


@pytest.mark.parametrize("alpha, beta, k", [(1e-4, 0.75, 2.0), (2.0, 0.5, 0.5), (0.3, 1.7, 1.0)])
def test_local_response_norm_gradients_for_other_constants(alpha, beta, k):
    check_grad(lambda x: ops.local_response_norm(x, 4, alpha, beta, k), r(2, 2, 3, 6) * 3)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("shape", [(3, 5), (2, 7, 6), (2, 3, 4, 6), (1, 2, 2, 2, 5)])
def test_local_response_norm_matches_torch(shape, size):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def theirs(x):
        if x.ndim == 2:  # torch wants (N, C, ...) with at least one axis after C
            return F.local_response_norm(x[..., None], size, 0.5, 0.75, 1.5)[..., 0]
        return channels_last(F.local_response_norm(channels_first(x), size, 0.5, 0.75, 1.5))

    compare_torch(lambda x: ops.local_response_norm(x, size, 0.5, 0.75, 1.5), theirs,
                  r(*shape) * 2, atol=1e-10, rtol=1e-9)


def test_local_response_norm_alexnet_defaults_match_torch_with_k_2():
    torch = pytest.importorskip("torch")
    lrn = torch.nn.LocalResponseNorm(5, k=2.0)  # alpha 1e-4 and beta 0.75 are torch's too
    compare_torch(ops.local_response_norm, lambda x: channels_last(lrn(nhwc_to_nchw(x))),
                  r(2, 4, 4, 8) * 30, atol=1e-10, rtol=1e-9)


def test_local_response_norm_is_the_definition_and_differs_from_tensorflow_by_alpha():
    x = r(2, 3, 3, 9) * 2
    y = ops.local_response_norm(x, 5, 0.4, 0.75, 2.0).numpy()
    np.testing.assert_allclose(y, naive_local_response_norm(x, 5, 0.4, 0.75, 2.0), rtol=1e-13)
    # one channel by hand: the window of channel 0 is channels 0..2 (zeros before)
    d0 = 2.0 + 0.4 / 5 * (x[..., :3] ** 2).sum(axis=-1)
    np.testing.assert_allclose(y[..., 0], x[..., 0] / d0**0.75, rtol=1e-13)

    # tf.nn.local_response_normalization(x, depth_radius, bias, alpha, beta), by its docs:
    # sqr_sum over d - depth_radius .. d + depth_radius, alpha NOT divided by the window size
    def tf_lrn(x, depth_radius, bias, alpha, beta):
        c = x.shape[-1]
        sqr = np.stack([(x[..., max(0, i - depth_radius): i + depth_radius + 1] ** 2).sum(-1)
                        for i in range(c)], axis=-1)
        return x / (bias + alpha * sqr) ** beta

    radius, tf_alpha = 2, 0.08
    size = 2 * radius + 1
    ours = ops.local_response_norm(x, size, tf_alpha * size, 0.75, 2.0).numpy()
    np.testing.assert_allclose(ours, tf_lrn(x, radius, 2.0, tf_alpha, 0.75), rtol=1e-13)
    assert not np.allclose(ops.local_response_norm(x, size, tf_alpha, 0.75, 2.0).numpy(), ours)


def test_local_response_norm_even_size_reaches_further_back_than_forward():
    x = np.zeros((1, 6))
    x[0, 2] = 10.0  # one loud channel: which outputs does it damp?
    y = ops.local_response_norm(np.ones((1, 6)) + x, 4, 1.0, 1.0, 1.0).numpy()
    quiet = ops.local_response_norm(np.ones((1, 6)), 4, 1.0, 1.0, 1.0).numpy()
    damped = np.flatnonzero(~np.isclose(y, quiet)[0])
    # window(c) = c-2 .. c+1, so channel 2 lies in the windows of channels 1, 2, 3, 4
    assert damped.tolist() == [1, 2, 3, 4]


def test_local_response_norm_keeps_float32_and_casts_integers():
    x = svertka.Tensor(r(2, 3, 3, 5).astype(np.float32), requires_grad=True)
    y = ops.local_response_norm(x)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == x.grad.dtype == np.float32
    assert ops.local_response_norm(np.ones((2, 3), np.uint8)).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(size=0), ValueError, "local_response_norm: argument 'size' must be a positive int"),
        (dict(size=2.0), TypeError, "argument 'size' must be a positive int, received 2.0"),
        (dict(alpha=-1e-4), ValueError, "argument 'alpha' must be a finite number >= 0.0"),
        (dict(beta=float("nan")), ValueError, "argument 'beta' must be a finite number"),
        (dict(k=0.0), ValueError, "argument 'k' must be a finite number > 0.0, received 0.0"),
        (dict(k="2"), TypeError, "argument 'k'"),
        (dict(x=np.ones(4)), ValueError, r"argument 'x' must be a float array of rank >= 2"),
        (dict(x=np.ones((0, 3))), ValueError, "argument 'x' must not be empty"),
        (dict(x=np.ones((2, 3), complex)), TypeError, "argument 'x' must hold real numbers"),
    ],
)
def test_local_response_norm_rejects_bad_arguments(kwargs, error, message):
    args = dict(x=np.ones((2, 3)), size=5, alpha=1e-4, beta=0.75, k=2.0)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        ops.local_response_norm(**args)


# layer_norm

LN_CASES = [  # (shape, axis)
    ((4, 5), -1),
    ((3, 4), [1]),
    ((2, 3, 4), [1, 2]),
    ((2, 3, 2, 4), -1),
    ((2, 3, 2, 4), [1, 2, 3]),
    ((2, 3, 2, 4), [1, 3]),
    ((2, 3, 2, 4), [-3, -2]),
    ((3, 4), [0]),  # the op does not forbid the batch axis (the layer does)
]


def param_shape(shape, axis):
    axes = sorted(a % len(shape) for a in ([axis] if isinstance(axis, int) else axis))
    return tuple(shape[a] for a in axes)


@pytest.mark.parametrize("shape, axis", LN_CASES)
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
def test_layer_norm_gradients(shape, axis, affine):
    p = param_shape(shape, axis)
    gamma = r(*p) if affine[0] else None
    beta = r(*p) if affine[1] else None
    check_grad(lambda x, g, b: ops.layer_norm(x, g, b, axis, 1e-3), r(*shape) * 2 + 1, gamma, beta)


@pytest.mark.parametrize("shape, trailing", [((4, 6), 1), ((2, 3, 5), 2), ((2, 3, 4, 5), 1),
                                             ((2, 3, 4, 5), 3), ((2, 2, 3, 2, 3), 2)])
@pytest.mark.parametrize("epsilon", [1e-5, 1e-3])
def test_layer_norm_matches_torch_over_trailing_axes(shape, trailing, epsilon):
    torch = pytest.importorskip("torch")
    p = shape[-trailing:]
    axis = list(range(len(shape) - trailing, len(shape)))
    compare_torch(
        lambda x, g, b: ops.layer_norm(x, g, b, axis, epsilon),
        lambda x, g, b: torch.nn.functional.layer_norm(x, p, g, b, epsilon),
        r(*shape) * 3 + 2, r(*p), r(*p), atol=1e-10, rtol=1e-9,
    )


def test_layer_norm_without_parameters_matches_torch():
    torch = pytest.importorskip("torch")
    compare_torch(lambda x: ops.layer_norm(x, None, None, -1, 1e-5),
                  lambda x: torch.nn.functional.layer_norm(x, (7,), eps=1e-5),
                  r(3, 4, 7), atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("shape, axis", LN_CASES)
def test_layer_norm_values_and_gradients_are_its_definition(shape, axis):
    axes = tuple(sorted(a % len(shape) for a in ([axis] if isinstance(axis, int) else axis)))
    bshape = tuple(n if a in axes else 1 for a, n in enumerate(shape))
    x, gy = r(*shape) * 2 + 1, r(*shape)
    tensors = [svertka.Tensor(a, requires_grad=True)
               for a in (x, r(*param_shape(shape, axis)), r(*param_shape(shape, axis)))]
    y = ops.layer_norm(*tensors, axis, 1e-3)
    y.backward(gy)
    g, b = (t.numpy().reshape(bshape) for t in tensors[1:])
    want_y, want_gx = naive_normalize(x, axes, 1e-3, g, b, gy)
    np.testing.assert_allclose(y.numpy(), want_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tensors[0].grad, want_gx, rtol=1e-10, atol=1e-12)
    xhat = naive_normalize(x, axes, 1e-3)[0]
    others = tuple(a for a in range(len(shape)) if a not in axes)
    np.testing.assert_allclose(tensors[1].grad.reshape(bshape),
                               (gy * xhat).sum(axis=others, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(tensors[2].grad.reshape(bshape),
                               gy.sum(axis=others, keepdims=True), rtol=1e-10)


def test_layer_norm_is_exact_far_from_zero():
    x = 1e6 + r(4, 50)  # a large mean on a unit spread: the two-pass variance keeps it
    y = ops.layer_norm(x, None, None, -1, 1e-8).numpy()
    np.testing.assert_allclose(y, naive_normalize(x, (1,), 1e-8)[0], atol=1e-8)


def test_layer_norm_keeps_float32_and_learns_tensor_parameters():
    x = svertka.Tensor(r(2, 3, 4).astype(np.float32), requires_grad=True)
    gamma = svertka.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    beta = svertka.Tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    y = ops.layer_norm(x, gamma, beta, [1, 2])
    (y * y).sum().backward()
    assert y.dtype == x.grad.dtype == gamma.grad.dtype == beta.grad.dtype == np.float32
    assert ops.layer_norm(r(2, 3).astype(np.float32), np.ones(3), None).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(axis=3), ValueError, r"layer_norm: argument 'axis' must be an int or a non-empty "
                                   r"list of distinct ints in \[-3, 2\] for x of rank 3"),
        (dict(axis=[2, -1]), ValueError, "names an axis twice"),
        (dict(axis=[]), TypeError, "argument 'axis'"),
        (dict(axis=1.0), TypeError, "argument 'axis' must be an int"),
        (dict(axis=[1, "2"]), TypeError, "argument 'axis'"),
        (dict(gamma=np.ones(3)), ValueError,
         r"layer_norm: argument 'gamma' must have shape \(4,\) to match x of shape \(2, 3, 4\) "
         r"over axes \[2\], received \(3,\)"),
        (dict(axis=[1, 2], beta=np.ones(4)), ValueError, r"'beta' must have shape \(3, 4\)"),
        (dict(epsilon=0.0), ValueError, "argument 'epsilon' must be a finite number > 0.0"),
        (dict(x=np.ones((2, 0))), ValueError, "argument 'x' must not be empty"),
        (dict(x=np.ones((2, 3), complex)), TypeError, "argument 'x' must hold real numbers"),
    ],
)
def test_layer_norm_rejects_bad_arguments(kwargs, error, message):
    args = dict(x=np.ones((2, 3, 4)), gamma=None, beta=None, axis=-1, epsilon=1e-3)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        ops.layer_norm(**args)


# group_norm

GN_CASES = [  # (shape, groups)
    ((3, 6), 2),
    ((2, 5, 4), 2),
    ((2, 3, 3, 4), 1),
    ((2, 3, 3, 4), 2),
    ((2, 3, 3, 4), 4),
    ((2, 2, 3, 6), 3),
    ((1, 2, 2, 2, 4), 2),
]


@pytest.mark.parametrize("shape, groups", GN_CASES)
@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
def test_group_norm_gradients(shape, groups, affine):
    c = shape[-1]
    gamma = r(c) if affine[0] else None
    beta = r(c) if affine[1] else None
    check_grad(lambda x, g, b: ops.group_norm(x, groups, g, b, 1e-3), r(*shape) * 2 + 1,
               gamma, beta)


@pytest.mark.parametrize("shape, groups", GN_CASES + [((4, 8, 8, 32), 8), ((2, 4, 4, 6), 6)])
@pytest.mark.parametrize("epsilon", [1e-5, 1e-3])
def test_group_norm_matches_torch(shape, groups, epsilon):
    torch = pytest.importorskip("torch")
    c = shape[-1]

    def theirs(x, g, b):
        if x.ndim == 2:
            return torch.nn.functional.group_norm(x, groups, g, b, epsilon)
        y = torch.nn.functional.group_norm(channels_first(x), groups, g, b, epsilon)
        return channels_last(y)

    compare_torch(lambda x, g, b: ops.group_norm(x, groups, g, b, epsilon), theirs,
                  r(*shape) * 3 + 2, r(c), r(c), atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("shape, groups", GN_CASES)
def test_group_norm_values_and_gradients_are_its_definition(shape, groups):
    n, c = shape[0], shape[-1]
    x, gy, gamma, beta = r(*shape) * 2 + 1, r(*shape), r(c), r(c)
    xg = x.reshape(n, -1, groups, c // groups)  # (N, M, G, Cg)
    want_y, want_gx = naive_normalize(xg, (1, 3), 1e-3, gamma.reshape(groups, -1),
                                      beta.reshape(groups, -1), gy.reshape(xg.shape))
    tensors = [svertka.Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    y = ops.group_norm(*tensors[:1], groups, *tensors[1:], 1e-3)
    y.backward(gy)
    np.testing.assert_allclose(y.numpy(), want_y.reshape(shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tensors[0].grad, want_gx.reshape(shape), rtol=1e-10, atol=1e-12)
    xhat = naive_normalize(xg, (1, 3), 1e-3)[0].reshape(shape)
    axes = tuple(range(len(shape) - 1))
    np.testing.assert_allclose(tensors[1].grad, (gy * xhat).sum(axis=axes), rtol=1e-10)
    np.testing.assert_allclose(tensors[2].grad, gy.sum(axis=axes), rtol=1e-10)


def test_group_norm_extremes_are_layer_and_instance_norm():
    x, gamma, beta = r(2, 3, 3, 4), r(4), r(4)
    one = ops.group_norm(x, 1, gamma, beta).numpy()
    ln = ops.layer_norm(x, None, None, [1, 2, 3]).numpy() * gamma + beta
    np.testing.assert_allclose(one, ln, rtol=1e-12, atol=1e-12)
    per_channel = ops.group_norm(x, 4, None, None).numpy()
    np.testing.assert_allclose(per_channel, naive_normalize(x, (1, 2), 1e-3)[0], rtol=1e-12,
                               atol=1e-12)


def test_group_norm_statistics_are_per_sample_and_group():
    x = r(3, 4, 4, 6) * [1, 2, 3, 40, 50, 60] + [0, 1, 2, 100, 200, 300]
    y = ops.group_norm(x, 2, None, None, 1e-9).numpy().reshape(3, 16, 2, 3)
    np.testing.assert_allclose(y.mean(axis=(1, 3)), 0, atol=1e-10)
    np.testing.assert_allclose(y.std(axis=(1, 3)), 1, rtol=1e-7)
    # changing one sample leaves the others untouched: no statistics across the batch
    x2 = x.copy()
    x2[0] *= 5
    y2 = ops.group_norm(x2, 2, None, None, 1e-9).numpy().reshape(3, 16, 2, 3)
    np.testing.assert_array_equal(y2[1:], y[1:])


def test_group_norm_keeps_float32_and_takes_non_contiguous_input():
    x = svertka.Tensor(r(2, 3, 4, 8).astype(np.float32), requires_grad=True)
    gamma = svertka.Tensor(np.ones(8, np.float32), requires_grad=True)
    beta = svertka.Tensor(np.zeros(8, np.float32), requires_grad=True)
    y = ops.group_norm(x, 4, gamma, beta)
    (y * y).sum().backward()
    assert y.dtype == x.grad.dtype == gamma.grad.dtype == beta.grad.dtype == np.float32
    xt = r(2, 4, 3, 6).transpose(0, 2, 1, 3)  # (2, 3, 4, 6), not C-contiguous
    np.testing.assert_allclose(ops.group_norm(xt, 3, None, None).numpy(),
                               ops.group_norm(np.ascontiguousarray(xt), 3, None, None).numpy())


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(groups=4), ValueError, r"group_norm: argument 'groups' must divide the 6 channels "
                                     r"of x \(shape \(2, 3, 6\)\) into equal groups, received "
                                     r"groups=4"),
        (dict(groups=12), ValueError, "received groups=12"),
        (dict(groups=0), ValueError, "argument 'groups' must be a positive int"),
        (dict(groups=2.0), TypeError, "argument 'groups' must be a positive int"),
        (dict(gamma=np.ones(3)), ValueError,
         r"argument 'gamma' must have shape \(6,\) to match the 6 channels of x"),
        (dict(beta=np.ones((1, 6))), ValueError, r"argument 'beta' must have shape \(6,\)"),
        (dict(epsilon=-1.0), ValueError, "argument 'epsilon' must be a finite number > 0.0"),
        (dict(x=np.ones(6)), ValueError, "argument 'x' must be a float array of rank >= 2"),
    ],
)
def test_group_norm_rejects_bad_arguments(kwargs, error, message):
    args = dict(x=np.ones((2, 3, 6)), groups=2, gamma=None, beta=None, epsilon=1e-3)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        ops.group_norm(**args)
