"""Model files with custom objects: written by name only, resolved at load from
custom_objects, the custom-object scope or the registry; nested and subclassed models."""

import json
import warnings
import zipfile

import numpy as np
import pytest

import svertka
from svertka import layers, ops, saving
from svertka.errors import ModelFileError
from svertka.layers import Layer
from svertka.losses import Loss
from svertka.models import Model, Sequential
from svertka.utils import set_random_seed

MODEL_IS_LAYER = issubclass(Model, Layer)
needs_model_layers = pytest.mark.skipif(
    not MODEL_IS_LAYER, reason="a Model used as a layer needs Model to subclass Layer")


@saving.register_keras_serializable(package="files_t")
class Scale(Layer):
    """A learnt per-feature scale times a fixed factor."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "random_normal")

    def call(self, x, training=False):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Shift(Layer):
    """Not registered: saved by its class name, loaded from custom_objects."""

    def build(self, input_shape):
        self.b = self.add_weight("b", (input_shape[-1],), "random_normal")

    def call(self, x, training=False):
        return x + self.b


@saving.register_keras_serializable(package="files_t")
def half_relu(x):
    return ops.relu(x) * 0.5


@saving.register_keras_serializable(package="files_t")
def squared_error(y_true, y_pred):
    return ((y_pred - y_true) ** 2).mean()


@saving.register_keras_serializable(package="files_t")
class ScaledMSE(Loss):
    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean(axis=-1) * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@saving.register_keras_serializable(package="files_t")
def max_error(y_true, y_pred):
    return np.max(np.abs(np.asarray(y_pred) - np.asarray(y_true)), axis=-1)


def data(n=8, features=4, outputs=2):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, features)).astype(np.float32),
            rng.normal(size=(n, outputs)).astype(np.float32))


def index_of(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("svertka.json"))


def rewrite_index(src, dst, edit) -> None:
    """Copy the model file ``src`` to ``dst`` with its index changed by ``edit``."""
    index = index_of(src)
    edit(index)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data_ = json.dumps(index) if item.filename == "svertka.json" else zin.read(item)
            zout.writestr(item, data_)


def assert_same_predictions(a, b, x):
    np.testing.assert_allclose(a.predict(x), b.predict(x), rtol=1e-6, atol=1e-6)


def test_a_registered_custom_layer_round_trips_by_registered_name(tmp_path):
    set_random_seed(0)
    x, y = data()
    model = Sequential([layers.Input((4,)), Scale(3.0, name="sc"), layers.Dense(2)])
    model.compile("adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    spec = index_of(tmp_path / "m.keras")["model"]["config"]["layers"][0]
    assert spec == {"class_name": "files_t>Scale",
                    "config": {"name": "sc", "trainable": True, "factor": 3.0}}
    loaded = saving.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0]) is Scale and loaded.layers[0].factor == 3.0
    assert_same_predictions(model, loaded, x)


def test_an_unregistered_custom_layer_loads_from_custom_objects_or_a_scope(tmp_path):
    set_random_seed(1)
    x, _ = data()
    inp = layers.Input((4,))
    model = Model(inp, layers.Dense(2)(Shift(name="shift")(inp)))
    path = tmp_path / "m.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match=r"unknown layer class 'Shift'.*custom_objects="
                                             r"\{'Shift': \.\.\.\}.*custom_object_scope.*"
                                             r"register_keras_serializable"):
        saving.load_model(path)
    assert_same_predictions(model, saving.load_model(path, custom_objects={"Shift": Shift}), x)
    with saving.custom_object_scope({"Shift": Shift}):
        assert_same_predictions(model, svertka.models.load_model(path), x)
    with pytest.raises(TypeError, match="argument 'custom_objects' must be a dict"):
        saving.load_model(path, custom_objects=[Shift])


def test_a_registered_activation_is_saved_by_name_and_loads_back(tmp_path):
    x, _ = data()
    model = Sequential([layers.Input((4,)), layers.Dense(3, activation=half_relu, name="d")])
    model.save(tmp_path / "m.keras")
    config = index_of(tmp_path / "m.keras")["model"]["config"]["layers"][0]["config"]
    assert config["activation"] == "files_t>half_relu"
    loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.layers[0]._activation is half_relu
    assert_same_predictions(model, loaded, x)


def test_an_unregistered_activation_is_provided_by_custom_objects(tmp_path):
    x, _ = data()
    path = tmp_path / "m.keras"
    Sequential([layers.Input((4,)), layers.Dense(3, name="d")]).save(path)
    rewrite_index(path, tmp_path / "e.keras", lambda ix: ix["model"]["config"]["layers"][0][
        "config"].update(activation="doubled"))

    def doubled(t):
        return t * 2.0

    with pytest.raises(ModelFileError, match="activation"):
        saving.load_model(tmp_path / "e.keras")
    loaded = saving.load_model(tmp_path / "e.keras", custom_objects={"doubled": doubled})
    assert loaded.layers[0]._activation is doubled


@pytest.mark.parametrize("loss, saved", [
    (squared_error, "files_t>squared_error"),
    (ScaledMSE(scale=2.0), {"class_name": "files_t>ScaledMSE",
                            "config": {"name": "scaled_mse", "reduction": "sum_over_batch_size",
                                       "scale": 2.0}}),
])
def test_custom_losses_and_metrics_are_saved_by_name_and_compiled_back(tmp_path, loss, saved):
    set_random_seed(2)
    x, y = data()
    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    model.compile("sgd", loss=loss, metrics=[max_error])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    compiled = index_of(tmp_path / "m.keras")["compile"]
    assert compiled["loss"] == saved
    assert compiled["metrics"] == ["files_t>max_error"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.compiled_metrics[0].fn is max_error
    assert type(loaded.loss) is type(loss) or loaded.loss is loss
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0),
                               model.evaluate(x, y, verbose=0), rtol=1e-5)


def test_an_unknown_custom_loss_leaves_the_model_uncompiled_with_a_warning(tmp_path):
    def my_loss(y_true, y_pred):
        return ((y_pred - y_true) ** 2).mean()

    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    model.compile("sgd", loss=my_loss)
    model.save(tmp_path / "m.keras")
    assert index_of(tmp_path / "m.keras")["compile"]["loss"] == "my_loss"
    with pytest.warns(UserWarning, match=r"the loss 'my_loss' .* custom_objects"):
        loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.optimizer is None
    loaded = saving.load_model(tmp_path / "m.keras", custom_objects={"my_loss": my_loss})
    assert loaded.loss is my_loss


def test_shared_layers_round_trip_in_a_functional_model(tmp_path):
    set_random_seed(3)
    x, _ = data()
    inp = layers.Input((4,))
    shared = layers.Dense(4, activation="tanh", name="shared")
    out = layers.Dense(2)(layers.Add()([shared(inp), shared(shared(inp))]))
    model = Model(inp, out)
    assert len(model._nodes) > len(model.layers)
    model.save(tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    assert len(loaded._nodes) == len(model._nodes) and len(loaded.weights) == 4
    assert_same_predictions(model, loaded, x)


def test_unknown_top_level_model_class_is_refused_before_building(tmp_path):
    path = tmp_path / "m.keras"
    Sequential([layers.Input((4,)), layers.Dense(2)]).save(path)
    rewrite_index(path, tmp_path / "e.keras",
                  lambda ix: ix["model"].update(class_name="nope>Net"))
    with pytest.raises(ModelFileError, match=r"unknown model class 'nope>Net'"):
        saving.load_model(tmp_path / "e.keras")


def test_a_damaged_nested_model_is_refused_before_anything_is_built(tmp_path):
    path = tmp_path / "m.keras"
    Sequential([layers.Input((4,)), layers.Dense(2, name="d")]).save(path)

    def nest(ix):
        inner = {"class_name": "Sequential", "config": {
            "name": "inner", "input_shape": [4],
            "layers": [{"class_name": "EvalLayer", "config": {"name": "e"}}]}}
        ix["model"]["config"]["layers"].insert(0, inner)

    rewrite_index(path, tmp_path / "e.keras", nest)
    with pytest.raises(ModelFileError, match=r"unknown layer class 'EvalLayer'"):
        saving.load_model(tmp_path / "e.keras")

    def nest_bad_shape(ix):
        inner = {"class_name": "Sequential", "config": {
            "name": "inner", "input_shape": [-4], "layers": []}}
        ix["model"]["config"]["layers"].insert(0, inner)

    rewrite_index(path, tmp_path / "f.keras", nest_bad_shape)
    with pytest.raises(ModelFileError, match=r"damaged description: .*input_shape"):
        saving.load_model(tmp_path / "f.keras")


@saving.register_keras_serializable(package="files_t")
class TwoLayerNet(Model):
    """A subclassed model: sublayers as attributes, ``call`` on Tensors."""

    def __init__(self, hidden=5, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.d1 = layers.Dense(hidden, activation="relu")
        self.d2 = layers.Dense(2)

    def call(self, x, training=False):
        return self.d2(self.d1(x))

    def get_config(self):
        return {"name": self.name, "hidden": self.hidden}


def test_a_subclassed_model_with_a_damaged_build_shape_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    Sequential([layers.Input((4,)), layers.Dense(2)]).save(path)
    spec = {"class_name": "files_t>TwoLayerNet",
            "config": {"name": "net", "hidden": 5, "build_input_shape": [None, -4]}}
    rewrite_index(path, tmp_path / "e.keras", lambda ix: ix.update(model=spec))
    with pytest.raises(ModelFileError, match=r"damaged description: model.config."
                                             r"build_input_shape must be an input shape"):
        saving.load_model(tmp_path / "e.keras")


@needs_model_layers
def test_a_subclassed_model_round_trips_by_class_name_config_and_build_shape(tmp_path):
    set_random_seed(4)
    x, y = data()
    model = TwoLayerNet(hidden=6, name="net")
    model.compile("adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    spec = index_of(tmp_path / "m.keras")["model"]
    assert spec["class_name"] == "files_t>TwoLayerNet"
    assert spec["config"]["hidden"] == 6 and spec["config"]["build_input_shape"][1:] == [4]
    loaded = saving.load_model(tmp_path / "m.keras")
    assert type(loaded) is TwoLayerNet and loaded.hidden == 6
    assert_same_predictions(model, loaded, x)


@needs_model_layers
def test_nested_models_round_trip_as_layers(tmp_path):
    set_random_seed(5)
    x, _ = data()
    inner = Sequential([layers.Input((4,)), layers.Dense(3, activation="relu")],
                       name="inner")
    inp = layers.Input((4,))
    mid = Model(inp, Scale(name="sc")(inner(inp)), name="mid")
    outer = Sequential([layers.Input((4,)), mid, layers.Dense(2)], name="outer")
    outer.save(tmp_path / "m.keras")
    spec = index_of(tmp_path / "m.keras")["model"]["config"]["layers"][0]
    assert spec["class_name"] == "Model"
    assert spec["config"]["layers"][0]["class_name"] == "Sequential"
    loaded = saving.load_model(tmp_path / "m.keras")
    assert [type(la) for la in loaded.layers] == [Model, layers.Dense]
    assert_same_predictions(outer, loaded, x)


def test_save_model_refuses_to_overwrite_when_asked(tmp_path):
    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    path = tmp_path / "m.keras"
    saving.save_model(model, path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_model(model, path, overwrite=False)
    assert isinstance(svertka.models.load_model(path, compile=False, safe_mode=True),
                      Sequential)


class Times(Layer):
    """A call with a constant keyword argument, recorded on the graph node."""

    def call(self, x, factor=1.0):
        return x * factor


def test_constant_call_arguments_of_a_node_round_trip(tmp_path):
    x, _ = data()
    inp = layers.Input((4,))
    model = Model(inp, layers.Dense(2)(Times(name="t")(inp, factor=3.0)))
    assert model._nodes[0].call_kwargs == {"factor": 3.0}
    model.save(tmp_path / "m.keras")
    node = index_of(tmp_path / "m.keras")["model"]["config"]["nodes"][0]
    assert node == {"layer": "t", "parents": ["input_0"], "many": False,
                    "kwargs": {"factor": 3.0}}
    loaded = saving.load_model(tmp_path / "m.keras", custom_objects={"Times": Times})
    assert loaded._nodes[0].call_kwargs == {"factor": 3.0}
    assert_same_predictions(model, loaded, x)


@needs_model_layers
def test_a_nested_model_of_several_outputs_and_dict_inputs_round_trip(tmp_path):
    set_random_seed(6)
    x, _ = data()
    a = layers.Input((4,))
    two = Model(a, [layers.Dense(2, name="p")(a), layers.Dense(3, name="q")(a)], name="two")
    b = layers.Input((4,))
    p, q = two(b)
    model = Model(b, layers.Concatenate()([q, p]))
    model.save(tmp_path / "m.keras")
    nodes = index_of(tmp_path / "m.keras")["model"]["config"]["nodes"]
    assert sorted(n.get("output_index") for n in nodes if n["layer"] == "two") == [0, 1]
    assert_same_predictions(model, saving.load_model(tmp_path / "m.keras"), x)

    u, v = layers.Input((4,), name="u"), layers.Input((2,), name="v")
    model = Model({"u": u, "v": v}, {"out": layers.Dense(1)(layers.Concatenate()([u, v]))})
    model.save(tmp_path / "d.keras")
    config = index_of(tmp_path / "d.keras")["model"]["config"]
    assert (config["input_keys"], config["output_keys"]) == (["u", "v"], ["out"])
    loaded = saving.load_model(tmp_path / "d.keras")
    feed = {"u": x, "v": x[:, :2]}
    np.testing.assert_allclose(loaded(feed)["out"].numpy(), model(feed)["out"].numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["nodes"][0].update(kwargs={"factor": [1, 2]}), r"nodes\[0\]\.kwargs"),
    (lambda c: c["nodes"][0].update(kwargs="x"), r"nodes\[0\]\.kwargs"),
    (lambda c: c["nodes"][0].update(output_index=-1), r"nodes\[0\]\.output_index"),
    (lambda c: c["nodes"][0].update(output_index=True), r"nodes\[0\]\.output_index"),
    (lambda c: c.update(input_keys=["a", "a"]), r"config\.input_keys"),
    (lambda c: c.update(output_keys=["a", "b"]), r"config\.output_keys"),
    (lambda c: c["nodes"][0].update(surprise=1), r"nodes\[0\] must be an object with keys"),
])
def test_damaged_optional_node_fields_are_refused(tmp_path, edit, message):
    inp = layers.Input((4,))
    model = Model(inp, layers.Dense(2, name="d")(inp))
    model.save(tmp_path / "m.keras")
    rewrite_index(tmp_path / "m.keras", tmp_path / "e.keras",
                  lambda ix: edit(ix["model"]["config"]))
    with pytest.raises(ModelFileError, match="damaged description: .*" + message):
        saving.load_model(tmp_path / "e.keras")


@saving.register_keras_serializable(package="files_t")
class Factor(Layer):
    """As Keras's serialisation guide writes it: no 'name' in __init__ or get_config."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


@saving.register_keras_serializable(package="files_t")
class Wrapper(Layer):
    """A layer whose config holds a layer and a regulariser (Keras's dicts in the file)."""

    def __init__(self, inner, penalty=None, **kwargs):
        super().__init__(**kwargs)
        self.inner, self.penalty = inner, penalty

    def call(self, x, training=False):
        return self.inner(x)

    def get_config(self):
        return {**super().get_config(), "inner": self.inner, "penalty": self.penalty}

    @classmethod
    def from_config(cls, config):
        config["inner"] = layers.deserialize(config["inner"])
        config["penalty"] = saving.deserialize_keras_object(config["penalty"])
        return cls(**config)


def test_a_get_config_without_name_still_wires_the_graph(tmp_path):
    x, _ = data()
    inp = layers.Input((4,))
    model = Model(inp, layers.Dense(1)(Factor(0.5)(inp)))
    model.save(tmp_path / "m.keras")
    spec = index_of(tmp_path / "m.keras")["model"]["config"]["layers"][0]
    assert spec["config"] == {"name": model.layers[0].name, "factor": 0.5}
    loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].name == model.layers[0].name and loaded.layers[0].factor == 0.5
    assert_same_predictions(model, loaded, x)


def test_objects_in_a_custom_config_are_saved_in_keras_dict_form(tmp_path):
    from svertka import regularizers

    x, _ = data()
    layer = Wrapper(layers.Dense(3, name="in"), regularizers.L2(0.1), name="w")
    spec = layers.serialize(layer)
    assert spec["config"]["inner"]["class_name"] == "Dense"
    assert spec["config"]["penalty"] == {"module": "keras.regularizers", "class_name": "L2",
                                         "config": {"l2": 0.1}, "registered_name": None}
    back = layers.deserialize(spec)
    assert type(back.inner) is layers.Dense and back.penalty.l2 == 0.1
    model = Sequential([layers.Input((4,)), layer])
    if MODEL_IS_LAYER:  # the inner Dense's weights are the wrapper's (tracked sublayer)
        model.save(tmp_path / "m.keras")
        assert_same_predictions(model, saving.load_model(tmp_path / "m.keras"), x)
