import numpy as np
import pytest

import svertka
from svertka.layers import (
    Add,
    Concatenate,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    MaxPooling2D,
    SymbolicTensor,
)

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_add_sums_and_sends_the_gradient_to_every_input():
    xs = [svertka.Tensor(r(2, 3, 3, 4), requires_grad=True) for _ in range(3)]
    y = Add()(xs)
    np.testing.assert_allclose(y.numpy(), sum(x.data for x in xs), rtol=1e-6)
    gy = r(*y.shape)
    y.backward(gy)
    for x in xs:
        np.testing.assert_array_equal(x.grad, gy)


@pytest.mark.parametrize(
    "axis, shapes, out",
    [
        (-1, [(2, 3, 3, 4), (2, 3, 3, 1)], (2, 3, 3, 5)),
        (1, [(2, 3, 4), (2, 1, 4), (2, 2, 4)], (2, 6, 4)),
        (2, [(2, 3, 2, 4), (2, 3, 5, 4)], (2, 3, 7, 4)),
    ],
)
def test_concatenate_joins_along_axis_and_splits_the_gradient(axis, shapes, out):
    xs = [svertka.Tensor(r(*s), requires_grad=True) for s in shapes]
    layer = Concatenate(axis=axis)
    y = layer(xs)
    assert y.shape == out
    assert layer.compute_output_shape([(None, *s[1:]) for s in shapes]) == (None, *out[1:])
    np.testing.assert_array_equal(y.numpy(), np.concatenate([x.data for x in xs], axis=axis))
    gy = r(*out)
    y.backward(gy)
    pieces = np.split(gy, np.cumsum([s[axis] for s in shapes])[:-1], axis=axis)
    for x, g in zip(xs, pieces):
        np.testing.assert_array_equal(x.grad, g)


def test_functional_chain_with_a_shortcut_and_a_concatenation():
    x = Input((8, 8, 3))
    a = Conv2D(4, 3, padding="same", activation="relu")(x)
    b = Conv2D(4, 1)(x)
    s = Add()([a, b])
    c = Concatenate()([s, x])
    p = MaxPooling2D()(c)
    y = Dense(2)(Flatten()(p))
    g = Dense(5)(GlobalAveragePooling2D()(c))
    assert [t.shape for t in (a, b, s, c, p, y, g)] == [
        (None, 8, 8, 4),
        (None, 8, 8, 4),
        (None, 8, 8, 4),
        (None, 8, 8, 7),
        (None, 4, 4, 7),
        (None, 2),
        (None, 5),
    ]
    assert isinstance(s, SymbolicTensor) and s.parents == (a, b)
    assert isinstance(s.layer, Add) and c.parents[1] is x


def test_unknown_sizes_merge_with_known_ones():
    a, b = Input((None, 8, 3)), Input((5, 8, 3))
    assert Add()([a, b]).shape == (None, 5, 8, 3)
    assert Concatenate(axis=1)([a, b]).shape == (None, None, 8, 3)


def test_errors():
    a, b = Input((4, 4, 3)), Input((4, 4, 2))
    with pytest.raises(ValueError, match=r"Add: expected inputs of one shape, received shapes"):
        Add()([a, b])
    with pytest.raises(
        ValueError, match="Add: expected a list of at least 2 inputs, received one input"
    ):
        Add()(a)
    with pytest.raises(
        ValueError, match="expected a list of at least 2 inputs, received a list of 1"
    ):
        Add()([a])
    with pytest.raises(ValueError, match="Add: expected inputs of one shape"):
        Add()([r(2, 3), r(2, 1)])  # no silent broadcasting
    with pytest.raises(ValueError, match="Concatenate: inputs must match on every axis but"):
        Concatenate(axis=1)([a, b])
    with pytest.raises(ValueError, match="Concatenate: expected inputs of one rank"):
        Concatenate()([a, Input((4, 3))])
    with pytest.raises(ValueError, match="Concatenate: argument 'axis' must name a non-batch"):
        Concatenate(axis=0)([a, a])
    with pytest.raises(TypeError, match="Concatenate: argument 'axis' must be an int"):
        Concatenate(axis="channels")
    layer = Add()
    layer([r(2, 3), r(2, 3)])
    with pytest.raises(ValueError, match="Add: expected inputs of one shape"):
        layer([r(2, 3), r(2, 4)])  # checked on every call, not only the first
