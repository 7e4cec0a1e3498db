"""Lambda: applies its function, probes its output shape, and saves only functions of
svertka.ops (by name); any other callable is refused clearly at save time."""

import json

import numpy as np
import pytest

import svertka
from svertka import layers, ops
from svertka.layers import Input, Lambda, deserialize, serialize
from svertka.layers.base import weight_budget

rng = np.random.default_rng(11)


def test_applies_the_function_with_its_arguments_and_passes_gradients():
    x = svertka.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    layer = Lambda(ops.l2_normalize, arguments={"axis": 1})
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), ops.l2_normalize(x, axis=1).numpy())
    y.sum().backward()
    assert x.grad is not None and np.abs(x.grad).sum() > 0
    assert layer.count_params() == 0 and layer.name.startswith("lambda")


@pytest.mark.parametrize(
    "fn, shape, expected",
    [
        (ops.l2_normalize, (None, 5, 3), (None, 5, 3)),
        (ops.l2_normalize, (None, None, None, 3), (None, None, None, 3)),  # unknown stay unknown
        (lambda t: ops.sum(t, axis=1), (None, None, 4), (None, 4)),  # fixed despite unknown H
        (ops.flatten, (None, 2, 3, 4), (None, 24)),
        (lambda t: ops.reshape(t, (t.shape[0], -1, 2)), (None, 6), (None, 3, 2)),
    ],
)
def test_output_shape_is_probed_on_zeros(fn, shape, expected):
    assert Lambda(fn)(Input(shape[1:])).shape == expected


def test_declared_output_shape_wins_and_lists_of_inputs_work():
    layer = Lambda(lambda t: ops.mean(t, axis=-1), output_shape=(7,))
    assert layer(Input((7, 2))).shape == (None, 7)
    both = Lambda(lambda xs: ops.concat(xs, axis=-1))([Input((3,)), Input((2,))])
    assert both.shape == (None, 5)


def test_a_function_of_ops_saves_by_name_and_loads(tmp_path):
    inp = Input((4, 4, 3))
    y = layers.Conv2D(5, 1)(inp)
    y = Lambda(ops.l2_normalize, arguments={"axis": -1}, name="norm")(y)
    y = Lambda("flatten")(y)  # a name of svertka.ops works as well as the function
    model = svertka.Model(inp, y)
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    model.save(tmp_path / "m.svertka")
    loaded = svertka.load_model(tmp_path / "m.svertka")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    norm = next(layer for layer in loaded.layers if layer.name == "norm")
    assert norm.function is ops.l2_normalize and norm.arguments == {"axis": -1}
    config = serialize(model.layers[-1])["config"]
    assert config["function"] == "flatten" and config["output_shape"] == [80]  # probed once


def test_loading_never_runs_the_function():
    spec = {"class_name": "Lambda", "config": {"function": "l2_normalize", "name": "n"}}
    assert Lambda(ops.l2_normalize).get_config()["output_shape"] is None  # unbuilt: unknown
    with weight_budget(0), pytest.raises(ValueError, match="must carry its output_shape"):
        deserialize(spec)(Input((3,)))
    spec["config"]["output_shape"] = [3]
    with weight_budget(0):
        assert deserialize(spec)(Input((3,))).shape == (None, 3)


def test_config_round_trip_through_json():
    layer = Lambda(ops.leaky_relu, output_shape=(3,), arguments={"alpha": 0.2}, name="lk")
    x = rng.standard_normal((2, 3)).astype(np.float32)
    saved = json.loads(json.dumps(serialize(layer)))
    rebuilt = deserialize(saved)
    assert rebuilt.get_config() == saved["config"] == {
        "name": "lk", "trainable": True, "function": "leaky_relu", "output_shape": [3],
        "arguments": {"alpha": 0.2}}
    np.testing.assert_allclose(rebuilt(x).numpy(), layer(x).numpy())


def test_any_other_callable_cannot_be_saved_and_says_what_to_do(tmp_path):
    layer = Lambda(lambda t: ops.l2_normalize(t, axis=-1))
    x = np.array([[3.0, 4.0]])
    np.testing.assert_allclose(layer(x).numpy(), [[0.6, 0.8]])  # it works, it is not saved
    message = (r"a Lambda can be saved only when its function is one of svertka\.ops .*"
               r"register it with svertka\.layers\.register")
    with pytest.raises(ValueError, match=message):
        layer.get_config()
    model = svertka.Sequential([layers.Dense(2, input_shape=(2,)), layer])
    with pytest.raises(ValueError, match=message):
        model.save(tmp_path / "m.svertka")
    assert not (tmp_path / "m.svertka").exists()


def test_unsaveable_arguments_and_bad_constructor_arguments():
    with pytest.raises(ValueError, match="argument 'arguments' must hold JSON values"):
        Lambda(ops.l2_normalize, arguments={"epsilon": np.float32(1e-6)}).get_config()
    with pytest.raises(ValueError, match="Lambda: argument 'function' must be a callable or "
                                         "the name of a function of svertka.ops, received 'eval'"):
        Lambda("eval")
    with pytest.raises(ValueError, match="unknown|must be a callable or the name"):
        deserialize({"class_name": "Lambda", "config": {"function": "__import__"}})
    with pytest.raises(TypeError, match="Lambda: argument 'function' must be a callable"):
        Lambda(3)
    with pytest.raises(TypeError, match="Lambda: argument 'arguments' must be a dict"):
        Lambda(ops.relu, arguments=[1])
    with pytest.raises(ValueError, match="Lambda: argument 'output_shape' must be a tuple"):
        Lambda(ops.relu, output_shape=(-2,))
