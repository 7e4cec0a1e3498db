"""Padding kernels against the per-element definition of the modes (kernels.pad.naive_pad)."""

import numpy as np
import pytest

from svertka.kernels.pad import (
    MODES,
    check_mode,
    check_pad_fits,
    naive_pad,
    naive_pad_backward,
    pad_backward,
    pad_forward,
    pad_index,
)

rng = np.random.default_rng(0)


# Up to the widest padding a 3x4 input allows (reflect: 2 and 3, symmetric/circular: 3 and 4);
# the cases a mode cannot take are left out of its grid.
CASES = [
    ((1, 1), (1, 1)),
    ((0, 2), (1, 0)),
    ((2, 1), (3, 2)),
    ((2, 2), (3, 3)),
    ((3, 3), (4, 4)),
    ((0, 0), (0, 0)),
]


def fits(pads, mode, hw=(3, 4)):
    try:
        check_pad_fits(hw, pads, mode, "test")
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("mode, pads", [(m, p) for m in MODES for p in CASES if fits(p, m)])
def test_forward_and_backward_match_naive(mode, pads):
    x = rng.standard_normal((2, 3, 4, 2))
    y = pad_forward(x, pads, mode)
    np.testing.assert_array_equal(y, naive_pad(x, pads, mode))
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(
        pad_backward(gy, pads, mode), naive_pad_backward(gy, pads, mode), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("mode", MODES)
def test_backward_is_the_adjoint_of_forward(mode):
    """<pad(x), g> == <x, pad_backward(g)> for any x, g: the defining property of a gradient."""
    pads = ((2, 1), (1, 2))
    x = rng.standard_normal((1, 4, 3, 3))
    g = rng.standard_normal(pad_forward(x, pads, mode).shape)
    np.testing.assert_allclose(
        (pad_forward(x, pads, mode) * g).sum(), (x * pad_backward(g, pads, mode)).sum(), rtol=1e-12
    )


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("zeros", [-1, -1, 0, 1, 2, -1, -1]),
        ("replicate", [0, 0, 0, 1, 2, 2, 2]),
        ("symmetric", [1, 0, 0, 1, 2, 2, 1]),
        ("reflect", [2, 1, 0, 1, 2, 1, 0]),
        ("circular", [1, 2, 0, 1, 2, 0, 1]),
    ],
)
def test_pad_index_on_abc(mode, expected):
    assert pad_index(3, 2, 2, mode).tolist() == expected


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32(mode):
    x = rng.standard_normal((1, 3, 3, 2)).astype(np.float32)
    y = pad_forward(x, ((1, 1), (2, 0)), mode)
    assert y.dtype == np.float32
    assert pad_backward(y, ((1, 1), (2, 0)), mode).dtype == np.float32


def test_no_padding_returns_the_input_untouched():
    x = rng.standard_normal((1, 2, 2, 1))
    assert pad_forward(x, ((0, 0), (0, 0)), "reflect") is x


def test_backward_does_not_modify_the_gradient():
    gy = rng.standard_normal((1, 5, 5, 1))
    before = gy.copy()
    pad_backward(gy, ((1, 1), (1, 1)), "replicate")
    np.testing.assert_array_equal(gy, before)


@pytest.mark.parametrize(
    "mode, size, widest_ok",
    [("reflect", 3, 2), ("symmetric", 3, 3), ("circular", 3, 3), ("reflect", 1, 0)],
)
def test_mode_limits(mode, size, widest_ok):
    check_pad_fits((size, 5), ((widest_ok, 0), (0, 0)), mode, "pad")
    with pytest.raises(ValueError, match=rf"pad: padding mode '{mode}' needs padding <= size"):
        check_pad_fits((size, 5), ((0, widest_ok + 1), (0, 0)), mode, "pad")


def test_zeros_and_replicate_have_no_width_limit():
    check_pad_fits((2, 2), ((9, 9), (9, 9)), "zeros", "pad")
    check_pad_fits((2, 2), ((9, 9), (9, 9)), "replicate", "pad")
    with pytest.raises(ValueError, match="at least 1 pixel"):
        check_pad_fits((0, 2), ((1, 0), (0, 0)), "replicate", "pad")


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"'zeros', 'replicate', 'reflect', 'symmetric', "
        r"'circular', received 'mirror'",
    ):
        check_mode("mirror", "pad")
