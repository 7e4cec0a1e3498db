"""The transfer-learning idioms: layer.output/input, Model(base.input, layer.output),
trainable on models, freeze/unfreeze, and frozen layers (batch norm included) left alone by fit."""

import numpy as np
import pytest

import svertka
from svertka.callbacks import Callback
from svertka.layers import Add, BatchNormalization, Conv2D, Dense, Flatten, Input, ReLU
from svertka.zoo.lenet import lenet5
from svertka.zoo.resnet import resnet20


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def images(n=6, shape=(8, 8, 3), seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


# -- layer.output / layer.input -------------------------------------------------------------
def test_layer_output_and_input_are_the_nodes_of_the_latest_symbolic_call():
    x = Input((4,))
    d1, d2 = Dense(3, name="t_d1"), Dense(3, name="t_d2")
    h = d1(x)
    y = Add(name="t_add")([h, d2(h)])
    assert d1.output is h and d1.input is x
    assert d2.input is h
    add = y.layer
    assert add.output is y and add.input == [h, d2.output]
    x2 = Input((4,))
    h2 = d1(x2)  # called again: the latest call wins (Keras 3 keeps the first)
    assert d1.output is h2 and d1.input is x2


def test_layer_output_before_any_symbolic_call_names_the_layer():
    d = Dense(3, name="lonely")
    d(np.ones((2, 4), np.float32))  # an eager call makes no node
    for what in ("output", "input"):
        with pytest.raises(ValueError, match=f"Layer 'lonely': '{what}' is only defined once"):
            getattr(d, what)


def test_sequential_layers_answer_with_their_node_in_the_current_graph():
    model = svertka.Sequential([Dense(4, input_shape=(3,), name="s_a"), Dense(4, name="s_b")])
    first = model.get_layer("s_a").output
    model.add(Dense(2, name="s_c"))  # the graph is rewired: every layer gets a new node
    a = model.get_layer("s_a")
    assert a.output is not first and a.input is model.input
    assert model.get_layer("s_c").output is model.output
    model.pop()
    assert model.get_layer("s_b").output is model.output


# -- Model(inputs=base.input, outputs=layer.output) -----------------------------------------
def test_sub_model_of_a_graph_zoo_model_shares_layers_and_weights():
    base = resnet20(input_shape=(8, 8, 3), classes=3)
    features = svertka.Model(inputs=base.input, outputs=base.get_layer("avg_pool").output)
    assert features.output_shape == (None, 64)
    assert features.get_layer("conv1_conv") is base.get_layer("conv1_conv")
    x = images()
    kernel, bias = base.get_layer("predictions").get_weights()
    np.testing.assert_allclose(softmax(features.predict(x) @ kernel + bias), base.predict(x),
                               rtol=1e-4, atol=1e-6)
    before = features.predict(x)
    conv = base.get_layer("conv1_conv")
    conv.set_weights([w * 2 for w in conv.get_weights()])  # the sub-model sees the change
    assert not np.allclose(features.predict(x), before)


def test_sub_model_of_a_sequential_and_a_new_head_on_it():
    base = lenet5(input_shape=(28, 28, 1))
    assert base.input is base.inputs[0] and base.output is base.outputs[0]
    f6 = svertka.Model(inputs=base.input, outputs=base.get_layer("F6").output)
    x = images(4, (28, 28, 1))
    kernel, bias = base.get_layer("output").get_weights()
    np.testing.assert_allclose(softmax(f6.predict(x) @ kernel + bias), base.predict(x),
                               rtol=1e-4, atol=1e-6)
    head = Dense(5, name="new_head")(base.get_layer("F6").output)
    model = svertka.Model(base.input, head)
    assert [la.name for la in model.layers][-2:] == ["F6", "new_head"]
    assert model.predict(x).shape == (4, 5)
    assert model.get_layer("C1") is base.get_layer("C1")


def test_model_input_and_output_with_several_and_with_none():
    a, b = Input((2,)), Input((2,))
    s = Add()([a, b])
    model = svertka.Model([a, b], [s, Dense(1)(s)])
    assert model.input == [a, b] and model.output == model.outputs
    empty = svertka.Sequential([Dense(2)])
    for what in ("input", "output"):
        with pytest.raises(ValueError, match=f"{empty.name}.{what}: the model has no"):
            getattr(empty, what)


# -- trainable, freeze, unfreeze ------------------------------------------------------------
def small_model():
    return svertka.Sequential([Conv2D(2, 3, input_shape=(6, 6, 1), name="f_conv"),
                               BatchNormalization(name="f_bn"), ReLU(name="f_relu"),
                               Flatten(name="f_flat"), Dense(2, name="f_out")])


def test_model_trainable_sets_every_layer():
    model = small_model()
    model.trainable = False
    assert model.trainable is False and model.trainable_weights == []
    assert all(not la.trainable for la in model.layers)
    model.get_layer("f_out").trainable = True
    assert model.trainable is True and len(model.trainable_weights) == 2
    model.trainable = True
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2


@pytest.mark.parametrize("up_to, frozen", [
    ("f_bn", ["f_conv", "f_bn"]), (1, ["f_conv", "f_bn"]), (-2, ["f_conv", "f_bn", "f_relu",
                                                               "f_flat"]),
    (None, ["f_conv", "f_bn", "f_relu", "f_flat", "f_out"]),
])
def test_freeze_up_to_a_name_or_an_index(up_to, frozen):
    model = small_model()
    assert model.freeze(up_to) == frozen
    assert [la.name for la in model.layers if not la.trainable] == frozen


def test_unfreeze_from_a_name_or_an_index():
    model = small_model()
    model.freeze()
    assert model.unfreeze("f_flat") == ["f_flat", "f_out"]
    assert [la.name for la in model.layers if la.trainable] == ["f_flat", "f_out"]
    assert model.unfreeze(-4) == ["f_bn", "f_relu", "f_flat", "f_out"]
    assert model.unfreeze() == [la.name for la in model.layers]
    assert model.get_layer("f_conv").trainable


@pytest.mark.parametrize("call, error, match", [
    (lambda m: m.freeze("nope"), ValueError, r"\.freeze: argument 'up_to' names no layer of "
                                             r"the model, received 'nope'; layers are"),
    (lambda m: m.freeze(5), ValueError, r"\.freeze: argument 'up_to' must index one of the 5 "
                                        r"layers \(-5 to 4\), received 5"),
    (lambda m: m.unfreeze(-6), ValueError, r"\.unfreeze: argument 'from_layer' must index"),
    (lambda m: m.freeze(True), TypeError, r"\.freeze: argument 'up_to' must be a layer name "
                                          r"or an int index into model.layers, received True"),
    (lambda m: m.unfreeze(1.0), TypeError, r"\.unfreeze: argument 'from_layer' must be"),
])
def test_freeze_errors(call, error, match):
    model = small_model()
    with pytest.raises(error, match=match):
        call(model)
    assert all(la.trainable for la in model.layers)  # nothing half-done


# -- frozen layers are left alone by fit ----------------------------------------------------
def snapshot(model):
    return {la.name: [w.copy() for w in la.get_weights()] for la in model.layers}


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
def test_frozen_layers_and_batch_norm_statistics_are_unchanged_by_fit(fuse):
    base = resnet20(input_shape=(8, 8, 3), classes=3)
    base.fuse_training = base.fuse_inference = fuse
    assert base._relu_pairs  # batch norm -> ReLU pairs, run as one op when fused
    frozen = base.freeze("conv3_block1_out")
    base.compile(svertka.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    before = snapshot(base)
    x, y = images(16), np.arange(16) % 3
    base.fit(x, y, batch_size=8, epochs=2, verbose=0)
    after = snapshot(base)
    for name in frozen:
        for a, b in zip(before[name], after[name]):
            np.testing.assert_array_equal(a, b, err_msg=name)
    trained = [n for n in after if n not in frozen and before[n]]
    assert any(n.endswith("_bn") for n in trained)
    for name in trained:  # every unfrozen layer changed, its moving statistics included
        assert all(not np.array_equal(a, b) for a, b in zip(before[name], after[name])), name


def test_freezing_after_compile_takes_effect_at_the_next_step():
    model = small_model()
    model.compile("adam", loss="mse")
    x, y = images(8, (6, 6, 1)), np.zeros((8, 2), np.float32)

    class FreezeAfterFirstBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.model.freeze("f_bn")
                self.seen = snapshot(self.model)

    cb = FreezeAfterFirstBatch()
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[cb])
    after = snapshot(model)
    for name in ("f_conv", "f_bn"):
        for a, b in zip(cb.seen[name], after[name]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(cb.seen["f_out"][0], after["f_out"][0])
    model.unfreeze()
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert not np.array_equal(after["f_conv"][0], model.get_layer("f_conv").get_weights()[0])


def test_a_frozen_batch_norm_runs_in_inference_mode_in_training():
    bn = BatchNormalization(name="fz_bn")
    x = np.random.default_rng(0).normal(3, 2, (32, 4)).astype(np.float32)
    bn(x, training=True)  # moves the statistics away from their start
    bn.trainable = False
    stats = [w.copy() for w in bn.get_weights()]
    for relu in (False, True):  # the fused batch norm + ReLU path too
        y = bn.call(svertka.Tensor(x), training=True, relu=relu).numpy()
        np.testing.assert_allclose(y, bn.call(svertka.Tensor(x), relu=relu).numpy())
    for a, b in zip(stats, bn.get_weights()):
        np.testing.assert_array_equal(a, b)
