import numpy as np
import pytest
from helpers import check_grad, compare_torch, nhwc_to_nchw

from svertka import ops

rng = np.random.default_rng(3)


@pytest.mark.parametrize("shape, strides, channels", [
    ((2, 4, 4, 2), 2, 4), ((1, 5, 5, 3), 2, 8), ((2, 3, 4, 2), 1, 3), ((1, 6, 6, 1), 3, 1),
])
def test_gradient(shape, strides, channels):
    check_grad(lambda x: ops.identity_shortcut(x, strides, channels), rng.standard_normal(shape))


@pytest.mark.parametrize("shape, strides, channels", [((2, 8, 8, 16), 2, 32), ((1, 7, 7, 3), 2, 6)])
def test_matches_the_usual_pytorch_option_a(shape, strides, channels):
    torch = pytest.importorskip("torch")
    pad = channels - shape[3]

    def theirs(x):
        y = nhwc_to_nchw(x)[:, :, ::strides, ::strides]
        y = torch.nn.functional.pad(y, (0, 0, 0, 0, pad // 2, pad - pad // 2))
        return y.permute(0, 2, 3, 1)

    compare_torch(lambda x: ops.identity_shortcut(x, strides, channels), theirs,
                  rng.standard_normal(shape))


def test_keeps_the_dtype_and_places_the_input_in_the_middle():
    x = np.ones((1, 2, 2, 2), np.float32)
    y = ops.identity_shortcut(x, 1, 5).numpy()
    assert y.dtype == np.float32
    assert y[0, 0, 0].tolist() == [0, 1, 1, 0, 0]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="identity_shortcut: argument 'channels' must be >= the 4"):
        ops.identity_shortcut(np.ones((1, 2, 2, 4)), 1, 2)
    with pytest.raises(ValueError, match="identity_shortcut: argument 'strides'"):
        ops.identity_shortcut(np.ones((1, 2, 2, 4)), 0, 4)
