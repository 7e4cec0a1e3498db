import numpy as np
import pytest
from helpers import TORCH_MODE, check_grad, compare_torch, nchw_to_nhwc, nhwc_to_nchw

import svertka
from svertka import ops
from svertka.kernels.pad import MODES

rng = np.random.default_rng(2)



@pytest.mark.parametrize(
    "mode, row",
    [
        ("zeros", "00ABC00"),
        ("replicate", "AAABCCC"),
        ("symmetric", "BAABCCB"),
        ("reflect", "CBABCBA"),
        ("circular", "BCABCAB"),
    ],
)
def test_the_notes_padding_strings_on_abc(mode, row):
    abc = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3, 1)
    y = ops.pad(abc, ((0, 0), (2, 2)), mode).numpy().ravel()
    assert "".join("0ABC"[int(v)] for v in y) == row


# On a 3x4 input, ((2, 2), (3, 3)) is the widest reflect allows and ((3, 3), (4, 4)) the widest
# symmetric and circular allow; zeros and replicate have no limit.
PADDINGS = [1, (2, 0), ((0, 2), (3, 1)), ((2, 2), (3, 3))]


@pytest.mark.parametrize(
    "mode, padding",
    [(m, p) for m in MODES for p in PADDINGS]
    + [(m, ((3, 3), (4, 4))) for m in MODES if m != "reflect"]
    + [("zeros", ((5, 0), (0, 6))), ("replicate", ((5, 0), (0, 6)))],
)
def test_gradient_in_every_mode(mode, padding):
    check_grad(lambda x: ops.pad(x, padding, mode), rng.standard_normal((2, 3, 4, 2)))


@pytest.mark.parametrize("mode", list(TORCH_MODE))
@pytest.mark.parametrize("pads", [((1, 1), (1, 1)), ((0, 2), (3, 1)), ((2, 1), (0, 0))])
def test_matches_torch_pad(mode, pads):
    F = pytest.importorskip("torch.nn.functional")
    (t, b), (l, r) = pads
    compare_torch(
        lambda x: ops.pad(x, pads, mode),
        lambda x: nchw_to_nhwc(F.pad(nhwc_to_nchw(x), (l, r, t, b), mode=TORCH_MODE[mode])),
        rng.standard_normal((2, 4, 5, 3)),
    )


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32(mode):
    x = svertka.Tensor(rng.standard_normal((1, 4, 4, 2)).astype(np.float32), requires_grad=True)
    y = ops.pad(x, 1, mode)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_padding_forms_agree():
    x = rng.standard_normal((1, 3, 4, 1))
    by_int = ops.pad(x, 2, "reflect").numpy()
    np.testing.assert_array_equal(by_int, ops.pad(x, (2, 2), "reflect").numpy())
    np.testing.assert_array_equal(by_int, ops.pad(x, ((2, 2), (2, 2)), "reflect").numpy())
    assert ops.pad(x, ((1, 0), (0, 3))).shape == (1, 4, 7, 1)


def test_replicate_corner_gradient_collects_the_whole_corner():
    """The top-left pixel is the source of a 2x2 corner, a 2-long strip on each side, itself."""
    x = svertka.Tensor(rng.standard_normal((1, 3, 3, 1)), requires_grad=True)
    ops.pad(x, 2, "replicate").sum().backward()
    assert x.grad[0, 0, 0, 0] == 9.0 and x.grad[0, 1, 1, 0] == 1.0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"mode": "mirror"},
            ValueError,
            r"pad: argument 'mode' must be one of 'zeros', "
            r"'replicate', 'reflect', 'symmetric', 'circular'",
        ),
        ({"padding": -1}, ValueError, r"pad: argument 'padding' must be >= 0, received -1"),
        ({"padding": ((1, -2), (0, 0))}, ValueError, r"pad: argument 'padding' must be >= 0"),
        ({"padding": "same"}, ValueError, r"pad: .*'valid'/'same' depend on a kernel"),
        ({"padding": 1.5}, TypeError, r"pad: argument 'padding' must be an int"),
        (
            {"padding": (3, 0), "mode": "reflect"},
            ValueError,
            r"pad: padding mode 'reflect' needs padding <= size - 1 on each side, received padding "
            r"\(3, 3\) along the height of size 3 \(at most 2\)",
        ),
        (
            {"padding": (0, 5), "mode": "circular"},
            ValueError,
            r"pad: padding mode 'circular' needs padding <= size .* width of size 4 \(at most 4\)",
        ),
        (
            {"padding": (4, 0), "mode": "symmetric"},
            ValueError,
            r"'symmetric' needs padding <= size",
        ),
    ],
)
def test_bad_arguments(kwargs, error, message):
    args = {"padding": 1, "mode": "zeros", **kwargs}
    with pytest.raises(error, match=message):
        ops.pad(np.zeros((1, 3, 4, 1)), **args)


def test_bad_rank():
    with pytest.raises(
        ValueError,
        match=r"pad: argument 'x' must be 4-D \(N, H, W, C\), "
        r"received shape \(3, 4\)",
    ):
        ops.pad(np.zeros((3, 4)), 1)
