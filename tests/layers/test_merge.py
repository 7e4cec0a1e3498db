import numpy as np
import pytest
from tests.helpers import check_grad, compare_torch

import svertka
from svertka.layers import (
    Add,
    Arithmetic,
    Average,
    Concatenate,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    Maximum,
    MaxPooling2D,
    Minimum,
    Multiply,
    Subtract,
    SymbolicTensor,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
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


# -- Subtract, Multiply, Average, Maximum, Minimum, Arithmetic; functional shortcuts -----------


def d(*shape):
    """Float64 values without ties (maximum/minimum's gradient is then unambiguous)."""
    return rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) / 7 - 3


ELEMENTWISE = [
    (Subtract, 2, lambda xs: xs[0] - xs[1]),
    (Multiply, 3, lambda xs: xs[0] * xs[1] * xs[2]),
    (Average, 3, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
    (Maximum, 3, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
    (Minimum, 2, lambda xs: np.minimum(xs[0], xs[1])),
]


@pytest.mark.parametrize("cls, n, reference", ELEMENTWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_merge_forward_and_float64_gradients(cls, n, reference):
    arrays = list(d(n, 2, 3, 4))  # distinct values across the inputs: no ties
    np.testing.assert_allclose(cls()([svertka.Tensor(a) for a in arrays]).numpy(),
                               reference(arrays), rtol=1e-12)
    check_grad(lambda *xs: cls()(list(xs)), *arrays)


TORCH = {
    Subtract: lambda xs: xs[0] - xs[1],
    Multiply: lambda xs: xs[0] * xs[1] * xs[2],
    Average: lambda xs: (xs[0] + xs[1] + xs[2]) / 3,
    Maximum: lambda xs: __import__("torch").maximum(__import__("torch").maximum(xs[0], xs[1]),
                                                    xs[2]),
    Minimum: lambda xs: __import__("torch").minimum(xs[0], xs[1]),
}


@pytest.mark.parametrize("cls, n, reference", ELEMENTWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_merge_matches_pytorch(cls, n, reference):
    arrays = list(d(n, 2, 5))
    compare_torch(lambda *xs: cls()(list(xs)), lambda *xs: TORCH[cls](xs), *arrays)


@pytest.mark.parametrize("op, constant, reverse, reference", [
    ("add", 2.5, False, lambda x: x + 2.5),
    ("subtract", 2.0, True, lambda x: 2.0 - x),
    ("multiply", -1.0, False, lambda x: -x),
    ("divide", 4.0, False, lambda x: x / 4.0),
    ("divide", 3.0, True, lambda x: 3.0 / x),
])
def test_arithmetic_with_a_constant_forward_and_gradient(op, constant, reverse, reference):
    x = d(2, 3) + 0.5  # no zero: 3 / x stays finite
    layer = Arithmetic(op, constant=constant, reverse=reverse)
    np.testing.assert_allclose(layer(svertka.Tensor(x)).numpy(), reference(x), rtol=1e-12)
    check_grad(lambda t: Arithmetic(op, constant=constant, reverse=reverse)(t), x)


def test_arithmetic_of_two_inputs_divides_with_gradients():
    a, b = d(2, 3), d(2, 3) + 30
    check_grad(lambda x, y: Arithmetic("divide")([x, y]), a, b)
    compare_torch(lambda x, y: Arithmetic("divide")([x, y]), lambda x, y: x / y, a, b)


def test_functional_shortcuts_build_the_layers():
    a, b = Input((4,)), Input((4,))
    for fn, cls in [(add, Add), (subtract, Subtract), (multiply, Multiply),
                    (average, Average), (maximum, Maximum), (minimum, Minimum)]:
        y = fn([a, b], name=f"my_{cls.__name__.lower()}")
        assert isinstance(y.layer, cls) and y.shape == (None, 4)
        assert y.layer.name == f"my_{cls.__name__.lower()}"
    y = concatenate([a, b], axis=1)
    assert isinstance(y.layer, Concatenate) and y.shape == (None, 8)


def test_operators_on_symbolic_tensors_build_serialisable_nodes():
    from svertka.layers import deserialize, serialize

    x, z = Input((3,)), Input((3,))
    y = 2 * x - x / z + 1
    y += x
    y = -y
    model = svertka.Model([x, z], y)
    xv, zv = d(4, 3), d(4, 3) + 30
    expected = -((2 * xv - xv / zv + 1) + xv)
    np.testing.assert_allclose(model([xv, zv]).numpy(), expected, rtol=1e-5)
    kinds = sorted({type(la).__name__ for la in model.layers})
    assert kinds == ["Add", "Arithmetic", "Subtract"]
    for layer in model.layers:
        clone = deserialize(serialize(layer))
        assert clone.get_config() == layer.get_config()
    assert (x * z).layer.__class__ is Multiply and (x - z).layer.__class__ is Subtract
    assert (x.dtype, x.ndim) == ("float32", 2)
    with pytest.raises(TypeError):
        x + "a"


def test_new_merge_errors_name_the_layer_and_what_was_received():
    a, b = Input((4,)), Input((3,))
    with pytest.raises(ValueError, match="Subtract: expected a list of exactly 2 inputs"):
        Subtract()([a, a, a])
    with pytest.raises(ValueError, match="Multiply: expected inputs of one shape"):
        Multiply()([a, b])
    with pytest.raises(ValueError, match="Arithmetic: argument 'op' must be one of"):
        Arithmetic("power")
    with pytest.raises(TypeError, match="Arithmetic: argument 'constant' must be a number"):
        Arithmetic("add", constant="1")
