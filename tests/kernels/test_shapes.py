import numpy as np
import pytest

from svertka.kernels.shapes import (
    check_window_fits,
    conv_output_size,
    effective_kernel,
    pair,
    resolve_padding,
    same_padding,
    window_remainder,
)


def test_notes_n7_f3_output_sizes_and_stride3_does_not_tile():
    assert conv_output_size(7, 3, stride=1) == 5
    assert conv_output_size(7, 3, stride=2) == 3
    # (7 - 3)/3 + 1 = 2.33: the window does not tile, two positions fit and one pixel is dropped
    assert conv_output_size(7, 3, stride=3) == 2
    assert window_remainder(7, 3, stride=1) == 0
    assert window_remainder(7, 3, stride=2) == 0
    assert window_remainder(7, 3, stride=3) == 1


def test_output_size_formula_with_padding_and_dilation():
    # O = (I + P - D*(K-1) - 1) // S + 1
    assert conv_output_size(28, 3, padding=2) == 28
    assert conv_output_size(10, 3, dilation=2) == 6
    assert effective_kernel(3, 2) == 5
    assert conv_output_size(32, 5, stride=1, padding=4) == 32
    assert conv_output_size(3, 5) == 0


def test_pooling_output_size_formula():
    # O = (I - Ps)/S + 1 for the notes' 4x4 map and 2x2 pooling, stride 2
    assert conv_output_size(4, 2, stride=2) == 2
    assert conv_output_size(28, 2, stride=2) == 14


@pytest.mark.parametrize("size", range(1, 12))
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_gives_ceil_of_size_over_stride(size, kernel, stride, dilation):
    before, after = same_padding(size, kernel, stride, dilation)
    assert after - before in (0, 1)  # the odd extra pixel goes after (bottom/right)
    out = conv_output_size(size, kernel, stride, dilation, before + after)
    assert out == -(-size // stride)


def test_same_padding_for_odd_kernel_stride_1_is_f_minus_1_over_2():
    for f in (1, 3, 5, 7):
        assert same_padding(28, f) == ((f - 1) // 2, (f - 1) // 2)


def test_resolve_padding_forms():
    assert resolve_padding("valid", (5, 5), (3, 3)) == ((0, 0), (0, 0))
    assert resolve_padding("SAME", (5, 6), (3, 2)) == ((1, 1), (0, 1))
    assert resolve_padding(2, (5, 5), (3, 3)) == ((2, 2), (2, 2))
    assert resolve_padding((1, 2), (5, 5), (3, 3)) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 1), (2, 3)), (5, 5), (3, 3)) == ((0, 1), (2, 3))


@pytest.mark.parametrize(
    "padding, error, message",
    [
        ("full", ValueError, "argument 'padding' must be 'valid', 'same'"),
        (-1, ValueError, "argument 'padding' must be >= 0"),
        (((0, -1), (0, 0)), ValueError, "argument 'padding' must be >= 0"),
        (1.5, TypeError, "argument 'padding' must be an int or a pair"),
    ],
)
def test_resolve_padding_rejects_bad_values(padding, error, message):
    with pytest.raises(error, match=message):
        resolve_padding(padding, (5, 5), (3, 3), op="conv2d")


def test_pair_rejects_non_positive_and_non_int():
    assert pair(2, "op", "strides") == (2, 2)
    with pytest.raises(ValueError, match="op: argument 'strides' must be >= 1, received 0"):
        pair(0, "op", "strides")
    with pytest.raises(TypeError, match="op: argument 'strides' must be an int or a pair of ints"):
        pair((1, 2.0), "op", "strides")
    assert pair(np.int64(3), "op", "strides") == (3, 3)
    assert pair((np.int32(1), np.uint8(2)), "op", "strides") == (1, 2)
    assert all(type(v) is int for v in pair(np.int64(3), "op", "strides"))
    with pytest.raises(TypeError):
        pair(True, "op", "strides")


def test_check_window_fits_names_op_and_sizes():
    check_window_fits((3, 3), ((0, 0), (0, 0)), (3, 3), (1, 1), "conv2d")
    with pytest.raises(ValueError, match="conv2d: the kernel spans 5 pixels along the height"):
        check_window_fits((3, 3), ((0, 0), (0, 0)), (3, 3), (2, 1), "conv2d")
