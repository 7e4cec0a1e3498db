"""Subclassing ``svertka.Model`` as Keras does: layers assigned in ``__init__``, ``call`` run by
``model(x)``, built on the first call or by ``build``, trained with ``fit``; the
functional-subclass form ``super().__init__(inputs, outputs)``; keyword and dict inputs."""

import numpy as np
import pytest

import svertka
from svertka.layers import Add, Dense, Dropout, Input

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


class CustomModel(svertka.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.dense1 = Dense(hidden, activation="relu")
        self.dropout = Dropout(0.5)
        self.dense2 = Dense(1)

    def call(self, inputs, training=False):
        return self.dense2(self.dropout(self.dense1(inputs), training=training))


def test_call_runs_and_layers_are_tracked_in_assignment_order():
    model = CustomModel()
    assert model.name.startswith("custom_model")  # Keras names it after the class
    assert not model.built
    y = model(r(3, 4))
    assert y.shape == (3, 1) and model.built
    assert [type(la).__name__ for la in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.count_params() == (4 * 8 + 8) + (8 + 1)
    assert len(model.trainable_weights) == 4


def test_fit_trains_a_subclassed_model_from_its_first_epoch():
    x = rng.uniform(size=(64, 4)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = CustomModel(16)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[0] > losses[-1]  # it trains in its first fit (weights exist before step 1)
    assert model.evaluate(x, y, verbose=0) < losses[0]
    assert model.predict(x[:5]).shape == (5, 1)


def test_build_makes_the_weights_before_any_data():
    model = CustomModel()
    model.build((None, 6))
    assert model.built and model.count_params() == (6 * 8 + 8) + 9


def test_summary_after_building_lists_the_tracked_layers():
    model = CustomModel()
    model(r(2, 4))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert model.dense1.name in text and model.dense2.name in text
    assert "Total params: 49" in text


def test_training_flag_reaches_the_call_and_the_sublayers():
    model = CustomModel(hidden=200)
    x = np.ones((1, 4), np.float32)
    a = model(x).numpy()
    assert np.array_equal(a, model(x).numpy())  # inference: dropout off
    b = [model(x, training=True).numpy() for _ in range(3)]
    assert any(not np.array_equal(a, v) for v in b)


def test_get_config_is_keras_3s_automatic_config():
    model = CustomModel(hidden=5, name="m")
    assert model.get_config() == {"name": "m", "trainable": True, "hidden": 5}
    clone = CustomModel.from_config(model.get_config())
    assert clone.hidden == 5 and clone.name == "m"


def test_a_subclassed_model_can_be_called_on_symbolic_tensors():
    model = CustomModel()
    x = Input((4,))
    y = model(x)
    assert y.shape == (None, 1)
    outer = svertka.Model(x, Dense(2)(y))
    assert outer.layers[0] is model
    assert outer(r(3, 4)).shape == (3, 2)


def test_freezing_a_subclassed_model():
    model = CustomModel()
    model(r(1, 4))
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4


def test_a_model_may_own_weights_of_its_own():
    class Scaled(svertka.Model):
        def __init__(self):
            super().__init__()
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
            self.dense = Dense(2)

        def call(self, x):
            return self.dense(x) * self.scale

    model = Scaled()
    model(r(1, 3))
    assert model.weight_names[0] == "scale" and len(model.weights) == 3


class Residual(svertka.Model):
    """The functional-subclass form: a graph made in ``__init__``."""

    def __init__(self):
        x = Input((4,))
        y = Add()([x, Dense(4)(x)])
        super().__init__(x, y, name="residual")


def test_functional_subclass_form():
    model = Residual()
    assert model.output_shape == (None, 4) and len(model.layers) == 2
    assert model(r(2, 4)).shape == (2, 4)
    assert model.get_config()["name"] == "residual"


def test_keyword_inputs_and_outputs_and_dict_inputs():
    a, b = Input((3,), name="a"), Input((2,), name="b")
    from svertka.layers import Concatenate

    joined = Dense(1)(Concatenate()([a, b]))
    model = svertka.Model(inputs={"a": a, "b": b}, outputs=joined)
    xa, xb = r(5, 3), r(5, 2)
    by_dict = model({"b": xb, "a": xa}).numpy()
    by_list = model([xa, xb]).numpy()
    np.testing.assert_allclose(by_dict, by_list)
    with pytest.raises(ValueError, match=r"lacks \['b'\]"):
        model({"a": xa})
    two = svertka.Model(inputs=[a, b], outputs={"sum": Dense(1)(a), "other": Dense(2)(b)})
    out = two([xa, xb])
    assert list(out) == ["sum", "other"] and out["other"].shape == (5, 2)


def test_model_rejects_unknown_keywords_naming_them():
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        svertka.Model(inpts=Input((3,)))
