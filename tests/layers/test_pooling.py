import numpy as np
import pytest

import svertka
from svertka import ops
from svertka.layers import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Input,
    MaxPooling2D,
    MinPooling2D,
    SumPooling2D,
)

rng = np.random.default_rng(0)
NOTES_MAP = np.array([[6.0, 6, 6, 6], [4, 5, 5, 4], [2, 4, 4, 2], [2, 4, 4, 2]]).reshape(1, 4, 4, 1)
POOLS = [MaxPooling2D, AveragePooling2D, SumPooling2D, MinPooling2D]


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "cls, expected",
    [
        (MaxPooling2D, [[6, 6], [4, 4]]),
        (AveragePooling2D, [[5.25, 5.25], [3, 3]]),
        (SumPooling2D, [[21, 21], [12, 12]]),
        (MinPooling2D, [[4, 4], [2, 2]]),
    ],
)
def test_the_notes_pooling_example(cls, expected):
    y = cls((2, 2), strides=2)(NOTES_MAP)
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], expected)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize(
    "geometry",
    [
        dict(),
        dict(pool_size=3),
        dict(pool_size=3, strides=1),
        dict(pool_size=(2, 3), strides=(1, 2)),
        dict(pool_size=3, strides=2, padding="same"),
        dict(pool_size=2, padding="same"),
        dict(pool_size=3, strides=2, padding=1),
        dict(pool_size=(3, 2), padding=((2, 0), (0, 1))),
    ],
)
def test_output_shape_of_call_matches_compute_output_shape(cls, geometry):
    layer = cls(**geometry)
    y = layer(r(2, 7, 6, 3))
    assert y.shape[0] == 2 and y.shape[-1] == 3
    assert layer.compute_output_shape((None, 7, 6, 3)) == (None, *y.shape[1:])
    assert layer.count_params() == 0 and layer.weights == []


def test_strides_default_to_pool_size_and_halve_the_notes_maps():
    layer = MaxPooling2D((2, 2))
    assert layer.strides == (2, 2)
    assert layer(Input((28, 28, 32))).shape == (None, 14, 14, 32)
    assert layer(Input((7, 7, 64))).shape == (None, 3, 3, 64)
    assert layer.compute_output_shape((None, None, 9, 1)) == (None, None, 4, 1)


@pytest.mark.parametrize(
    "cls, op",
    [
        (MaxPooling2D, ops.max_pool2d),
        (AveragePooling2D, ops.avg_pool2d),
        (SumPooling2D, ops.sum_pool2d),
        (MinPooling2D, ops.min_pool2d),
    ],
)
def test_matches_the_op_forward_and_gradient(cls, op):
    x = svertka.Tensor(r(2, 5, 6, 2), requires_grad=True)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    y = cls(3, strides=2, padding="same")(x)
    y2 = op(x2, 3, 2, "same")
    gy = r(*y.shape)
    y.backward(gy)
    y2.backward(gy)
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    np.testing.assert_array_equal(x.grad, x2.grad)


def test_window_is_resolved_for_the_input():
    layer = AveragePooling2D(3, strides=2, padding="same")
    assert layer.window((None, 8, 7, 1)) == ((3, 3), (2, 2), (1, 1), ((0, 1), (1, 1)))
    with pytest.raises(ValueError, match="AveragePooling2D.window: 'same' padding"):
        layer.window()
    assert MaxPooling2D(2).window() == ((2, 2), (2, 2), (1, 1), ((0, 0), (0, 0)))


@pytest.mark.parametrize(
    "cls, expected", [(GlobalAveragePooling2D, [[3.0, 4.0]]), (GlobalMaxPooling2D, [[6.0, 7.0]])]
)
def test_global_pooling_values_and_shapes(cls, expected):
    x = np.arange(8.0, dtype=np.float32).reshape(1, 2, 2, 2)
    assert cls()(x).numpy().tolist() == expected
    kept = cls(keepdims=True)
    assert kept(x).numpy().reshape(1, 2).tolist() == expected and kept(x).shape == (1, 1, 1, 2)
    assert kept.compute_output_shape((None, 5, 5, 2)) == (None, 1, 1, 2)
    assert cls()(Input((None, None, 16))).shape == (None, 16)
    assert cls().window((None, 5, 4, 2)) == ((5, 4), (5, 4), (1, 1), ((0, 0), (0, 0)))


def test_global_average_pooling_gradient_matches_the_op():
    x = svertka.Tensor(r(2, 3, 4, 5), requires_grad=True)
    gy = r(2, 1, 1, 5)
    GlobalAveragePooling2D(keepdims=True)(x).backward(gy)
    x2 = svertka.Tensor(x.data, requires_grad=True)
    ops.global_avg_pool2d(x2).backward(gy.reshape(2, 5))
    np.testing.assert_allclose(x.grad, x2.grad)


@pytest.mark.parametrize("cls", POOLS)
def test_rejects_bad_arguments(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=f"{name}: argument 'pool_size' must be >= 1"):
        cls(0)
    with pytest.raises(ValueError, match=f"{name}: argument 'strides'"):
        cls(2, strides=(1, 0))
    with pytest.raises(ValueError, match=f"{name}: argument 'padding' must be smaller than"):
        cls(2, padding=2)
    with pytest.raises(ValueError, match=f"{name}: argument 'padding'"):
        cls(2, padding="causal")
    with pytest.raises(ValueError, match=f"{name}: expected 4-D inputs"):
        cls(2)(r(2, 4, 4))
    with pytest.raises(ValueError, match=f"{name}: the pool window spans 3 pixels"):
        cls(3)(Input((2, 5, 1)))
    with pytest.raises(TypeError, match=f"{name}: unexpected keyword arguments"):
        cls(2, data_format="channels_first")


def test_global_pooling_rejects_non_images():
    with pytest.raises(ValueError, match="GlobalMaxPooling2D: expected 4-D inputs"):
        GlobalMaxPooling2D()(r(2, 3))
    with pytest.raises(TypeError, match="GlobalAveragePooling2D: argument 'keepdims'"):
        GlobalAveragePooling2D(keepdims=1)
