"""conv2d_transpose: sizes (Keras's rules), the definition, the adjoint identity with conv2d,
float64 gradients of x, w and b, PyTorch's conv_transpose2d, argument errors."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.ops.transpose_conv import (
    conv_transpose_geometry,
    naive_conv_transpose,
    transpose_output_axis,
)

rng = np.random.default_rng(5)

# (input hw, kernel hw, strides, padding, output_padding, dilation)
GEOMETRIES = [
    ((3, 3), (3, 3), 1, "valid", None, 1),
    ((3, 4), (3, 2), 2, "valid", None, 1),
    ((3, 3), (3, 3), 2, "same", None, 1),  # odd total crop: the odd pixel off the bottom/right
    ((2, 3), (2, 2), 2, "same", None, 1),
    ((3, 2), (4, 3), (2, 3), "same", None, 1),
    ((3, 3), (3, 3), 2, "valid", 1, 1),
    ((2, 3), (3, 2), (3, 2), "same", (2, 1), 1),
    ((3, 3), (2, 2), 3, "valid", None, 1),  # kernel shorter than the stride: I*S
    ((3, 3), (3, 3), 1, "same", None, 2),
    ((2, 3), (2, 3), 2, "valid", None, (2, 1)),
    ((3, 3), (3, 3), 2, 1, None, 1),
    ((3, 3), (3, 3), 2, (1, 0), 1, 1),
    ((2, 3), (3, 3), (2, 3), ((0, 2), (1, 0)), (1, 2), (1, 2)),
    ((3, 2), (3, 3), 1, ((2, 1), (0, 1)), None, 1),
]
IDS = [f"g{i}" for i in range(len(GEOMETRIES))]


def case(geometry, n=2, c=2, f=3, dtype=np.float64):
    hw, khw, strides, padding, output_padding, dilation = geometry
    x = rng.standard_normal((n, *hw, c)).astype(dtype)
    w = rng.standard_normal((*khw, f, c)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    kwargs = dict(strides=strides, padding=padding, output_padding=output_padding,
                  dilation_rate=dilation)
    return x, w, b, kwargs


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def keras_output_axis(size, kernel, stride, padding, output_padding, dilation):
    """Keras's ``compute_conv_transpose_output_length``, written out here independently."""
    span = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return size * stride + max(span - stride, 0) if padding == "valid" else size * stride
    pad = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * pad + output_padding


@pytest.mark.parametrize(
    "size, kernel, stride, padding, output_padding, dilation, out",
    [
        (4, 3, 2, "valid", None, 1, 9),
        (4, 3, 2, "same", None, 1, 8),
        (4, 3, 2, "valid", 1, 1, 10),
        (4, 3, 2, "same", 0, 1, 7),
        (4, 3, 2, "same", 1, 1, 8),
        (4, 4, 2, "same", 1, 1, 7),
        (4, 2, 3, "valid", None, 1, 12),
        (4, 2, 3, "valid", 0, 1, 11),
        (5, 3, 1, "same", None, 2, 5),
        (5, 3, 1, "valid", None, 2, 9),
        (28, 3, 2, "same", None, 1, 56),
    ],
)
def test_output_sizes_follow_keras(size, kernel, stride, padding, output_padding, dilation, out):
    assert keras_output_axis(size, kernel, stride, padding, output_padding, dilation) == out
    assert transpose_output_axis(size, kernel, stride, dilation, padding, output_padding)[0] == out
    x = np.zeros((1, size, size, 1))
    w = np.zeros((kernel, kernel, 2, 1))
    y = ops.conv2d_transpose(x, w, strides=stride, padding=padding,
                             output_padding=output_padding, dilation_rate=dilation)
    assert y.shape == (1, out, out, 2)


def test_explicit_padding_crops_like_torch():
    # L = (4-1)*2 + 3 = 9; crop 1 and 2, add 1: 7
    assert transpose_output_axis(4, 3, 2, 1, (1, 2), 1) == (7, (1, 1))
    assert ops.conv2d_transpose(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 1)), strides=2,
                                padding=((1, 2), (0, 0)), output_padding=1).shape == (1, 7, 10, 1)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_forward_matches_the_definition(geometry):
    x, w, b, kwargs = case(geometry)
    y = ops.conv2d_transpose(x, w, b, **kwargs).numpy()
    strides, dilation = as_pair(kwargs["strides"]), as_pair(kwargs["dilation_rate"])
    out_hw, pads = conv_transpose_geometry(x.shape[1:3], w.shape[:2], strides, dilation,
                                           kwargs["padding"], kwargs["output_padding"])
    np.testing.assert_allclose(y, naive_conv_transpose(x, w, b, out_hw, strides, pads, dilation),
                               rtol=1e-12, atol=1e-12)
    if isinstance(kwargs["padding"], str):
        expected = tuple(
            keras_output_axis(x.shape[1 + a], w.shape[a], strides[a], kwargs["padding"],
                              None if kwargs["output_padding"] is None
                              else as_pair(kwargs["output_padding"])[a], dilation[a])
            for a in range(2))
        assert y.shape[1:3] == expected


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_is_the_adjoint_of_conv2d(geometry):
    """<conv2d(z, w), x> == <z, conv2d_transpose(x, w)> with the same geometry: an independent
    check of which side the odd crop of 'same' comes off (conv2d pads it at the bottom/right)."""
    x, w, _, kwargs = case(geometry)
    if kwargs["output_padding"] is not None and kwargs["padding"] == "same":
        pytest.skip("'same' with output_padding is no conv2d 'same' geometry")
    y = ops.conv2d_transpose(x, w, **kwargs).numpy()
    z = rng.standard_normal(y.shape)
    conv = ops.conv2d(z, w, strides=kwargs["strides"], padding=kwargs["padding"],
                      dilation_rate=kwargs["dilation_rate"]).numpy()
    assert conv.shape == x.shape
    np.testing.assert_allclose((conv * x).sum(), (z * y).sum(), rtol=1e-10)


def test_same_with_an_odd_crop_cuts_the_bottom_right_pixel():
    """K=3, S=2, I=2: the full output has 5 rows, 'same' keeps 4: rows 0..3, as TensorFlow
    (the adjoint of conv2d 'same', which pads the odd pixel at the bottom/right)."""
    x = np.zeros((1, 2, 2, 1))
    x[0, 1, 1, 0] = 1.0  # its kernel copy lands on full rows/cols 2..4
    y = ops.conv2d_transpose(x, np.ones((3, 3, 1, 1)), strides=2, padding="same").numpy()
    assert y[0, :, :, 0].tolist() == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_gradients_of_x_w_and_b(geometry):
    x, w, b, kwargs = case(geometry)
    check_grad(lambda x, w, b: ops.conv2d_transpose(x, w, b, **kwargs), x, w, b)


def test_gradient_checks_on_larger_shapes_by_random_directions():
    x, w, b, kwargs = case(((6, 5), (3, 4), 2, "same", None, 1), n=3, c=4, f=5)
    check_grad(lambda x, w, b: ops.conv2d_transpose(x, w, b, **kwargs), x, w, b)


def torch_conv_transpose(x, w, b, strides, padding, output_padding, dilation):
    """PyTorch's conv_transpose2d on channels-last tensors, with our (KH, KW, F, C) weights.

    An int or a pair of ints: PyTorch's own ``padding`` and ``output_padding``. Otherwise the
    uncropped output, cropped and extended here: 'valid'/'same' by the sizes of
    :func:`keras_output_axis` and TensorFlow's rule (``before = (L - O) // 2``),
    ``((top, bottom), (left, right))`` by ``O = L - top - bottom + output_padding``.
    """
    F = pytest.importorskip("torch.nn.functional")
    strides, dilation = as_pair(strides), as_pair(dilation)
    op = (0, 0) if output_padding is None else as_pair(output_padding)
    wt = w.permute(3, 2, 0, 1)  # (C, F, KH, KW), PyTorch's layout
    if isinstance(padding, int) or all(isinstance(p, int) for p in padding):
        y = F.conv_transpose2d(nhwc_to_nchw(x), wt, b, stride=strides, padding=as_pair(padding),
                               output_padding=op, dilation=dilation)
        return nchw_to_nhwc(y)
    full = F.conv_transpose2d(nhwc_to_nchw(x), wt, b, stride=strides, dilation=dilation)
    sides = []
    for a in (1, 0):  # F.pad takes the last axis (width) first
        size, length = x.shape[1 + a], full.shape[2 + a]
        if isinstance(padding, str):
            extra = None if output_padding is None else op[a]
            out = keras_output_axis(size, w.shape[a], strides[a], padding, extra, dilation[a])
            before = max(length - out, 0) // 2
        else:
            before, after = padding[a]
            out = length - before - after + op[a]
        sides += [-before, out - (length - before)]
    y = F.pad(full, sides)  # negative: crop; positive: zeros (plus the bias, below)
    if b is not None:
        mask = F.pad(full.new_ones(full.shape), sides)
        y = y + (1 - mask) * b.reshape(1, -1, 1, 1)
    return nchw_to_nhwc(y)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_forward_and_every_gradient(geometry, bias):
    x, w, b, kwargs = case(geometry, n=2, c=3, f=4)
    args = (kwargs["strides"], kwargs["padding"], kwargs["output_padding"],
            kwargs["dilation_rate"])
    compare_torch(
        lambda x, w, b=None: ops.conv2d_transpose(x, w, b, **kwargs),
        lambda x, w, b=None: torch_conv_transpose(x, w, b, *args),
        *((x, w, b) if bias else (x, w)), atol=1e-10, rtol=1e-10,
    )


@pytest.mark.parametrize("jit", ["1", "0"])
@pytest.mark.parametrize(
    "geometry", [((5, 6), (3, 3), 1, "same", None, 1), ((4, 5), (3, 3), 2, "valid", 1, 1)]
)
def test_float32_paths_match_torch(monkeypatch, jit, geometry):
    """float32, compiled and NumPy col2im, and a backward whose convolution takes the
    Winograd path (3x3, stride 1, 8 filters)."""
    monkeypatch.setenv("SVERTKA_JIT", jit)
    x, w, b, kwargs = case(geometry, n=3, c=5, f=8, dtype=np.float32)
    args = (kwargs["strides"], kwargs["padding"], kwargs["output_padding"],
            kwargs["dilation_rate"])
    compare_torch(
        lambda x, w, b: ops.conv2d_transpose(x, w, b, **kwargs),
        lambda x, w, b: torch_conv_transpose(x, w, b, *args),
        x, w, b, atol=2e-4, rtol=2e-4,
    )


def test_float32_stays_float32_and_integers_are_cast():
    x = svertka.Tensor(rng.standard_normal((1, 3, 3, 2)).astype(np.float32), requires_grad=True)
    w = svertka.Tensor(rng.standard_normal((3, 3, 4, 2)).astype(np.float32), requires_grad=True)
    y = ops.conv2d_transpose(x, w, strides=2)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32
    assert ops.conv2d_transpose(np.ones((1, 2, 2, 1), np.uint8),
                                np.ones((1, 1, 1, 1), np.float32)).dtype == np.float32


def test_activation_is_applied_after_the_bias():
    x, w, b, kwargs = case(GEOMETRIES[2])
    plain = ops.conv2d_transpose(x, w, b, **kwargs).numpy()
    relu = ops.conv2d_transpose(x, w, b, **kwargs, activation="relu").numpy()
    np.testing.assert_array_equal(relu, np.maximum(plain, 0))
    check_grad(lambda x: ops.conv2d_transpose(x, w, b, **kwargs, activation="tanh"), x)


def test_frozen_filters_get_no_gradient_and_the_input_still_does():
    x = svertka.Tensor(rng.standard_normal((1, 3, 3, 2)), requires_grad=True)
    w = svertka.Tensor(rng.standard_normal((3, 3, 2, 2)))
    ops.conv2d_transpose(x, w, strides=2).sum().backward()
    assert w.grad is None and x.grad.shape == x.shape


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(output_padding=2, strides=2), ValueError,
         r"conv2d_transpose: argument 'output_padding' must be smaller than the stride along "
         r"each axis, received output_padding=2 with strides=\(2, 2\)"),
        (dict(output_padding=(0, 1)), ValueError,
         r"conv2d_transpose: argument 'output_padding' must be smaller than the stride"),
        (dict(output_padding=-1, strides=2), ValueError,
         r"conv2d_transpose: argument 'output_padding' must be >= 0, received -1"),
        (dict(padding="full"), ValueError,
         r"conv2d_transpose: argument 'padding' must be 'valid', 'same', an int, a pair or "
         r"\(\(top, bottom\), \(left, right\)\), received 'full'"),
        (dict(padding=-1), ValueError, r"conv2d_transpose: argument 'padding' must be >= 0"),
        (dict(padding=((3, 3), (0, 0))), ValueError,
         r"conv2d_transpose: the output would have -1 pixels along the height .* expected at "
         r"least 1: crop less"),
        (dict(strides=0), ValueError, r"conv2d_transpose: argument 'strides' must be >= 1"),
        (dict(dilation_rate=1.5), TypeError,
         r"conv2d_transpose: argument 'dilation_rate' must be an int or a pair of ints"),
        (dict(w=np.zeros((3, 3, 4, 5))), ValueError,
         r"conv2d_transpose: argument 'w' must have w.shape\[3\] == 2 input channels to match "
         r"x of shape \(1, 3, 3, 2\) .*received w of shape \(3, 3, 4, 5\)"),
        (dict(w=np.zeros((3, 3, 4))), ValueError,
         r"conv2d_transpose: argument 'w' must be 4-D \(KH, KW, filters, C_in\)"),
        (dict(b=np.zeros(3)), ValueError,
         r"conv2d_transpose: argument 'b' must have shape \(4,\), one bias per filter, "
         r"received \(3,\)"),
        (dict(x=np.zeros((3, 3, 2))), ValueError,
         r"conv2d_transpose: argument 'x' must be 4-D \(N, H, W, C\), received shape \(3, 3, 2\)"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    args = dict(x=np.zeros((1, 3, 3, 2)), w=np.zeros((3, 3, 4, 2)), b=None)
    args.update(kwargs)
    with pytest.raises(error, match=message):
        ops.conv2d_transpose(**args)
