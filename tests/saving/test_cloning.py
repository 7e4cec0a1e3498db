"""clone_model, to_json / model_from_json and get_config / from_config of models."""

import json

import numpy as np
import pytest

import svertka
from svertka import layers, saving
from svertka.models import Model, Sequential, clone_model, model_from_json, model_to_json
from svertka.models.architecture import config_to_model, model_config
from svertka.utils import set_random_seed


@saving.register_keras_serializable(package="clone_t")
class Gate(layers.Layer):
    def build(self, input_shape):
        self.g = self.add_weight("g", (input_shape[-1],), "random_normal")

    def call(self, x, training=False):
        return x * self.g


@saving.register_keras_serializable(package="clone_t")
class Head(Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, x, training=False):
        return self.dense(x)

    def get_config(self):
        return {"name": self.name, "units": self.units}


def sequential():
    set_random_seed(0)
    return Sequential([layers.Input((4,)), layers.Dense(5, activation="relu", name="h"),
                       Gate(name="g"), layers.Dense(2, name="o")], name="seq")


def functional_with_shared_layer():
    set_random_seed(0)
    x = layers.Input((4,))
    shared = layers.Dense(4, activation="tanh", name="shared")
    y = layers.Concatenate()([shared(x), shared(shared(x))])
    return Model(x, layers.Dense(2, name="o")(y), name="fun")


def no_shared_tensors(a, b) -> bool:
    ids = {id(t) for t in a.weights}
    return not any(id(t) in ids for t in b.weights)


@pytest.mark.parametrize("make", [sequential, functional_with_shared_layer])
def test_clone_has_the_architecture_and_fresh_weights_sharing_nothing(make):
    model = make()
    clone = clone_model(model)
    assert type(clone) is type(model) and clone.name == model.name
    assert model_config(clone) == model_config(model)
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert no_shared_tensors(model, clone)
    assert not all(np.array_equal(a, b) for a, b in zip(clone.get_weights(),
                                                         model.get_weights()))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)


def test_a_shared_layer_stays_shared_once_in_the_clone():
    model = functional_with_shared_layer()
    clone = clone_model(model)
    assert len(clone.layers) == len(model.layers) and len(clone._nodes) == len(model._nodes)
    shared_nodes = [n for n in clone._nodes if n.layer.name == "shared"]
    assert len(shared_nodes) == 3 and len({id(n.layer) for n in shared_nodes}) == 1


def test_clone_function_is_applied_per_layer_and_input_tensors_replace_inputs():
    model = functional_with_shared_layer()
    seen = []

    def widen(layer):
        seen.append(layer.name)
        if isinstance(layer, layers.Dense) and layer.name == "o":
            return layers.Dense(7, name="o7")
        return type(layer).from_config(layer.get_config())

    clone = clone_model(model, clone_function=widen)
    assert sorted(seen) == sorted(la.name for la in model.layers)  # each layer once
    assert clone.output_shape == (None, 7)
    new_input = layers.Input((4,))
    clone = clone_model(model, input_tensors=new_input)
    assert clone.input is new_input
    with pytest.raises(ValueError, match="argument 'input_tensors' must be 1 symbolic"):
        clone_model(model, input_tensors=[new_input, new_input])
    with pytest.raises(TypeError, match="'clone_function' must return a layer"):
        clone_model(model, clone_function=lambda layer: None)
    with pytest.raises(TypeError, match="argument 'model' must be a svertka Model"):
        clone_model(layers.Dense(2))


def test_clone_of_a_sequential_keeps_its_input_or_takes_a_new_one():
    model = sequential()
    clone = clone_model(model, input_tensors=layers.Input((4,)))
    assert clone.input_shape == (None, 4) and clone.output_shape == (None, 2)
    with pytest.raises(ValueError, match="a Sequential takes one input tensor"):
        clone_model(model, input_tensors=[layers.Input((4,)), layers.Input((4,))])


def test_clone_of_a_subclassed_model_is_rebuilt_from_its_config():
    model = Head(units=4, name="head")
    model(np.ones((2, 3), np.float32))
    clone = clone_model(model)
    assert type(clone) is Head and clone.units == 4 and clone.name == "head"
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert no_shared_tensors(model, clone)
    with pytest.raises(ValueError, match="cloned from its config only"):
        clone_model(model, clone_function=lambda la: la)


@pytest.mark.parametrize("make", [sequential, functional_with_shared_layer])
def test_json_round_trip_gives_the_same_architecture(make):
    model = make()
    text = model_to_json(model)
    assert json.loads(text)["class_name"] in ("Sequential", "Functional")
    back = model_from_json(text)
    assert model_to_json(back) == text
    assert no_shared_tensors(model, back)
    if hasattr(Model, "to_json"):
        assert json.loads(model.to_json()) == json.loads(text)
    assert svertka.models.model_from_json is model_from_json


def test_model_from_json_resolves_custom_classes_and_refuses_what_is_not_a_model():
    class Local(layers.Layer):
        def call(self, x, training=False):
            return x

    model = Sequential([layers.Input((2,)), Local(name="loc")])
    text = model_to_json(model)
    with pytest.raises(ValueError, match=r"unknown layer class 'Local'.*custom_objects"):
        model_from_json(text)
    assert type(model_from_json(text, custom_objects={"Local": Local}).layers[0]) is Local
    with pytest.raises(ValueError, match="model_from_json: the JSON describes a Dense"):
        model_from_json(json.dumps(saving.serialize_keras_object(layers.Dense(2))))
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{")
    with pytest.raises(TypeError, match="must be a JSON string"):
        model_from_json({"class_name": "Sequential"})


def test_subclassed_model_json_round_trip():
    model = Head(units=2, name="h")
    model(np.ones((1, 5), np.float32))
    back = model_from_json(model_to_json(model))
    assert type(back) is Head and back.units == 2
    assert [w.shape for w in back.weights] == [(5, 2), (2,)]


def test_config_to_model_rebuilds_sequential_and_functional_configs():
    for model in (sequential(), functional_with_shared_layer()):
        config = model_config(model)
        json.dumps(config)
        back = config_to_model(type(model), config)
        assert type(back) is type(model) and model_config(back) == config
    with pytest.raises(ValueError, match="Sequential.from_config: the config describes a "
                                         "functional model"):
        config_to_model(Sequential, model_config(functional_with_shared_layer()))
    # Model.from_config of a Sequential's config gives a Sequential, as Keras's
    assert type(config_to_model(Model, model_config(sequential()))) is Sequential


def test_model_methods_follow_keras():
    model = sequential()
    back = Sequential.from_config(model.get_config())
    assert model_config(back) == model_config(model)
    fun = functional_with_shared_layer()
    assert model_config(Model.from_config(fun.get_config())) == model_config(fun)


class _TwoOutputs(layers.Layer):
    def call(self, x):
        return [x, x * 2.0]

    def compute_output_shape(self, shape):
        return [shape, shape]


def test_clone_of_a_layer_with_two_outputs_and_of_dict_inputs_and_outputs():
    """clone_model wires the graph as loading does: a layer of several outputs and a model
    on dicts (its first graph walk of its own handled neither)."""
    a, b = layers.Input((3,)), layers.Input((3,))
    p, q = _TwoOutputs()(layers.Dense(3)(a))
    model = Model({"a": a, "b": b}, {"s": layers.Add()([p, q]), "t": layers.Dense(2)(b)})
    clone = clone_model(model)
    clone.set_weights(model.get_weights())
    x = {"a": np.ones((2, 3), np.float32), "b": np.full((2, 3), 2.0, np.float32)}
    want, got = model.predict(x), clone.predict(x)
    assert sorted(got) == ["s", "t"]
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)
    assert not any(w1 is w2 for w1 in model.weights for w2 in clone.weights)
