import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.shapes import resolve_padding

rng = np.random.default_rng(11)

# x shape, (KH, KW), depth multiplier, strides, dilation, padding, bias
CASES = [
    ((1, 5, 5, 2), (3, 3), 1, 1, 1, "valid", True),
    ((2, 6, 6, 3), (3, 3), 1, 1, 1, "same", False),
    ((1, 7, 6, 2), (3, 3), 2, 2, 1, "same", True),
    ((1, 6, 7, 2), (3, 3), 3, 3, 1, "same", False),
    ((1, 7, 7, 1), (3, 3), 2, 1, 2, "same", True),
    ((1, 8, 7, 2), (3, 2), 1, (2, 1), (2, 1), "same", True),
    ((1, 5, 6, 2), (2, 3), 2, 1, 1, "same", False),  # even kernel: odd pixel bottom/right
    ((1, 5, 5, 2), (3, 3), 1, 2, 1, 1, True),
    ((1, 6, 5, 1), (3, 2), 3, (2, 1), 1, (2, 1), True),
    ((1, 5, 6, 2), (3, 3), 1, (1, 3), (2, 1), ((0, 2), (1, 0)), False),
    ((2, 4, 5, 3), (1, 1), 2, 1, 1, "valid", True),
    ((1, 7, 6, 2), (2, 2), 1, 2, 1, "valid", True),  # the window does not tile
]
IDS = [f"{c[0][1]}x{c[0][2]}x{c[0][3]}-k{c[1]}-m{c[2]}-s{c[3]}-d{c[4]}-{c[5]}-b{c[6]}"
       .replace(" ", "") for c in CASES]


def arrays(x_shape, kernel, m, bias, dtype=np.float64):
    c = x_shape[3]
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((*kernel, c, m)).astype(dtype)
    return (x, w, rng.standard_normal(c * m).astype(dtype)) if bias else (x, w)


def torch_depthwise(kernel, strides, dilation, padding):
    """PyTorch's conv2d with groups = C, out = C*M, zero padding given per side (resolved by
    svertka's rule, which tests/ops/test_conv.py checks against TensorFlow's)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def fn(x, w, b=None):
        kh, kw, c, m = w.shape
        s, d = (v if isinstance(v, tuple) else (v, v) for v in (strides, dilation))
        (t, bottom), (l, r) = resolve_padding(padding, tuple(x.shape[1:3]), kernel, s, d)
        xt = F.pad(nhwc_to_nchw(x), (l, r, t, bottom))
        wt = w.reshape(kh, kw, 1, c * m).permute(3, 2, 0, 1)  # (C*M, 1, KH, KW)
        return nchw_to_nhwc(F.conv2d(xt, wt, b, stride=s, dilation=d, groups=c))

    return fn


@pytest.mark.parametrize("x_shape, kernel, m, strides, dilation, padding, bias", CASES, ids=IDS)
def test_gradient_of_x_w_and_b(x_shape, kernel, m, strides, dilation, padding, bias):
    check_grad(
        lambda *a: ops.depthwise_conv2d(*a, strides=strides, padding=padding,
                                        dilation_rate=dilation),
        *arrays(x_shape, kernel, m, bias),
    )


@pytest.mark.parametrize("x_shape, kernel, m, strides, dilation, padding, bias", CASES, ids=IDS)
def test_matches_torch_conv2d_with_groups(x_shape, kernel, m, strides, dilation, padding, bias):
    compare_torch(
        lambda *a: ops.depthwise_conv2d(*a, strides=strides, padding=padding,
                                        dilation_rate=dilation),
        torch_depthwise(kernel, strides, dilation, padding),
        *arrays(x_shape, kernel, m, bias),
        atol=1e-10,
    )


@pytest.mark.parametrize("jit", ["1", "0"])
def test_float32_matches_torch_on_a_mobilenet_sized_block(monkeypatch, jit):
    """Both paths, compiled and NumPy, in float32 on a larger batch."""
    monkeypatch.setenv("SVERTKA_JIT", jit)
    compare_torch(
        lambda *a: ops.depthwise_conv2d(*a, strides=2, padding="same"),
        torch_depthwise((3, 3), 2, 1, "same"),
        *arrays((4, 15, 14, 16), (3, 3), 1, True, np.float32),
        atol=2e-4, rtol=1e-4,
    )


def test_equals_conv2d_with_groups_equal_to_the_channels():
    x, w, b = arrays((2, 7, 6, 3), (3, 3), 2, True)
    y = ops.depthwise_conv2d(x, w, b, strides=2, padding="same")
    grouped = ops.conv2d(x, w.reshape(3, 3, 1, 6), b, strides=2, padding="same", groups=3)
    np.testing.assert_allclose(y.numpy(), grouped.numpy(), atol=1e-12)


def test_output_channel_c_times_m_plus_j_comes_from_input_channel_c():
    x = np.zeros((1, 3, 3, 2))
    x[..., 1] = 1.0  # only channel 1 is non-zero
    w = np.ones((3, 3, 2, 3))
    w[:, :, 1] *= np.array([1.0, 2.0, 3.0])  # its three filters scale 1, 2, 3
    y = ops.depthwise_conv2d(x, w).numpy()[0, 0, 0]
    np.testing.assert_array_equal(y, [0, 0, 0, 9, 18, 27])


@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_activation_is_applied_to_the_output(activation):
    x, w, b = arrays((1, 5, 5, 2), (3, 3), 1, True)
    y = ops.depthwise_conv2d(x, w, b, activation=activation).numpy()
    z = ops.depthwise_conv2d(x, w, b).numpy()
    expected = {"relu": np.maximum(z, 0), "tanh": np.tanh(z), None: z}[activation]
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_float32_stays_float32_through_every_gradient():
    x, w, b = (svertka.Tensor(a, requires_grad=True)
               for a in arrays((2, 6, 6, 3), (3, 3), 2, True, np.float32))
    y = ops.depthwise_conv2d(x, w, b, strides=2, padding="same")
    y.sum().backward()
    assert y.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_input_without_gradient_still_trains_the_weights():
    x = svertka.Tensor(rng.standard_normal((1, 4, 4, 2)))
    w = svertka.Tensor(np.ones((3, 3, 2, 1)), requires_grad=True)
    ops.depthwise_conv2d(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(
        w.grad[:, :, 1, 0],
        [[x.data[0, i : i + 2, j : j + 2, 1].sum() for j in range(3)] for i in range(3)],
    )


def test_integer_input_is_computed_in_float32():
    y = ops.depthwise_conv2d(np.full((1, 3, 3, 1), 200, np.uint8), np.ones((3, 3, 1, 1),
                                                                           np.float32))
    assert y.dtype == np.float32 and y.numpy().item() == 1800.0


X = np.zeros((1, 5, 5, 3))
W = np.zeros((3, 3, 3, 2))


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.zeros((5, 5, 3)), W), {},
         r"depthwise_conv2d: argument 'x' must be 4-D \(N, H, W, C\), received shape \(5, 5, 3\)"),
        ((X, np.zeros((3, 3, 3))), {},
         r"depthwise_conv2d: argument 'w' must be 4-D \(KH, KW, C, depth_multiplier\), "
         r"received shape \(3, 3, 3\)"),
        ((X, np.zeros((3, 3, 2, 2))), {},
         r"depthwise_conv2d: argument 'w' must have w.shape\[2\] == 3 input channels to match "
         r"x of shape \(1, 5, 5, 3\), received w of shape \(3, 3, 2, 2\)"),
        ((X, W, np.zeros(2)), {},
         r"depthwise_conv2d: argument 'b' must have shape \(6,\), one bias per output channel "
         r"\(C \* depth_multiplier\), received \(2,\)"),
        ((X, W), {"strides": 0}, r"depthwise_conv2d: argument 'strides' must be >= 1"),
        ((X, W), {"dilation_rate": (1, 0)},
         r"depthwise_conv2d: argument 'dilation_rate' must be >= 1"),
        ((X, W), {"padding": -1}, r"depthwise_conv2d: argument 'padding' must be >= 0"),
        ((X, W), {"padding": "full"}, r"depthwise_conv2d: argument 'padding'"),
        ((X, np.zeros((7, 3, 3, 1))), {},
         r"depthwise_conv2d: the kernel spans 7 pixels along the height, but the padded input "
         r"has only 5"),
        ((X, W), {"activation": "swoosh"}, r"swoosh"),
    ],
)
def test_rejects_bad_arguments_with_the_op_and_argument_named(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ops.depthwise_conv2d(*args, **kwargs)
