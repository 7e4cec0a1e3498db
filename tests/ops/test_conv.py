import contextlib
import math

import numpy as np
import pytest
from helpers import TORCH_MODE, check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels import conv as kconv
from svertka.kernels.pad import MODES
from svertka.kernels.shapes import resolve_padding

rng = np.random.default_rng(3)


# x shape, (KH, KW), strides, dilation, padding: odd and even sizes, rectangular, 1x1 kernels.
CONFIGS = [
    ((1, 5, 5, 2), (3, 3), 1, 1, "valid"),
    ((1, 6, 6, 2), (3, 3), 1, 1, "same"),
    ((1, 7, 6, 1), (3, 3), 2, 1, "same"),
    ((1, 6, 7, 2), (3, 3), 3, 1, "same"),
    ((1, 7, 7, 1), (3, 3), 1, 2, "same"),
    ((1, 8, 7, 1), (3, 3), 2, 2, "same"),
    ((1, 5, 6, 2), (2, 3), 1, 1, "same"),  # even kernel: the odd pixel goes bottom/right
    ((1, 5, 5, 2), (3, 3), 2, 1, 1),
    ((1, 6, 5, 2), (3, 2), (2, 1), 1, (2, 1)),
    ((1, 5, 6, 1), (3, 3), (1, 3), (2, 1), ((0, 2), (1, 0))),
    ((2, 4, 5, 3), (1, 1), 1, 1, "valid"),
    ((1, 5, 5, 2), (1, 1), 2, 1, 1),
    ((1, 7, 6, 2), (2, 2), 2, 1, "valid"),  # the window does not tile: a column is dropped
    ((1, 5, 4, 1), (4, 3), 1, 1, ((1, 2), (1, 1))),
]


def grid(modes):
    """Each configuration in each padding mode (one mode where there is no padding)."""
    cases = []
    for config in CONFIGS:
        for mode in modes if config[-1] != "valid" else ["zeros"]:
            bias = len(cases) % 2 == 0  # on every other case
            x_shape, (kh, kw), strides, dilation, padding = config
            name = (
                f"{x_shape[1]}x{x_shape[2]}-k{kh}x{kw}-s{strides}-d{dilation}-{padding}-{mode}"
                f"{'-bias' if bias else ''}"
            ).replace(" ", "")
            cases.append(pytest.param(*config, mode, bias, id=name))
    return cases


def arrays(x_shape, kernel, bias, c_out=2):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((*kernel, x_shape[3], c_out))
    return (x, w, rng.standard_normal(c_out)) if bias else (x, w)


def tf_same(size, k, s, d):
    """TensorFlow's rule, written out here: ceil(I/S) outputs, odd pixel at the end."""
    total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def explicit_pads(padding, hw, kernel, strides, dilation):
    strides = strides if isinstance(strides, tuple) else (strides, strides)
    dilation = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple(tf_same(hw[a], kernel[a], strides[a], dilation[a]) for a in range(2))
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    if isinstance(padding[0], int):
        return (padding[0],) * 2, (padding[1],) * 2
    return padding


def torch_conv(padding, mode, strides, dilation, kernel):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def fn(x, w, b=None):
        (t, bottom), (l, r) = explicit_pads(padding, x.shape[1:3], kernel, strides, dilation)
        xt = F.pad(nhwc_to_nchw(x), (l, r, t, bottom), mode=TORCH_MODE[mode])
        y = F.conv2d(xt, w.permute(3, 2, 0, 1), b, stride=strides, dilation=dilation)
        return nchw_to_nhwc(y)

    return fn


@pytest.mark.parametrize("x_shape, kernel, strides, dilation, padding, mode, bias", grid(MODES))
def test_gradient(x_shape, kernel, strides, dilation, padding, mode, bias):
    check_grad(
        lambda *a: ops.conv2d(
            *a, strides=strides, padding=padding, padding_mode=mode, dilation_rate=dilation
        ),
        *arrays(x_shape, kernel, bias),
    )


@pytest.mark.parametrize(
    "x_shape, kernel, strides, dilation, padding, mode, bias", grid(list(TORCH_MODE))
)
def test_matches_torch(x_shape, kernel, strides, dilation, padding, mode, bias):
    compare_torch(
        lambda *a: ops.conv2d(
            *a, strides=strides, padding=padding, padding_mode=mode, dilation_rate=dilation
        ),
        torch_conv(padding, mode, strides, dilation, kernel),
        *arrays(x_shape, kernel, bias, c_out=3),
    )


@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
def test_mirror_modes_match_numpy_pad_then_valid_conv(mode):
    """NumPy's 'symmetric' and 'reflect' are ours; torch has no 'symmetric'."""
    x, w = rng.standard_normal((2, 5, 6, 2)), rng.standard_normal((3, 3, 2, 3))
    pads = ((2, 1), (0, 2))
    xpad = np.pad(x, ((0, 0), *pads, (0, 0)), mode=mode)
    np.testing.assert_allclose(
        ops.conv2d(x, w, padding=pads, padding_mode=mode).numpy(),
        ops.conv2d(xpad, w).numpy(),
        atol=1e-12,
    )


def test_notes_valid_stride_1_example():
    x = np.array(
        [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
        np.float32,
    )
    k = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], np.float32)
    y = ops.conv2d(x.reshape(1, 5, 5, 1), k.reshape(3, 3, 1, 1))
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_notes_zero_padding_1_stride_2_example_single_channel():
    """The notes print [[1,6,5],[7,10,9],[7,10,8]]: a known misprint of the one-channel figure
    they reproduce (Dumoulin & Visin's, vdumoulin/conv_arithmetic#17); the input and kernel
    shown give this (``svertka explain notes-examples`` shows the working)."""
    x = np.array(
        [[2, 2, 3, 3, 3], [0, 1, 3, 0, 3], [2, 3, 0, 1, 3], [3, 3, 2, 1, 2], [3, 3, 0, 2, 3]],
        np.float32,
    )
    k = np.array([[2, 0, 1], [1, 0, 0], [0, 1, 1]], np.float32)
    y = ops.conv2d(x.reshape(1, 5, 5, 1), k.reshape(3, 3, 1, 1), strides=2, padding=1)
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], [[1, 5, 6], [7, 8, 3], [3, 10, 4]])


@pytest.mark.parametrize("c, t, expected", [(1, 32, 320), (32, 64, 18496)])
def test_notes_parameter_count_formula(c, t, expected):
    d = 1  # a (2d+1) x (2d+1) = 3x3 kernel
    w, b = np.zeros((2 * d + 1, 2 * d + 1, c, t), np.float32), np.zeros(t, np.float32)
    assert w.size + b.size == ((2 * d + 1) ** 2 * c + 1) * t == expected
    assert ops.conv2d(np.zeros((1, 8, 8, c), np.float32), w, b).shape == (1, 6, 6, t)


@pytest.mark.parametrize("size", [5, 6, 7, 8])
@pytest.mark.parametrize("stride, dilation, k", [(1, 1, 3), (2, 1, 3), (3, 1, 2), (2, 2, 3)])
def test_same_keeps_ceil_of_size_over_stride(size, stride, dilation, k):
    x, w = np.zeros((1, size, size, 1)), np.zeros((k, k, 1, 1))
    y = ops.conv2d(x, w, strides=stride, padding="same", dilation_rate=dilation)
    assert y.shape == (1, -(-size // stride), -(-size // stride), 1)


def test_same_puts_the_odd_pixel_bottom_right():
    """TF/Keras convention: a 2x2 kernel at stride 1 pads 0 on top/left and 1 on bottom/right."""
    x, w = rng.standard_normal((1, 4, 5, 2)), rng.standard_normal((2, 2, 2, 1))
    np.testing.assert_allclose(
        ops.conv2d(x, w, padding="same").numpy(), ops.conv2d(x, w, padding=((0, 1), (0, 1))).numpy()
    )


def test_float32_stays_float32_through_every_gradient():
    x = svertka.Tensor(rng.standard_normal((2, 6, 6, 3)).astype(np.float32), requires_grad=True)
    w = svertka.Tensor(rng.standard_normal((3, 3, 3, 4)).astype(np.float32), requires_grad=True)
    b = svertka.Tensor(np.zeros(4, np.float32), requires_grad=True)
    y = ops.conv2d(x, w, b, strides=2, padding="same", padding_mode="reflect")
    y.sum().backward()
    assert y.dtype == np.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_input_without_gradient_still_trains_the_weights():
    x = svertka.Tensor(rng.standard_normal((1, 4, 4, 1)))
    w = svertka.Tensor(np.ones((3, 3, 1, 1)), requires_grad=True)
    ops.conv2d(x, w).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(
        w.grad[:, :, 0, 0],
        [[x.data[0, i : i + 2, j : j + 2, 0].sum() for j in range(3)] for i in range(3)],
    )


def test_a_kernel_taller_than_the_input_fits_once_padded():
    y = ops.conv2d(np.zeros((1, 5, 5, 3)), np.zeros((7, 3, 3, 4)), padding=1)
    assert y.shape == (1, 1, 5, 4)


X = np.zeros((1, 5, 5, 3))
W = np.zeros((3, 3, 3, 4))


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (
            (np.zeros((5, 5, 3)), W),
            {},
            ValueError,
            r"conv2d: argument 'x' must be 4-D \(N, H, W, C\), received shape \(5, 5, 3\)",
        ),
        (
            (X, np.zeros((3, 3, 3))),
            {},
            ValueError,
            r"conv2d: argument 'w' must be 4-D \(KH, KW, C_in, C_out\), received shape \(3, 3, 3\)",
        ),
        (
            (X, np.zeros((3, 3, 2, 4))),
            {},
            ValueError,
            r"conv2d: argument 'w' must have w.shape\[2\] == 3 input channels .* \(3, 3, 2, 4\)",
        ),
        (
            (X, W, np.zeros(3)),
            {},
            ValueError,
            r"conv2d: argument 'b' must have shape \(4,\), one bias per filter, received \(3,\)",
        ),
        ((X, W, np.zeros((1, 4))), {}, ValueError, r"conv2d: argument 'b' must have shape"),
        ((X, W), {"strides": 0}, ValueError, r"conv2d: argument 'strides' must be >= 1"),
        ((X, W), {"strides": (1, -2)}, ValueError, r"conv2d: argument 'strides' must be >= 1"),
        (
            (X, W),
            {"dilation_rate": 0},
            ValueError,
            r"conv2d: argument 'dilation_rate' must be >= 1, received 0",
        ),
        ((X, W), {"padding": -1}, ValueError, r"conv2d: argument 'padding' must be >= 0"),
        (
            (X, W),
            {"padding": ((0, 0), (-1, 1))},
            ValueError,
            r"conv2d: argument 'padding' must be >= 0",
        ),
        (
            (X, np.zeros((7, 3, 3, 4))),
            {},
            ValueError,
            r"conv2d: the kernel spans 7 pixels along the height, but the padded input has only 5",
        ),
        (
            (X, W),
            {"dilation_rate": 3},
            ValueError,
            r"conv2d: the kernel spans 7 pixels along the height",
        ),
        (
            (X, W),
            {"padding_mode": "mirror"},
            ValueError,
            r"conv2d: argument 'padding_mode' must be one of 'zeros', 'replicate', 'reflect', "
            r"'symmetric', 'circular', received 'mirror'",
        ),
        (
            (X, W),
            {"padding": "full"},
            ValueError,
            r"conv2d: argument 'padding' must be 'valid', 'same', .* received 'full'",
        ),
        (
            (X, W),
            {"padding": 5, "padding_mode": "reflect"},
            ValueError,
            r"conv2d: padding mode 'reflect' needs padding <= size - 1 on each side",
        ),
    ],
)
def test_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        ops.conv2d(*args, **kwargs)


@pytest.mark.parametrize(
    "x_shape, kernel, strides, dilation, padding, mode, bias", grid(["zeros", "reflect"])[::3]
)
def test_fused_relu_gradient_and_torch(x_shape, kernel, strides, dilation, padding, mode, bias):
    def ours(*a):
        return ops.conv2d(*a, strides=strides, padding=padding, padding_mode=mode,
                          dilation_rate=dilation, activation="relu")

    check_grad(ours, *arrays(x_shape, kernel, bias))
    conv = torch_conv(padding, mode, strides, dilation, kernel)
    compare_torch(ours, lambda *a: conv(*a).relu(), *arrays(x_shape, kernel, bias, c_out=3))


def test_fused_relu_equals_relu_after_conv_with_exact_zeros():
    # a zero filter row makes outputs exactly 0: ReLU's gradient there is 0 in both forms
    x, w, b = rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((3, 3, 2, 3)), np.zeros(3)
    w[..., 0] = 0
    gy = rng.standard_normal((2, 5, 5, 3))
    grads = []
    for fused in (True, False):
        ts = [svertka.Tensor(a, requires_grad=True) for a in (x, w, b)]
        y = ops.conv2d(*ts, padding="same", activation="relu" if fused else None)
        y = y if fused else ops.relu(y)
        (y * svertka.Tensor(gy)).sum().backward()
        grads.append((y.numpy(), *(t.grad for t in ts)))
    for a, b_ in zip(*grads):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_inference_keeps_no_cache_and_gives_the_same_result():
    x, w, b = arrays((5, 6, 6, 3), (3, 3), True, c_out=4)
    ys = []
    for recording in (True, False):
        with contextlib.nullcontext() if recording else svertka.no_grad():
            y = ops.conv2d(svertka.Tensor(x, requires_grad=True), w, b, padding="same",
                           activation="relu")
        assert (y.creator is not None) == recording
        ys.append(y.numpy())
    np.testing.assert_allclose(ys[0], ys[1], rtol=1e-12, atol=1e-12)
    _, cache = kconv.conv2d_forward(x, w, b, pads=((1, 1), (1, 1)), for_backward=False)
    assert cache is None


# 3x3, stride 1, at least 8 channels: the kernels run Winograd, F(4x4, 3x3) where the output
# is a multiple of 4 (kernels/winograd4.py), F(2x2, 3x3) elsewhere (kernels/winograd.py)
WINOGRAD = [
    pytest.param((2, 5, 6, 8), "same", "zeros", False, True, "winograd", id="same-relu"),
    pytest.param((1, 6, 5, 8), "valid", "zeros", True, False, "winograd", id="valid-bias"),
    pytest.param((1, 5, 5, 9), ((2, 0), (1, 2)), "zeros", True, True, "winograd",
                 id="uneven-bias-relu"),
    pytest.param((1, 6, 6, 8), "same", "reflect", False, False, "winograd", id="same-reflect"),
    pytest.param((2, 8, 4, 8), "same", "zeros", True, True, "winograd4", id="f4x4-same"),
    pytest.param((1, 6, 10, 9), "valid", "zeros", False, False, "winograd4", id="f4x4-valid"),
]


@pytest.mark.parametrize("x_shape, padding, mode, bias, relu, path", WINOGRAD)
def test_winograd_path_gradient_and_torch(x_shape, padding, mode, bias, relu, path):
    from svertka.kernels import jit

    if not jit.enabled():
        pytest.skip("Winograd runs with the compiled kernels (Numba)")
    x, w, *b = arrays(x_shape, (3, 3), bias, c_out=3)
    (top, bottom), (left, right) = resolve_padding(padding, x_shape[1:3], (3, 3))
    # the kernels see the padded image (a non-zero fill is padded by its own op first)
    padded = np.zeros((1, x_shape[1] + top + bottom, x_shape[2] + left + right, x_shape[3]))
    assert kconv.plan(padded, w) == path

    def ours(*a):
        return ops.conv2d(*a, padding=padding, padding_mode=mode,
                          activation="relu" if relu else None)

    check_grad(ours, x, w, *b)
    conv = torch_conv(padding, mode, 1, 1, (3, 3))
    compare_torch(ours, (lambda *a: conv(*a).relu()) if relu else conv, x, w, *b)
