"""The fused convolution + max-pool op for training (svertka.ops.conv_pool): numerical
gradients, PyTorch as the oracle, and what it refuses. Below 8 input channels it runs the
direct loop (no input gradient), from 8 Winograd (every gradient)."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka.kernels import jit
from svertka.ops.conv_pool import conv2d_maxpool

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="Numba is not installed")
rng = np.random.default_rng(8)

# x shape, pads, C_out: the notes' first layer ('same', one channel), RGB with odd outputs
# whose last row/column the pooling drops, uneven padding, no padding; then 8 and more
# channels (Winograd), odd and uneven too
CASES = [
    ((2, 6, 6, 1), ((1, 1), (1, 1)), 4),
    ((2, 7, 9, 3), ((1, 1), (1, 1)), 3),
    ((1, 8, 7, 2), ((0, 2), (1, 0)), 2),
    ((2, 6, 7, 5), ((0, 0), (0, 0)), 3),
    ((2, 6, 6, 8), ((1, 1), (1, 1)), 3),
    ((1, 7, 5, 9), ((0, 1), (2, 0)), 2),
]


def differentiable(shape, bias):
    """Which of (x, w, b) get a gradient: x only where the op computes one (8+ channels)."""
    return ([0] if shape[3] >= 8 else []) + [1] + ([2] if bias else [])


@pytest.mark.parametrize("shape, pads, c_out", CASES)
@pytest.mark.parametrize("relu, bias", [(True, True), (False, True), (True, False)])
def test_filter_and_bias_gradients_match_central_differences(shape, pads, c_out, relu, bias):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((3, 3, shape[3], c_out))
    b = rng.standard_normal(c_out) if bias else None
    args = (x, w) if bias is False else (x, w, b)
    wrt = differentiable(shape, bias)
    check_grad(lambda *t: conv2d_maxpool(t[0], t[1], t[2] if len(t) > 2 else None, pads,
                                         "relu" if relu else None), *args, wrt=wrt)


@pytest.mark.parametrize("shape, pads, c_out", CASES)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_matches_torch_conv_relu_maxpool(shape, pads, c_out, dtype, tol):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((3, 3, shape[3], c_out)) * 0.5).astype(dtype)
    b = (rng.standard_normal(c_out) * 0.1).astype(dtype)
    (top, bottom), (left, right) = pads

    def theirs(x, w, b):
        xpad = F.pad(nhwc_to_nchw(x), (left, right, top, bottom))
        y = F.relu(F.conv2d(xpad, w.permute(3, 2, 0, 1), b))
        return nchw_to_nhwc(F.max_pool2d(y, 2, 2))

    compare_torch(lambda x, w, b: conv2d_maxpool(x, w, b, pads, activation="relu"), theirs, x, w, b,
                  wrt=differentiable(shape, True), atol=tol, rtol=tol)
    assert torch is not None


def test_an_input_that_needs_a_gradient_is_refused_in_backward():
    x = svertka.Tensor(rng.standard_normal((1, 4, 4, 1)), requires_grad=True)
    w = svertka.Tensor(rng.standard_normal((3, 3, 1, 2)), requires_grad=True)
    y = conv2d_maxpool(x, w, None, ((1, 1), (1, 1)), activation="relu")
    with pytest.raises(RuntimeError, match="Conv2dMaxPool: the input needs a gradient, which "
                                           "the direct loop"):
        y.sum().backward()


def test_nothing_is_recorded_when_no_input_needs_a_gradient():
    x, w = rng.standard_normal((2, 6, 6, 1)), rng.standard_normal((3, 3, 1, 3))
    y = conv2d_maxpool(svertka.Tensor(x), svertka.Tensor(w), None, ((1, 1), (1, 1)), "relu")
    assert not y.requires_grad and y.creator is None
    trained = conv2d_maxpool(svertka.Tensor(x), svertka.Tensor(w, requires_grad=True), None,
                             ((1, 1), (1, 1)), "relu")
    np.testing.assert_array_equal(y.numpy(), trained.numpy())


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, message",
    [
        ((1, 6, 6, 3), (3, 3, 1, 2), None, "argument 'w' must have w.shape\\[2\\] == 3"),
        ((1, 6, 6, 1), (3, 3, 3, 2), None, "argument 'w' must have w.shape\\[2\\] == 1"),
        ((1, 6, 6, 8), (3, 3, 8, 2), (7,), "argument 'b' must have shape \\(2,\\)"),
        ((1, 6, 6), (3, 3, 1, 2), None, "argument 'x' must be 4-D"),
    ],
)
def test_mismatched_shapes_are_refused_before_the_compiled_loops(x_shape, w_shape, b_shape,
                                                                 message):
    # the direct loop and Winograd index w and b by x's channels without bounds checks
    x, w = svertka.Tensor(np.ones(x_shape)), svertka.Tensor(np.ones(w_shape))
    b = None if b_shape is None else svertka.Tensor(np.ones(b_shape))
    with pytest.raises(ValueError, match="conv2d_maxpool: " + message):
        conv2d_maxpool(x, w, b, ((1, 1), (1, 1)), "relu")
