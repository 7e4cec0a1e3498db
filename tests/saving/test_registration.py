"""keras.saving's registry, custom-object scopes and serialize/deserialize_keras_object."""

import threading

import numpy as np
import pytest

import svertka
from svertka import activations, initializers, layers, losses, metrics, optimizers, regularizers
from svertka.saving import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    registration,
    serialize_keras_object,
)


@pytest.fixture
def clean_registry():
    """Registrations made by a test are undone after it."""
    before_objects = dict(registration._GLOBAL_OBJECTS)
    before_names = dict(registration._GLOBAL_NAMES)
    yield
    registration._GLOBAL_OBJECTS.clear()
    registration._GLOBAL_OBJECTS.update(before_objects)
    registration._GLOBAL_NAMES.clear()
    registration._GLOBAL_NAMES.update(before_names)


def test_register_names_classes_and_functions_package_gt_name(clean_registry):
    @register_keras_serializable(package="reg_t")
    class Doubler(layers.Layer):
        def call(self, x, training=False):
            return x * 2.0

    def cube(x):
        return x * x * x

    assert register_keras_serializable("reg_t", name="cubed")(cube) is cube
    assert get_registered_name(Doubler) == "reg_t>Doubler"
    assert get_registered_name(cube) == "reg_t>cubed"
    assert get_registered_object("reg_t>Doubler") is Doubler
    assert get_registered_object("reg_t>cubed") is cube
    assert get_registered_name(layers.Dense) == "Dense"  # Keras's fallback: __name__
    assert get_registered_object("reg_t>nothing") is None
    assert register_keras_serializable()(cube) is cube  # Keras's default package
    assert get_registered_name(cube) == "Custom>cube"


def test_a_taken_name_is_refused_for_another_object_clearly(clean_registry):
    def first(x):
        return x

    def second(x):
        return -x

    register_keras_serializable("reg_t", name="f")(first)
    register_keras_serializable("reg_t", name="f")(first)  # the same object again: fine
    with pytest.raises(ValueError, match=r"register_keras_serializable: the name 'reg_t>f' is "
                                         r"already registered to <function .*first.*"
                                         r"received <function .*second"):
        register_keras_serializable("reg_t", name="f")(second)
    assert get_registered_object("reg_t>f") is first


def test_a_redefinition_of_the_same_code_replaces_the_old_one(clean_registry):
    def make():
        class Twin(layers.Layer):
            pass
        return Twin

    old, new = make(), make()  # a notebook cell run twice
    register_keras_serializable("reg_t")(old)
    register_keras_serializable("reg_t")(new)
    assert get_registered_object("reg_t>Twin") is new
    assert registration.registered_name(old) is None


def test_register_refuses_what_cannot_be_saved():
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="cannot register the class 'NoConfig': it has no "
                                         r"get_config\(\)"):
        register_keras_serializable("reg_t")(NoConfig)
    with pytest.raises(TypeError, match="only classes and functions"):
        register_keras_serializable("reg_t")(3)
    with pytest.raises(ValueError, match="argument 'package' must be a string without '>'"):
        register_keras_serializable("a>b")


def test_scopes_nest_the_inner_wins_and_exit_restores():
    assert get_registered_object("scoped") is None
    with custom_object_scope({"scoped": 1}):
        with CustomObjectScope({"scoped": 2}, {"other": 3}):
            assert get_registered_object("scoped") == 2
            assert get_registered_object("other") == 3
        assert get_registered_object("scoped") == 1
        assert get_registered_object("other") is None
    assert get_registered_object("scoped") is None
    with pytest.raises(TypeError, match="custom_object_scope: arguments must be dicts"):
        custom_object_scope(["scoped"])


def test_scopes_are_per_thread():
    seen = []
    with custom_object_scope({"mine": 1}):
        t = threading.Thread(target=lambda: seen.append(get_registered_object("mine")))
        t.start()
        t.join()
        assert get_registered_object("mine") == 1
    assert seen == [None]


def test_lookup_order_is_keras_scope_then_registry_then_argument(clean_registry):
    def registered(x):
        return x

    register_keras_serializable("reg_t", name="k")(registered)
    assert get_registered_object("reg_t>k", custom_objects={"reg_t>k": 0}) is registered
    with custom_object_scope({"reg_t>k": "scoped"}):
        assert get_registered_object("reg_t>k") == "scoped"
    assert get_registered_object("x", custom_objects={"x": 5}, module_objects={"x": 6}) == 5
    # a file names a registered class "package>Name"; custom_objects may give it as "Name"
    assert registration.resolve("pkg>Thing", {"Thing": int}) is int


def test_get_custom_objects_is_the_live_global_dict(clean_registry):
    def mine(x):
        return x

    get_custom_objects()["mine_fn"] = mine
    assert get_registered_object("mine_fn") is mine
    assert activations.get("mine_fn") is mine


def test_serialize_keras_object_gives_keras_3s_dict_form():
    dense = serialize_keras_object(layers.Dense(3, activation="relu", name="d"))
    assert set(dense) == {"module", "class_name", "config", "registered_name"}
    assert (dense["module"], dense["class_name"], dense["registered_name"]) == (
        "keras.layers", "Dense", None)
    assert dense["config"]["units"] == 3 and dense["config"]["activation"] == "relu"
    assert serialize_keras_object(activations.relu) == {
        "module": "builtins", "class_name": "function", "config": "relu",
        "registered_name": "function"}
    assert serialize_keras_object(losses.MeanSquaredError()) == {
        "module": "keras.losses", "class_name": "MeanSquaredError",
        "config": {"name": "mean_squared_error", "reduction": "sum_over_batch_size"},
        "registered_name": None}
    assert serialize_keras_object(regularizers.L2(0.1)) == {
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.1},
        "registered_name": None}
    assert serialize_keras_object([None, 1, "a", {"k": (1, 2)}]) == [None, 1, "a",
                                                                     {"k": [1, 2]}]
    model = svertka.Sequential([layers.Input((3,)), layers.Dense(2)])
    assert serialize_keras_object(model)["class_name"] == "Sequential"
    x = layers.Input((3,))
    assert serialize_keras_object(svertka.Model(x, layers.Dense(2)(x)))["class_name"] == (
        "Functional")


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(4, 3, padding="same", name="c"),
    lambda: losses.Huber(delta=2.0),
    lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
    lambda: metrics.AUC(curve="PR"),
    lambda: metrics.Precision(thresholds=[0.3, 0.7]),
    lambda: optimizers.Adam(learning_rate=0.01),
    lambda: initializers.HeNormal(seed=3),
    lambda: regularizers.L1L2(l1=0.1, l2=0.2),
])
def test_round_trip_through_keras_dict_form(make):
    obj = make()
    back = deserialize_keras_object(serialize_keras_object(obj))
    assert type(back) is type(obj)
    assert back.get_config() == obj.get_config()


def test_functions_round_trip_by_name(clean_registry):
    def custom_act(x):
        return x

    register_keras_serializable("reg_t")(custom_act)
    for fn in (activations.relu, activations.selu, losses.mean_squared_error, custom_act):
        assert deserialize_keras_object(serialize_keras_object(fn)) is fn
    assert deserialize_keras_object(
        {"module": "keras.activations", "class_name": "function", "config": "swish",
         "registered_name": "function"}) is activations.silu


def test_custom_classes_round_trip_by_registered_name_or_custom_objects(clean_registry):
    @register_keras_serializable("reg_t")
    class Offset(layers.Layer):
        def __init__(self, offset=1.0, **kwargs):
            super().__init__(**kwargs)
            self.offset = offset

        def call(self, x, training=False):
            return x + self.offset

        def get_config(self):
            return {**super().get_config(), "offset": self.offset}

    d = serialize_keras_object(Offset(2.5, name="o"))
    assert (d["class_name"], d["registered_name"]) == ("Offset", "reg_t>Offset")
    back = deserialize_keras_object(d)
    assert type(back) is Offset and back.offset == 2.5 and back.name == "o"

    class Unregistered(layers.Layer):
        pass

    d = serialize_keras_object(Unregistered(name="u"))
    assert d["registered_name"] == "Unregistered"
    with pytest.raises(ValueError, match=r"unknown class 'Unregistered'.*custom_objects"):
        deserialize_keras_object(d)
    assert type(deserialize_keras_object(d, custom_objects={"Unregistered": Unregistered})) is (
        Unregistered)


def test_deserialize_refuses_code_and_unknown_names():
    with pytest.raises(ValueError, match="never runs code"):
        deserialize_keras_object({"class_name": "__lambda__", "config": {"code": "x"}})
    with pytest.raises(ValueError, match=r"unknown function 'nope>f'.*"
                                         r"register_keras_serializable"):
        deserialize_keras_object({"class_name": "function", "config": "nope>f"})
    with pytest.raises(ValueError, match=r"unknown class 'nope>C'.*custom_object_scope"):
        deserialize_keras_object({"module": None, "class_name": "C", "config": {},
                                  "registered_name": "nope>C"})
    with pytest.raises(ValueError, match="serialize_keras_object: the function .* has no name"):
        serialize_keras_object(lambda x: x)
    assert deserialize_keras_object("plain") == "plain"
    with custom_object_scope({"plain": np.sum}):
        assert deserialize_keras_object("plain") is np.sum


def test_registered_activation_is_saved_by_name_in_a_layer_config(clean_registry):
    def halve(x):
        return x * 0.5

    register_keras_serializable("reg_t")(halve)
    layer = layers.Dense(2, activation=halve, name="d")
    config = layer.get_config()
    assert config["activation"] == "reg_t>halve"
    back = layers.deserialize(layers.serialize(layer))
    assert back._activation is halve
    assert activations.serialize(halve) == "reg_t>halve"
    with pytest.raises(ValueError, match="activations.serialize: .* or a registered function"):
        activations.serialize(lambda x: x)
