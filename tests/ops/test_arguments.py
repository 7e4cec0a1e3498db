"""The functional API checks its size and rate arguments like the layers do (NumPy integers
accepted, NaN and infinity rejected), and computes in floating point whatever the input's
dtype: integer and boolean inputs are cast to float32 at the op boundary, never wrapped
around or truncated in their own dtype."""

import numpy as np
import pytest

import svertka
from svertka import ops

NAN, INF = float("nan"), float("inf")
X = np.random.default_rng(0).random((2, 6, 6, 3)).astype(np.float32)
W = np.random.default_rng(1).random((3, 3, 3, 4)).astype(np.float32)
RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: ops.conv2d(X, W, strides=0), ValueError, "conv2d: argument 'strides'"),
        (lambda: ops.conv2d(X, W, strides=2.0), TypeError, "conv2d: argument 'strides'"),
        (lambda: ops.conv2d(X, W, strides=True), TypeError, "conv2d: argument 'strides'"),
        (lambda: ops.conv2d(X, W, dilation_rate=NAN), TypeError,
         "conv2d: argument 'dilation_rate'"),
        (lambda: ops.max_pool2d(X, pool_size=0), ValueError, "max_pool2d: argument 'pool_size'"),
        (lambda: ops.avg_pool2d(X, 2, strides=-1), ValueError, "avg_pool2d: argument 'strides'"),
        (lambda: ops.dropout(X, NAN, RNG), ValueError, "dropout: argument 'rate'"),
        (lambda: ops.dropout(X, INF, RNG), ValueError, "dropout: argument 'rate'"),
        (lambda: ops.batch_norm(X, None, None, None, None, True, epsilon=0.0), ValueError,
         "batch_norm: argument 'epsilon' must be a finite number > 0.0"),
        (lambda: ops.batch_norm(X, None, None, None, None, True, momentum=NAN), ValueError,
         "batch_norm: argument 'momentum'"),
        (lambda: ops.leaky_relu(X, NAN), ValueError, "leaky_relu: argument 'alpha'"),
        (lambda: ops.elu(X, INF), ValueError, "elu: argument 'alpha'"),
        (lambda: ops.linear_threshold(X, -INF, 1.0), ValueError,
         "linear_threshold: argument 'min_value'"),
        (lambda: ops.maxout(X, 0), ValueError, "maxout: argument 'pieces'"),
        (lambda: ops.maxout(X, 1.5), TypeError, "maxout: argument 'pieces'"),
        (lambda: ops.gelu(X, approximate="tanh"), TypeError, "gelu: argument 'approximate'"),
        (lambda: ops.softmax(X, axis=1.0), TypeError, "softmax: argument 'axis'"),
    ],
)
def test_bad_arguments_name_the_op_and_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_integers_are_accepted_wherever_an_int_is():
    assert ops.conv2d(X, W, strides=np.int64(2), padding=np.int32(1),
                      dilation_rate=(np.int64(1), np.uint8(1))).shape == (2, 3, 3, 4)
    assert ops.max_pool2d(X, np.int64(2), strides=np.int16(2)).shape == (2, 3, 3, 3)
    assert ops.maxout(X, np.int64(3)).shape == (2, 6, 6, 1)
    assert ops.softmax(X, axis=np.int64(-1)).shape == X.shape
    assert ops.pad(X, np.int64(1)).shape == (2, 8, 8, 3)


def test_uint8_convolution_is_computed_in_float32_not_wrapped_around():
    x = np.full((1, 3, 3, 1), 200, np.uint8)
    w = np.ones((3, 3, 1, 1), np.uint8)
    y = ops.conv2d(x, w)  # nine 200s: 1800, which uint8 arithmetic wrapped to 8
    assert y.dtype == np.float32 and y.numpy().item() == 1800.0
    expected = ops.conv2d(X, W).numpy()
    got = ops.conv2d((X * 255).astype(np.uint8), W).numpy()
    np.testing.assert_allclose(
        got, ops.conv2d((X * 255).astype(np.uint8).astype(np.float32), W).numpy())
    assert expected.dtype == got.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize(
    "op",
    [
        lambda x: ops.conv2d(x, np.ones((2, 2, 1, 1), np.float32)),
        lambda x: ops.conv2d(x, np.ones((2, 2, 1, 1), x.dtype)),
        lambda x: ops.max_pool2d(x, 2),
        lambda x: ops.avg_pool2d(x, 2),
        lambda x: ops.sum_pool2d(x, 2),
        lambda x: ops.global_avg_pool2d(x),
        lambda x: ops.pad(x, 1),
        lambda x: ops.relu(x),
        lambda x: ops.add(x, x),
        lambda x: ops.mul(x, 0.5),
        lambda x: ops.div(x, 3),
        lambda x: ops.batch_norm(x, None, None, None, None, True),
        lambda x: ops.dense(x.reshape(1, -1), np.ones((16, 2), np.float32)),
    ],
    ids=["conv_f32_w", "conv_same_dtype", "max_pool", "avg_pool", "sum_pool", "global_avg",
         "pad", "relu", "add", "mul", "div", "batch_norm", "dense"],
)
def test_integer_and_bool_inputs_give_what_their_float32_copy_gives(op, dtype):
    x = (np.arange(16).reshape(1, 4, 4, 1) * 37 % 256).astype(dtype)
    y = op(x)
    expected = op(x.astype(np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)


def test_arithmetic_with_a_float_number_is_not_truncated():
    x = svertka.Tensor(np.array([200, 255], np.uint8))
    assert (x * 0.5).numpy().tolist() == [100.0, 127.5]
    assert (x + x).numpy().tolist() == [400.0, 510.0]
    assert (1 - svertka.Tensor(np.array([True, False]))).numpy().tolist() == [0.0, 1.0]


def test_the_layers_on_raw_uint8_pixels():
    from svertka.layers import Conv2D, Rescaling

    pixels = np.full((1, 4, 4, 1), 255, np.uint8)
    assert Rescaling(1 / 255)(pixels).numpy().max() == 1.0
    conv = Conv2D(2, 3)
    np.testing.assert_allclose(conv(pixels).numpy(), conv(pixels.astype(np.float32)).numpy())


def test_non_real_inputs_are_a_type_error_naming_the_op():
    with pytest.raises(TypeError, match="conv2d: argument 'x' must hold real numbers, received "
                                        "dtype complex128"):
        ops.conv2d(X.astype(complex), W)
    with pytest.raises(TypeError, match="add: argument 'b' must hold real numbers"):
        ops.add(X, np.array(["a"]))
