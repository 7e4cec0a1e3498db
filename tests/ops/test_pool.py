import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.pool import pool2d_naive

rng = np.random.default_rng(7)
NOTES_MAP = np.array([[6, 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]], dtype=np.float64)
WINDOWED = [ops.max_pool2d, ops.avg_pool2d, ops.sum_pool2d, ops.min_pool2d]


def distinct(*shape):
    """Values at least 0.1 apart in random order: away from ties, where max/min have kinks."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def same_pads(size, pool, stride):
    """TF/Keras 'same' padding of one axis, written out independently of shapes.py."""
    total = max((-(-size // stride) - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


GRID = [
    # (H, W), pool_size, strides, padding
    ((4, 4), 2, None, "valid"),
    ((5, 5), 2, 2, "same"),
    ((5, 6), 3, 1, "valid"),
    ((5, 6), 3, 2, "same"),
    ((6, 5), (2, 3), (1, 2), "same"),
    ((7, 6), (3, 2), 3, "valid"),
    ((6, 7), 3, (3, 1), "same"),
    ((5, 4), 2, 1, 1),
]


@pytest.mark.parametrize("fn", WINDOWED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("size, pool, strides, padding", GRID)
def test_gradients(fn, size, pool, strides, padding):
    check_grad(lambda x: fn(x, pool, strides, padding), distinct(2, *size, 2))


@pytest.mark.parametrize(
    "fn", [ops.global_avg_pool2d, ops.global_max_pool2d], ids=lambda f: f.__name__
)
def test_global_gradients(fn):
    check_grad(fn, distinct(2, 3, 5, 4))


def torch_same_pad(t, size, pool, strides, value):
    """'same' padding in NCHW torch: F.pad takes (left, right, top, bottom)."""
    import torch.nn.functional as F

    (top, bottom), (left, right) = (same_pads(size[a], pool[a], strides[a]) for a in range(2))
    return F.pad(t, (left, right, top, bottom), value=value)


TORCH_GRID = [
    ((6, 6), (2, 2), (2, 2), "valid"),
    ((7, 5), (3, 3), (2, 2), "valid"),
    ((7, 6), (3, 2), (1, 2), "valid"),
    ((7, 5), (3, 3), (2, 2), "same"),
    ((6, 7), (2, 3), (3, 1), "same"),
    ((5, 6), (3, 3), (2, 1), 1),
]


@pytest.mark.parametrize("size, pool, strides, padding", TORCH_GRID)
def test_max_pool_matches_torch(size, pool, strides, padding):
    import torch.nn.functional as F

    def theirs(t):
        t = nhwc_to_nchw(t)
        if padding == "same":
            t = torch_same_pad(t, size, pool, strides, -float("inf"))
        pad = padding if isinstance(padding, int) else 0  # torch pads with -inf itself
        return nchw_to_nhwc(F.max_pool2d(t, pool, strides, pad))

    compare_torch(
        lambda x: ops.max_pool2d(x, pool, strides, padding),
        theirs,
        rng.standard_normal((2, *size, 3)),
    )


@pytest.mark.parametrize("size, pool, strides, padding", TORCH_GRID)
def test_avg_pool_matches_torch(size, pool, strides, padding):
    import torch
    import torch.nn.functional as F

    def theirs(t):
        t = nhwc_to_nchw(t)
        if padding != "same":
            pad = padding if isinstance(padding, int) else 0
            return nchw_to_nhwc(F.avg_pool2d(t, pool, strides, pad, count_include_pad=False))
        # asymmetric 'same': window sums over zero padding divided by input cells per window
        ones = torch.ones_like(t[:1, :1])
        sums, counts = (
            F.avg_pool2d(
                torch_same_pad(a, size, pool, strides, 0.0), pool, strides, divisor_override=1
            )
            for a in (t, ones)
        )
        return nchw_to_nhwc(sums / counts)

    compare_torch(
        lambda x: ops.avg_pool2d(x, pool, strides, padding),
        theirs,
        rng.standard_normal((2, *size, 3)),
    )


@pytest.mark.parametrize("size, pool, strides, padding", TORCH_GRID)
def test_min_and_sum_pool_match_torch(size, pool, strides, padding):
    import torch.nn.functional as F

    def pad(t, value):
        if padding == "same":
            return torch_same_pad(t, size, pool, strides, value), 0
        return t, (padding if isinstance(padding, int) else 0)

    def min_pool(t):
        t, p = pad(-nhwc_to_nchw(t), -float("inf"))
        return -nchw_to_nhwc(F.max_pool2d(t, pool, strides, p))

    def sum_pool(t):
        t, p = pad(nhwc_to_nchw(t), 0.0)
        return nchw_to_nhwc(F.avg_pool2d(t, pool, strides, p, divisor_override=1))

    x = rng.standard_normal((2, *size, 3))
    compare_torch(lambda x: ops.min_pool2d(x, pool, strides, padding), min_pool, x)
    compare_torch(lambda x: ops.sum_pool2d(x, pool, strides, padding), sum_pool, x)


def test_global_pools_match_torch():
    x = rng.standard_normal((3, 5, 4, 6))
    compare_torch(ops.global_avg_pool2d, lambda t: t.mean(dim=(1, 2)), x)
    compare_torch(ops.global_max_pool2d, lambda t: t.amax(dim=(1, 2)), x)


@pytest.mark.parametrize(
    "fn, mode",
    [(ops.sum_pool2d, "sum"), (ops.min_pool2d, "min"), (ops.avg_pool2d, "avg")],
    ids=["sum", "min", "avg"],
)
@pytest.mark.parametrize(
    "size, pool, strides",
    [((5, 7), (2, 2), (2, 2)), ((6, 5), (3, 2), (2, 1)), ((4, 4), (3, 3), (1, 1))],
)
def test_same_padding_matches_naive_loops(fn, mode, size, pool, strides):
    x = rng.standard_normal((2, *size, 3))
    pads = tuple(same_pads(size[a], pool[a], strides[a]) for a in range(2))
    y = fn(svertka.Tensor(x), pool, strides, "same")
    assert y.shape[1:3] == tuple(-(-size[a] // strides[a]) for a in range(2))
    y_ref, _ = pool2d_naive(x, pool, strides, pads, mode)
    np.testing.assert_allclose(y.numpy(), y_ref, atol=1e-12)


@pytest.mark.parametrize(
    "fn, expected",
    [
        (ops.max_pool2d, [[6, 6], [4, 4]]),
        (ops.avg_pool2d, [[5.25, 5.25], [3, 3]]),
        (ops.sum_pool2d, [[21, 21], [12, 12]]),
        (ops.min_pool2d, [[4, 4], [2, 2]]),
    ],
    ids=["max", "average", "sum", "min"],
)
def test_notes_example_map_2x2_stride_2(fn, expected):
    y = fn(svertka.Tensor(NOTES_MAP.reshape(1, 4, 4, 1)), (2, 2), strides=2)
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], expected)


@pytest.mark.parametrize(
    "fn", WINDOWED + [ops.global_avg_pool2d, ops.global_max_pool2d], ids=lambda f: f.__name__
)
def test_pooling_has_no_parameters(fn):
    # the only tensor the result depends on is the input: nothing to learn
    x = svertka.Tensor(distinct(1, 4, 4, 2), requires_grad=True)
    y = fn(x)
    assert len(y.creator.inputs) == 1 and y.creator.inputs[0] is x


@pytest.mark.parametrize(
    "size, pool, stride",
    [(4, 2, 2), (28, 2, 2), (14, 2, 2), (7, 3, 2), (9, 3, 3), (6, 2, 1), (8, 3, 1), (7, 2, 2)],
)
def test_output_size_is_I_minus_Ps_over_S_plus_1(size, pool, stride):
    y = ops.max_pool2d(np.zeros((1, size, size + 1, 1)), pool, stride)
    assert y.shape == (1, (size - pool) // stride + 1, (size + 1 - pool) // stride + 1, 1)


def test_strides_default_to_pool_size():
    x = distinct(1, 6, 9, 1)
    assert ops.max_pool2d(x, (2, 3)).shape == (1, 3, 3, 1)
    np.testing.assert_array_equal(ops.avg_pool2d(x, 3).numpy(), ops.avg_pool2d(x, 3, 3).numpy())


@pytest.mark.parametrize("fn", [ops.max_pool2d, ops.min_pool2d], ids=lambda f: f.__name__)
def test_ties_send_the_gradient_to_the_first_element(fn):
    x = svertka.Tensor(np.full((1, 4, 4, 1), 3.0), requires_grad=True)
    fn(x, 2).sum().backward()
    expected = np.tile([[1, 0], [0, 0]], (2, 2))  # top-left of every window
    np.testing.assert_array_equal(x.grad[0, :, :, 0], expected)


def test_global_max_tie_sends_the_gradient_to_the_first_pixel():
    x = svertka.Tensor(np.array([[1.0, 5.0], [5.0, 2.0]]).reshape(1, 2, 2, 1), requires_grad=True)
    ops.global_max_pool2d(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[0, 1], [0, 0]])


def test_overlapping_windows_accumulate_gradients():
    # the centre is the maximum of all four 2x2 windows of a 3x3 map, stride 1
    x = svertka.Tensor(
        np.array([[0, 1, 0], [2, 9, 3], [0, 4, 0]], float).reshape(1, 3, 3, 1), requires_grad=True
    )
    gy = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(1, 2, 2, 1)
    ops.max_pool2d(x, 2, strides=1).backward(gy)
    assert x.grad[0, 1, 1, 0] == 1111.0 and x.grad.sum() == 1111.0


def test_average_excludes_padded_cells_and_padding_never_wins():
    x = -np.ones((1, 3, 3, 1))
    # 'same' pads 3x3 to 4x4 at the bottom/right: with padding counted, corners would be -0.25
    np.testing.assert_array_equal(
        ops.avg_pool2d(x, 2, padding="same").numpy(), -np.ones((1, 2, 2, 1))
    )
    np.testing.assert_array_equal(
        ops.max_pool2d(x, 2, padding="same").numpy(), -np.ones((1, 2, 2, 1))
    )
    np.testing.assert_array_equal(
        ops.min_pool2d(-x, 2, padding="same").numpy(), np.ones((1, 2, 2, 1))
    )


@pytest.mark.parametrize(
    "fn", WINDOWED + [ops.global_avg_pool2d, ops.global_max_pool2d], ids=lambda f: f.__name__
)
def test_float32_stays_float32(fn):
    x = svertka.Tensor(distinct(2, 5, 5, 3).astype(np.float32), requires_grad=True)
    y = fn(x)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_mnist_model_shapes():
    x = svertka.Tensor(np.zeros((2, 28, 28, 32), np.float32))
    y = ops.max_pool2d(x, (2, 2), strides=2, padding="same")
    assert y.shape == (2, 14, 14, 32)
    assert ops.max_pool2d(np.zeros((2, 14, 14, 64), np.float32), 2).shape == (2, 7, 7, 64)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            dict(x=np.zeros((4, 4, 1))),
            ValueError,
            r"argument 'x' must be 4-D .* received shape \(4, 4, 1\)",
        ),
        (dict(pool_size=0), ValueError, r"argument 'pool_size' must be >= 1, received 0"),
        (dict(pool_size=(2, -1)), ValueError, r"argument 'pool_size' must be >= 1"),
        (dict(pool_size=2.0), TypeError, r"argument 'pool_size' must be an int or a pair"),
        (dict(pool_size=(2, 2, 2)), TypeError, r"argument 'pool_size'"),
        (dict(strides=0), ValueError, r"argument 'strides' must be >= 1"),
        (dict(strides="2"), TypeError, r"argument 'strides'"),
        (dict(padding="full"), ValueError, r"argument 'padding' must be 'valid', 'same'.*'full'"),
        (dict(padding=-1), ValueError, r"argument 'padding' must be >= 0"),
        (dict(padding=((0, -1), (0, 0))), ValueError, r"argument 'padding' must be >= 0"),
        (dict(padding=2), ValueError, r"argument 'padding' must be smaller than pool_size"),
        (dict(pool_size=6), ValueError, r"pool window spans 6 pixels along the height.*only 5"),
        (dict(pool_size=(2, 7), padding="valid"), ValueError, r"along the width"),
        (
            dict(x=np.zeros((1, 5, 5, 1), complex)),
            TypeError,
            r"argument 'x' must hold real numbers, received dtype complex128",
        ),
    ],
)
@pytest.mark.parametrize("fn", WINDOWED, ids=lambda f: f.__name__)
def test_bad_arguments_are_rejected(fn, kwargs, error, match):
    args = dict(x=np.zeros((1, 5, 6, 1)), pool_size=2, strides=None, padding="valid") | kwargs
    with pytest.raises(error, match=fn.__name__ + ": .*" + match):
        fn(**args)


@pytest.mark.parametrize(
    "fn", [ops.global_avg_pool2d, ops.global_max_pool2d], ids=lambda f: f.__name__
)
@pytest.mark.parametrize(
    "shape, match", [((3, 4), r"must be 4-D"), ((1, 0, 3, 2), r"must have H, W >= 1")]
)
def test_global_pools_reject_bad_shapes(fn, shape, match):
    with pytest.raises(ValueError, match=fn.__name__ + ": argument 'x' " + match):
        fn(np.zeros(shape))
