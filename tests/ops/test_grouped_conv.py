import numpy as np
import pytest
from helpers import TORCH_MODE, check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.shapes import resolve_padding
from svertka.ops.conv import Conv2d, GroupedConv2d

rng = np.random.default_rng(5)

# x shape, (KH, KW), groups, filters, strides, dilation, padding, padding mode, bias
CASES = [
    ((1, 5, 5, 4), (3, 3), 2, 4, 1, 1, "valid", "zeros", True),
    ((1, 6, 6, 6), (3, 3), 3, 3, 1, 1, "same", "zeros", False),
    ((1, 7, 6, 4), (3, 3), 2, 6, 2, 1, "same", "zeros", True),
    ((1, 7, 7, 4), (3, 3), 4, 8, 1, 2, "same", "zeros", True),  # groups = C: depthwise
    ((2, 6, 5, 2), (2, 3), 2, 2, (2, 1), 1, (1, 2), "zeros", False),  # groups = C = filters
    ((1, 5, 6, 6), (3, 2), 3, 6, (1, 2), (2, 1), ((0, 2), (1, 0)), "zeros", True),
    ((2, 4, 5, 4), (1, 1), 2, 6, 1, 1, "valid", "zeros", True),
    ((1, 6, 6, 4), (3, 3), 2, 4, 1, 1, "same", "reflect", True),
    ((1, 5, 6, 4), (3, 3), 4, 4, 2, 1, 1, "circular", False),
    ((1, 5, 5, 6), (3, 3), 2, 2, 1, 1, 2, "replicate", True),
]
IDS = [f"c{c[0][3]}-k{c[1]}-g{c[2]}-f{c[3]}-s{c[4]}-d{c[5]}-{c[6]}-{c[7]}-b{c[8]}"
       .replace(" ", "") for c in CASES]


def arrays(x_shape, kernel, groups, filters, bias, dtype=np.float64):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((*kernel, x_shape[3] // groups, filters)).astype(dtype)
    return (x, w, rng.standard_normal(filters).astype(dtype)) if bias else (x, w)


def torch_grouped(kernel, groups, strides, dilation, padding, mode):
    """PyTorch's conv2d(groups=...), the padding resolved by svertka's rule (checked against
    TensorFlow's in tests/ops/test_conv.py) and filled by F.pad."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def fn(x, w, b=None):
        s, d = (v if isinstance(v, tuple) else (v, v) for v in (strides, dilation))
        (t, bottom), (l, r) = resolve_padding(padding, tuple(x.shape[1:3]), kernel, s, d)
        xt = F.pad(nhwc_to_nchw(x), (l, r, t, bottom), mode=TORCH_MODE[mode])
        y = F.conv2d(xt, w.permute(3, 2, 0, 1), b, stride=s, dilation=d, groups=groups)
        return nchw_to_nhwc(y)

    return fn


def ours(groups, strides, dilation, padding, mode):
    return lambda *a: ops.conv2d(*a, strides=strides, padding=padding, padding_mode=mode,
                                 dilation_rate=dilation, groups=groups)


@pytest.mark.parametrize(
    "x_shape, kernel, groups, filters, strides, dilation, padding, mode, bias", CASES, ids=IDS
)
def test_gradient_of_x_w_and_b(x_shape, kernel, groups, filters, strides, dilation, padding,
                               mode, bias):
    check_grad(ours(groups, strides, dilation, padding, mode),
               *arrays(x_shape, kernel, groups, filters, bias))


@pytest.mark.parametrize(
    "x_shape, kernel, groups, filters, strides, dilation, padding, mode, bias", CASES, ids=IDS
)
def test_matches_torch_conv2d_with_groups(x_shape, kernel, groups, filters, strides, dilation,
                                          padding, mode, bias):
    compare_torch(ours(groups, strides, dilation, padding, mode),
                  torch_grouped(kernel, groups, strides, dilation, padding, mode),
                  *arrays(x_shape, kernel, groups, filters, bias), atol=1e-10)


@pytest.mark.parametrize("groups", [2, 8])
def test_float32_groups_of_the_fast_kernels_match_torch(groups):
    """8 channels per group at stride 1 run Winograd inside each group; 1 runs depthwise."""
    compare_torch(ours(groups, 1, 1, "same", "zeros"),
                  torch_grouped((3, 3), groups, 1, 1, "same", "zeros"),
                  *arrays((3, 9, 10, 16), (3, 3), groups, 16, True, np.float32),
                  atol=2e-4, rtol=1e-4)


def test_groups_1_is_the_ungrouped_op_unchanged():
    x, w, b = (svertka.Tensor(a, requires_grad=True) for a in arrays((1, 5, 5, 4), (3, 3), 1,
                                                                     4, True))
    assert isinstance(ops.conv2d(x, w, b, groups=1).creator, Conv2d)
    assert isinstance(ops.conv2d(x, w.data[:, :, :2], b, groups=2).creator, GroupedConv2d)


def test_relu_of_a_grouped_convolution():
    x, w, b = arrays((1, 6, 6, 4), (3, 3), 2, 4, True)
    y = ops.conv2d(x, w, b, padding="same", groups=2, activation="relu").numpy()
    z = ops.conv2d(x, w, b, padding="same", groups=2).numpy()
    assert (z < 0).any()
    np.testing.assert_allclose(y, np.maximum(z, 0), atol=1e-12)


def test_each_group_sees_only_its_own_channels():
    x = np.zeros((1, 3, 3, 4))
    x[..., 2:] = 1.0  # only the second group's channels are non-zero
    y = ops.conv2d(x, np.ones((3, 3, 2, 6)), groups=2).numpy()[0, 0, 0]
    np.testing.assert_array_equal(y, [0, 0, 0, 18, 18, 18])


def test_float32_stays_float32_through_every_gradient():
    x, w, b = (svertka.Tensor(a, requires_grad=True)
               for a in arrays((2, 6, 6, 4), (3, 3), 2, 6, True, np.float32))
    y = ops.conv2d(x, w, b, strides=2, padding="same", groups=2)
    y.sum().backward()
    assert y.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


X = np.zeros((1, 5, 5, 6))


@pytest.mark.parametrize(
    "w_shape, groups, error, message",
    [
        ((3, 3, 2, 6), 4, ValueError,
         r"conv2d: argument 'groups' must divide the input channels: received groups=4, but x "
         r"of shape \(1, 5, 5, 6\) has 6 channels"),
        ((3, 3, 3, 5), 2, ValueError,
         r"conv2d: argument 'groups' must divide the filters: received groups=2, but w of "
         r"shape \(3, 3, 3, 5\) has 5 filters"),
        ((3, 3, 6, 6), 2, ValueError,
         r"conv2d: argument 'w' must have w.shape\[2\] == C // groups = 3 input channels per "
         r"group \(x of shape \(1, 5, 5, 6\), groups=2\), received w of shape \(3, 3, 6, 6\)"),
        ((3, 3, 6, 6), 0, ValueError, r"conv2d: argument 'groups' must be a positive int"),
        ((3, 3, 6, 6), 1.5, TypeError, r"conv2d: argument 'groups' must be a positive int"),
    ],
)
def test_rejects_bad_groups_with_the_op_and_argument_named(w_shape, groups, error, message):
    with pytest.raises(error, match=message):
        ops.conv2d(X, np.zeros(w_shape), groups=groups)
