"""Custom layers written the Keras way: ``call`` without ``training``, ``add_weight`` with
Keras 3's signature, sublayers tracked as attributes, output shapes inferred by running
``call``, ``add_loss``, the call context's ``training`` flag, Keras 3's automatic config.

Expected values are Keras's documented behaviour (the guide "Making new layers and models via
subclassing"); ``test_custom_layers_keras.py`` compares with Keras itself."""

import numpy as np
import pytest

import svertka
from svertka import ops
from svertka.layers import Dense, Dropout, Input, Layer

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


class Linear(Layer):
    """The guide's first layer: weights made in ``__init__``, no ``training`` in ``call``."""

    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class LazyLinear(Layer):
    """The guide's second form: weights made in ``build`` from the input shape."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.seen_shape = None

    def build(self, input_shape):
        self.seen_shape = input_shape
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")
        super().build(input_shape)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class MLPBlock(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.linear_1 = LazyLinear(32)
        self.linear_2 = LazyLinear(32)
        self.linear_3 = LazyLinear(1)

    def call(self, inputs):
        x = ops.relu(self.linear_1(inputs))
        x = ops.relu(self.linear_2(x))
        return self.linear_3(x)


class ActivityRegularizationLayer(Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(inputs))
        return inputs


def test_linear_of_the_guide_computes_x_w_plus_b_with_weights_from_add_weight():
    layer = Linear(4, 2)
    w, b = r(2, 4), r(4)
    layer.set_weights([w, b])
    x = r(3, 2)
    np.testing.assert_allclose(layer(x).numpy(), x @ w + b, rtol=1e-5)
    assert layer.weight_names == ["variable", "variable_1"]  # automatic names, per layer
    assert [t.shape for t in layer.trainable_weights] == [(2, 4), (4,)]


def test_add_weight_defaults_are_keras_3s():
    layer = Layer(name="l")
    w = layer.add_weight(shape=(50, 40))  # initializer None: glorot_uniform for floats
    limit = np.sqrt(6 / (50 + 40))
    assert w.dtype == np.float32 and w.requires_grad
    assert np.abs(w.numpy()).max() <= limit and np.abs(w.numpy()).max() > 0.5 * limit
    scalar = layer.add_weight()  # shape None: a scalar
    assert scalar.shape == ()
    counter = layer.add_weight(shape=(2,), dtype="int32")  # ints: zeros, never trained
    assert counter.numpy().tolist() == [0, 0] and not counter.requires_grad
    frozen = layer.add_weight(shape=(2,), initializer="ones", trainable=False, name="f")
    assert frozen in layer.non_trainable_weights and counter in layer.non_trainable_weights
    assert layer.weight_names == ["variable", "variable_1", "variable_2", "f"]


def test_add_weight_keeps_svertkas_positional_form_and_keras_positional_form():
    layer = Layer(name="l")
    k = layer.add_weight("kernel", (2, 3), "ones", False)  # name, shape, initializer, trainable
    v = layer.add_weight((3,), "zeros")  # Keras: shape, initializer
    assert layer.weight_names == ["kernel", "variable"]
    assert k.numpy().sum() == 6 and not k.requires_grad and v.shape == (3,)
    with pytest.raises(TypeError, match="'shape' was given both"):
        layer.add_weight((3,), shape=(3,))
    with pytest.raises(ValueError, match="fully known"):
        layer.add_weight(shape=(None, 3))
    assert layer.add_variable(shape=(1,), name="alias").shape == (1,)


def test_build_receives_the_full_shape_and_runs_once():
    layer = LazyLinear(3)
    layer(r(2, 5))
    layer(r(4, 5))
    assert layer.seen_shape == (None, 5)
    assert layer.weight_names == ["w", "b"]
    built = LazyLinear(3)
    built.build((None, 5))  # an explicit build is not repeated by the first call
    built(r(2, 5))
    assert len(built.weights) == 2


def test_sublayers_assigned_as_attributes_are_tracked_in_keras_order():
    block = MLPBlock()
    block(np.ones((3, 64), np.float32))
    assert len(block.weights) == 6 and len(block.trainable_weights) == 6  # the guide's numbers
    assert block.count_params() == 64 * 32 + 32 + 32 * 32 + 32 + 32 + 1
    assert block.weight_names[:2] == [f"{block.linear_1.name}/w", f"{block.linear_1.name}/b"]
    arrays = [np.full(w.shape, i, np.float32) for i, w in enumerate(block.weights)]
    block.set_weights(arrays)
    assert block.linear_3.get_weights()[1].tolist() == [5.0]
    assert [a.tolist() for a in block.get_weights()][5] == [5.0]


class Holder(Layer):
    def __init__(self):
        super().__init__()
        self.w = self.add_weight(shape=(1,), initializer="ones", name="own")
        self.stack = [Dense(2), Dense(3)]
        self.by_name = {"head": Dense(1)}

    def call(self, x):
        for layer in self.stack:
            x = layer(x)
        return self.by_name["head"](x) * self.w


def test_lists_and_dicts_of_layers_are_tracked_and_own_weights_come_first():
    layer = Holder()
    y = layer(r(4, 5))
    assert y.shape == (4, 1)
    assert layer.weight_names[0] == "own"
    assert len(layer.weights) == 1 + 2 + 2 + 2
    assert layer.count_params() == 1 + (5 * 2 + 2) + (2 * 3 + 3) + (3 + 1)


def test_freezing_the_outer_layer_freezes_its_sublayers():
    block = MLPBlock()
    block(np.ones((2, 8), np.float32))
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 6
    assert not block.linear_1.trainable and not block.linear_1.w.requires_grad
    block.trainable = True
    assert len(block.trainable_weights) == 6 and block.linear_3.b.requires_grad


def test_gradients_reach_the_sublayers_weights():
    block = MLPBlock()
    y = block(r(4, 8))
    ops.sum(y).backward()
    assert all(w.grad is not None and np.any(w.grad != 0) for w in block.trainable_weights[-2:])


def test_output_shape_is_inferred_by_running_call_without_compute_output_shape():
    x = Input((16,))
    y = LazyLinear(8)(x)
    assert y.shape == (None, 8)  # was (None, 16): the input's shape, building the next wrong
    z = Dense(3)(y)
    assert z.shape == (None, 3)
    model = svertka.Model(x, z)
    assert model(r(2, 16)).shape == (2, 3)
    block = MLPBlock()
    nested = svertka.Model(x, block(x))  # a custom layer's sublayers count in the model
    assert len(nested.weights) == 6 and nested.count_params() == block.count_params() > 0


class Halve(Layer):
    def call(self, x):
        return x[:, ::2]


def test_unknown_sizes_stay_unknown_and_a_failing_call_is_named():
    assert Halve()(Input((None, 3))).shape == (None, None, 3)
    assert Halve()(Input((10, 3))).shape == (None, 5, 3)

    class Broken(Layer):
        def call(self, x):
            raise RuntimeError("no")

    with pytest.raises(ValueError, match="broken.*compute_output_shape.*RuntimeError: no"):
        Broken(name="broken")(Input((3,)))


def test_add_loss_holds_the_latest_calls_losses_also_of_sublayers():
    class Outer(Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = Outer()
    assert layer.losses == []
    layer(np.ones((1, 3), np.float32))
    assert [round(float(v.numpy()), 6) for v in layer.losses] == [0.03]
    layer(np.ones((1, 3), np.float32))  # cleared at the start of each outermost call
    assert len(layer.losses) == 1
    with pytest.raises(ValueError, match="scalar"):
        layer.add_loss(svertka.Tensor(np.ones(3)))


def test_losses_include_the_trainable_weights_regularisation_penalties():
    layer = Dense(2, kernel_regularizer=svertka.regularizers.L2(0.5))
    layer(np.ones((1, 3), np.float32))
    layer.set_weights([np.ones((3, 2), np.float32), np.zeros(2, np.float32)])
    assert [float(v.numpy()) for v in layer.losses] == [pytest.approx(0.5 * 6)]
    layer.trainable = False
    assert layer.losses == []


class Recorder(Layer):
    def __init__(self):
        super().__init__()
        self.flags = []

    def call(self, x, training=None):
        self.flags.append(training)
        return x


class Block(Layer):
    def __init__(self):
        super().__init__()
        self.inner = Recorder()
        self.drop = Dropout(0.5)

    def call(self, x):  # calls its sublayers without passing training
        return self.drop(self.inner(x))


def test_sublayers_inherit_the_outer_calls_training_flag():
    block = Block()
    x = np.ones((200, 10), np.float32)
    assert np.array_equal(block(x, training=False).numpy(), x)
    dropped = block(x, training=True).numpy()
    assert np.any(dropped == 0)  # Dropout in a custom block trains when the block does
    assert block.inner.flags == [False, True]
    block(x)  # no flag anywhere: call's own default (None) reaches it, as Keras
    assert block.inner.flags[-1] is None


def test_a_block_in_a_model_trains_its_dropout_in_fit():
    x = Input((10,))
    model = svertka.Model(x, Dense(1)(Block()(x)))
    recorder = model.layers[0].inner
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 10), np.float32), np.ones((8, 1), np.float32), epochs=1,
              batch_size=8, verbose=0)
    assert True in recorder.flags
    recorder.flags.clear()
    model.predict(np.ones((2, 10), np.float32))
    assert recorder.flags and not any(recorder.flags)


def test_call_receives_only_the_arguments_it_names():
    class WithMask(Layer):
        def call(self, x, mask=None):
            return x if mask is None else x * mask

    class Plain(Layer):
        def call(self, x):
            return x + 1

    x = np.ones((1, 2), np.float32)
    assert Plain()(x, training=True).numpy().tolist() == [[2.0, 2.0]]
    assert WithMask()(x, mask=np.zeros((1, 2), np.float32)).numpy().tolist() == [[0.0, 0.0]]


class Scaled(Layer):
    def __init__(self, units=4, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale

    def call(self, x):
        return x * self.scale


def test_keras_3_automatic_config_round_trips():
    layer = Scaled(3, scale=0.5, name="s")
    config = layer.get_config()
    assert config == {"name": "s", "trainable": True, "units": 3, "scale": 0.5}
    clone = Scaled.from_config(config)
    assert (clone.units, clone.scale, clone.name) == (3, 0.5, "s")


def test_automatic_config_refuses_arguments_that_are_not_json_plain():
    class Holding(Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    with pytest.raises(NotImplementedError, match="Holding.get_config: argument 'inner'"):
        Holding(Dense(2)).get_config()


def test_svertka_layers_keep_their_own_config():
    assert "units" in Dense(3).get_config() and "scale" not in Dense(3).get_config()
    assert Layer(name="plain").get_config() == {"name": "plain", "trainable": True}


def test_activity_regularizer_adds_the_outputs_penalty_per_sample():
    from svertka.layers import deserialize, serialize

    layer = Dense(2, kernel_initializer="ones", activity_regularizer="l2")
    layer(np.ones((4, 3), np.float32))  # outputs all 3: 0.01 * 4 * 2 * 9 / batch 4
    assert [float(v.numpy()) for v in layer.losses] == [pytest.approx(0.18)]
    clone = deserialize(serialize(layer))
    assert clone.activity_regularizer.l2 == pytest.approx(0.01)


def test_model_losses_collect_the_latest_calls_add_loss_values():
    x = Input((3,))
    y = ActivityRegularizationLayer()(Dense(3, kernel_initializer="ones")(x))
    model = svertka.Model(x, y)
    model(np.ones((2, 3), np.float32))  # outputs all 3: 1e-2 * 18
    assert [round(float(v.numpy()), 6) for v in model.losses] == [0.18]
    model(np.zeros((2, 3), np.float32))
    assert [float(v.numpy()) for v in model.losses] == [0.0]  # the latest call's only
    assert len(ActivityRegularizationLayer()(x).layer.losses) == 0  # a symbolic call adds none
