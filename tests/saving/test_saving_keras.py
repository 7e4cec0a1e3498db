"""keras.saving against Keras 3 itself (torch backend): registered names, lookup order of
scopes and registry, the dict form of serialize_keras_object, a standard layer's config
keys, and Keras's own serialised dicts read by svertka."""

import json
import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

import svertka  # noqa: E402
from svertka import activations, layers, losses, regularizers, saving  # noqa: E402
from svertka.saving import registration  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def clean_registries():
    ours = dict(registration._GLOBAL_OBJECTS), dict(registration._GLOBAL_NAMES)
    from keras.src.saving import object_registration as theirs

    before = dict(theirs.GLOBAL_CUSTOM_OBJECTS), dict(theirs.GLOBAL_CUSTOM_NAMES)
    yield
    for table, saved in zip((registration._GLOBAL_OBJECTS, registration._GLOBAL_NAMES), ours):
        table.clear()
        table.update(saved)
    for table, saved in zip((theirs.GLOBAL_CUSTOM_OBJECTS, theirs.GLOBAL_CUSTOM_NAMES), before):
        table.clear()
        table.update(saved)


def test_registered_names_are_keras_s(clean_registries):
    def cube(x):
        return x * x * x

    for register, named in ((keras.saving.register_keras_serializable,
                             keras.saving.get_registered_name),
                            (saving.register_keras_serializable, saving.get_registered_name)):
        register("cmp_t", name="cubed")(cube)
        assert named(cube) == "cmp_t>cubed"

    class Box(layers.Layer):
        pass

    class KBox(keras.layers.Layer):
        pass

    KBox.__name__ = "Box"
    saving.register_keras_serializable()(Box)
    keras.saving.register_keras_serializable()(KBox)
    assert saving.get_registered_name(Box) == keras.saving.get_registered_name(KBox) == (
        "Custom>Box")
    assert saving.get_registered_name(layers.Dense) == keras.saving.get_registered_name(
        keras.layers.Dense) == "Dense"
    assert saving.get_registered_object("Custom>Box") is Box
    assert keras.saving.get_registered_object("Custom>Box") is KBox


def test_scope_before_registry_before_argument_as_keras(clean_registries):
    def f(x):
        return x

    for api in (keras.saving, saving):
        api.register_keras_serializable("cmp_t", name="k")(f)
        assert api.get_registered_object("cmp_t>k", custom_objects={"cmp_t>k": 0}) is f
        with api.custom_object_scope({"cmp_t>k": "scoped"}):
            assert api.get_registered_object("cmp_t>k") == "scoped"
        assert api.get_registered_object("only_arg", custom_objects={"only_arg": 1}) == 1
        assert api.get_registered_object("missing") is None


def test_serialized_dicts_have_keras_s_form():
    ours = saving.serialize_keras_object(layers.Dense(3, activation="relu", name="d"))
    theirs = keras.saving.serialize_keras_object(keras.layers.Dense(3, activation="relu",
                                                                    name="d"))
    assert set(ours) == set(theirs)
    for key in ("module", "class_name", "registered_name"):
        assert ours[key] == theirs[key]
    assert set(ours["config"]) <= set(theirs["config"])
    for key in ("name", "trainable", "units", "activation", "use_bias"):
        assert ours["config"][key] == theirs["config"][key]
    pairs = [
        (activations.relu, keras.activations.relu),
        (losses.MeanSquaredError(), keras.losses.MeanSquaredError()),
        (losses.SparseCategoricalCrossentropy(from_logits=True),
         keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        (regularizers.L2(0.1), keras.regularizers.L2(0.1)),
        (losses.mean_squared_error, keras.losses.mean_squared_error),
    ]
    for obj, kobj in pairs:
        assert saving.serialize_keras_object(obj) == keras.saving.serialize_keras_object(kobj)


def test_a_registered_function_and_layer_serialise_as_keras(clean_registries):
    def sq(x):
        return x * x

    saving.register_keras_serializable("cmp_t", name="sq")(sq)
    keras.saving.register_keras_serializable("cmp_t", name="sq")(sq)
    assert saving.serialize_keras_object(sq) == keras.saving.serialize_keras_object(sq)
    assert layers.Dense(2, activation=sq).get_config()["activation"] == "cmp_t>sq"

    @saving.register_keras_serializable("cmp_t")
    class Mine(layers.Layer):
        pass

    @keras.saving.register_keras_serializable("cmp_t")
    class KMine(keras.layers.Layer):
        pass

    ours = saving.serialize_keras_object(Mine(name="m"))
    theirs = keras.saving.serialize_keras_object(KMine(name="m"))
    assert set(ours) == set(theirs)
    assert ours["registered_name"] == "cmp_t>Mine" and theirs["registered_name"] == (
        "cmp_t>KMine")


@pytest.mark.parametrize("kobj", [
    keras.losses.Huber(delta=2.5),
    keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    keras.regularizers.L1L2(l1=0.01, l2=0.02),
    keras.initializers.HeNormal(seed=3),
])
def test_keras_s_own_dicts_are_read(kobj):
    d = json.loads(json.dumps(keras.saving.serialize_keras_object(kobj)))
    ours = saving.deserialize_keras_object(d)
    assert type(ours).__name__ == type(kobj).__name__
    assert ours.get_config() == {k: v for k, v in kobj.get_config().items()
                                 if k in ours.get_config()}


def test_keras_s_function_dicts_are_read():
    for fn in (keras.activations.relu, keras.activations.gelu, keras.losses.mean_squared_error):
        d = keras.saving.serialize_keras_object(fn)
        assert saving.deserialize_keras_object(d).__name__ == fn.__name__


def test_model_json_top_level_as_keras():
    ours = json.loads(svertka.models.model_to_json(
        svertka.Sequential([layers.Input((3,)), layers.Dense(2)])))
    theirs = json.loads(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).to_json())
    assert set(ours) <= set(theirs)
    assert (ours["module"], ours["class_name"]) == (theirs["module"], theirs["class_name"])
    x = layers.Input((3,))
    kx = keras.Input((3,))
    ours = json.loads(svertka.models.model_to_json(svertka.Model(x, layers.Dense(2)(x))))
    theirs = json.loads(keras.Model(kx, keras.layers.Dense(2)(kx)).to_json())
    assert ours["class_name"] == theirs["class_name"] == "Functional"


def test_keras_clone_model_semantics_fresh_weights_same_names():
    kx = keras.Input((3,))
    kmodel = keras.Model(kx, keras.layers.Dense(2, name="o")(kx))
    kclone = keras.models.clone_model(kmodel)
    x = layers.Input((3,))
    model = svertka.Model(x, layers.Dense(2, name="o")(x))
    clone = svertka.models.clone_model(model)
    assert [la.name for la in clone.layers] == ["o"] == [la.name for la in kclone.layers[1:]]
    assert not np.array_equal(kclone.get_weights()[0], kmodel.get_weights()[0])
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
