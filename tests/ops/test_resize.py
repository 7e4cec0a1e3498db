"""upsample2d (nearest, bilinear) and crop2d: the definition, float64 gradients, PyTorch,
argument errors."""

import numpy as np
import pytest
from helpers import check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.resize import lerp_matrix, naive_upsample
from svertka.ops.resize import sides

rng = np.random.default_rng(3)

SIZES = [2, (1, 3), (3, 2), (4, 4), (1, 1)]
SHAPES = [(2, 3, 4, 2), (1, 1, 5, 1), (2, 4, 1, 3)]
MODES = ["nearest", "bilinear"]


def test_nearest_repeats_each_pixel_into_a_block():
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    y = ops.upsample2d(x, (2, 3)).numpy()[0, :, :, 0]
    assert y.tolist() == [[1, 1, 1, 2, 2, 2]] * 2 + [[3, 3, 3, 4, 4, 4]] * 2


def test_bilinear_with_half_pixel_centres():
    """Keras 3 / TensorFlow ``resize`` and PyTorch's ``align_corners=False``: 1 3 -> at 2x
    the sources -0.25 (clamped: 1), 0.25, 0.75, 1.25 (clamped: 3)."""
    x = np.array([1.0, 3.0]).reshape(1, 1, 2, 1)
    assert ops.upsample2d(x, (1, 2), "bilinear").numpy().ravel().tolist() == [1, 1.5, 2.5, 3]
    x4 = np.array([0.0, 4.0]).reshape(1, 1, 2, 1)
    y = ops.upsample2d(x4, (1, 4), "BILINEAR").numpy().ravel()
    np.testing.assert_allclose(y, [0, 0, 0.5, 1.5, 2.5, 3.5, 4, 4])


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lerp_rows_are_convex_mixes(size):
    for factor in (1, 2, 3):
        a = lerp_matrix(size, factor)
        assert a.shape == (size * factor, size) and (a >= 0).all()
        np.testing.assert_allclose(a.sum(axis=1), 1.0)
        assert ((a > 0).sum(axis=1) <= 2).all()
    np.testing.assert_array_equal(lerp_matrix(size, 1), np.eye(size))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_the_definition(mode, size, shape):
    x = rng.standard_normal(shape)
    sh, sw = (size, size) if isinstance(size, int) else size
    np.testing.assert_allclose(ops.upsample2d(x, size, mode).numpy(),
                               naive_upsample(x, (sh, sw), mode), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradient(mode, size, shape):
    check_grad(lambda x: ops.upsample2d(x, size, mode), rng.standard_normal(shape))


@pytest.mark.parametrize("mode", MODES)
def test_gradient_on_a_larger_image_by_random_directions(mode):
    check_grad(lambda x: ops.upsample2d(x, (3, 2), mode), rng.standard_normal((2, 9, 11, 3)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", SHAPES + [(2, 7, 6, 3)])
def test_matches_torch_interpolate(mode, size, shape):
    F = pytest.importorskip("torch.nn.functional")
    sh, sw = (size, size) if isinstance(size, int) else size
    extra = {} if mode == "nearest" else {"align_corners": False}
    compare_torch(
        lambda x: ops.upsample2d(x, size, mode),
        lambda x: nchw_to_nhwc(F.interpolate(nhwc_to_nchw(x), size=(x.shape[1] * sh,
                                                                     x.shape[2] * sw),
                                             mode=mode, **extra)),
        rng.standard_normal(shape), atol=1e-12, rtol=1e-12,
    )


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32_and_integers_are_cast(mode):
    x = svertka.Tensor(rng.standard_normal((1, 3, 3, 2)).astype(np.float32), requires_grad=True)
    y = ops.upsample2d(x, 2, mode)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == np.float32
    assert ops.upsample2d(np.full((1, 2, 2, 1), 200, np.uint8), 2, mode).dtype == np.float32
    assert ops.upsample2d(np.full((1, 2, 2, 1), 200, np.uint8), 2, mode).numpy().max() == 200


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(interpolation="bicubic"), ValueError,
         r"upsample2d: argument 'interpolation' must be one of 'nearest', 'bilinear', "
         r"received 'bicubic'"),
        (dict(size=0), ValueError, r"upsample2d: argument 'size' must be >= 1, received 0"),
        (dict(size=(2, 1.5)), TypeError,
         r"upsample2d: argument 'size' must be an int or a pair of ints"),
        (dict(x=np.zeros((2, 3))), ValueError,
         r"upsample2d: argument 'x' must be 4-D \(N, H, W, C\), received shape \(2, 3\)"),
    ],
)
def test_upsample_bad_arguments(kwargs, error, message):
    args = dict(x=np.zeros((1, 2, 2, 1)), size=2, interpolation="nearest")
    args.update(kwargs)
    with pytest.raises(error, match=message):
        ops.upsample2d(**args)


CROPS = [0, 1, (1, 0), (0, 2), ((1, 0), (0, 2)), ((0, 3), (2, 1)), ((2, 1), (3, 0))]


@pytest.mark.parametrize("cropping", CROPS)
def test_crop_is_slicing(cropping):
    x = rng.standard_normal((2, 4, 5, 3))
    (t, b), (l, r) = sides("test", "cropping", cropping)
    np.testing.assert_array_equal(ops.crop2d(x, cropping).numpy(), x[:, t : 4 - b, l : 5 - r])


@pytest.mark.parametrize("cropping", CROPS)
def test_crop_gradient(cropping):
    check_grad(lambda x: ops.crop2d(x, cropping), rng.standard_normal((2, 4, 5, 2)))


@pytest.mark.parametrize("cropping", CROPS)
def test_crop_matches_torch(cropping):
    (t, b), (l, r) = sides("test", "cropping", cropping)
    compare_torch(lambda x: ops.crop2d(x, cropping), lambda x: x[:, t : 4 - b, l : 5 - r],
                  rng.standard_normal((2, 4, 5, 3)), atol=0, rtol=0)


def test_crop_forms_agree_and_undo_zero_padding():
    x = rng.standard_normal((1, 4, 4, 2))
    by_int = ops.crop2d(x, 1).numpy()
    np.testing.assert_array_equal(by_int, ops.crop2d(x, (1, 1)).numpy())
    np.testing.assert_array_equal(by_int, ops.crop2d(x, [[1, 1], [1, 1]]).numpy())
    padded = ops.pad(x, ((1, 2), (3, 0)))
    np.testing.assert_array_equal(ops.crop2d(padded, ((1, 2), (3, 0))).numpy(), x)


def test_crop_output_is_a_copy():
    x = rng.standard_normal((1, 3, 3, 1))
    y = ops.crop2d(x, 1).numpy()
    x[0, 1, 1, 0] = 100.0
    assert y[0, 0, 0, 0] != 100.0


@pytest.mark.parametrize(
    "cropping, error, message",
    [
        (((2, 2), (0, 0)), ValueError,
         r"crop2d: argument 'cropping' \(\(2, 2\), \(0, 0\)\) removes 4 of the 4 pixels along "
         r"the height, leaving nothing; expected a total crop < 4 per axis"),
        ((0, 3), ValueError, r"crop2d: argument 'cropping' .* removes 6 of the 5 pixels along "
         r"the width"),
        (-1, ValueError, r"crop2d: argument 'cropping' must be an int, a pair \(h, w\) or "
         r"\(\(top, bottom\), \(left, right\)\) of ints >= 0, received -1"),
        (((1, -1), (0, 0)), ValueError, r"crop2d: argument 'cropping' must be .* >= 0"),
        ("same", TypeError, r"crop2d: argument 'cropping' must be an int, a pair"),
        ((1, 2, 3), TypeError, r"crop2d: argument 'cropping' must be an int, a pair"),
        (((1, 2, 3), (0, 0)), TypeError, r"crop2d: argument 'cropping' must be an int"),
        ((1.0, 1), TypeError, r"crop2d: argument 'cropping' must be an int, .* received "
         r"\(1.0, 1\)"),
    ],
)
def test_crop_bad_arguments(cropping, error, message):
    with pytest.raises(error, match=message):
        ops.crop2d(np.zeros((1, 4, 5, 1)), cropping)
