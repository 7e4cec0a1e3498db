"""Inference plans (svertka.models.inference): a model's second call at inference runs the
plan made from its first, and gives the first call's outputs bit for bit, whatever changed
in between that a plan must see (weights changed in place or replaced, the batch size), and
the usual errors where something no longer fits."""

import copy

import numpy as np
import pytest

import svertka
from svertka.layers import (
    Activation,
    Add,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    IdentityShortcut,
    Input,
    MaxPooling2D,
    ReLU,
)
from svertka.models import inference

rng = np.random.default_rng(7)


def notes_like():
    x = Input((12, 12, 1))
    y = MaxPooling2D(2)(Conv2D(8, 3, padding="same", activation="relu")(x))
    y = MaxPooling2D(2)(Conv2D(8, 3, padding="same", activation="relu")(y))
    y = Dense(16, activation="relu")(Flatten()(y))
    return svertka.Model(x, Dense(4, activation="softmax")(y))


def resnet_like():
    """Every step kind of the plan: folded conv -> BN -> ReLU (Winograd F(4x4), F(2x2) and
    im2col), Add -> ReLU, IdentityShortcut, GlobalAveragePooling2D, Dense with softmax."""
    x = Input((8, 8, 3))
    y = Activation("relu")(BatchNormalization()(Conv2D(8, 3, padding="same", use_bias=False)(x)))
    z = BatchNormalization()(Conv2D(8, 3, padding="same")(y))
    y = ReLU()(Add()([z, y]))
    z = Activation("relu")(BatchNormalization()(Conv2D(16, 3, strides=2, padding="same")(y)))
    z = BatchNormalization()(Conv2D(16, 3, padding="same")(z))  # 4x4: F(4x4)
    y = ReLU()(Add()([z, IdentityShortcut(16, strides=2)(y)]))
    y = BatchNormalization()(Conv2D(16, 3, padding="valid")(y))  # 2x2: F(2x2)
    y = GlobalAveragePooling2D()(Activation("relu")(y))
    model = svertka.Model(x, Dense(5, activation="softmax")(y))
    for layer in model.layers:  # statistics that matter
        if isinstance(layer, BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.data[:] = rng.normal(0, 0.5, c)
            layer.moving_variance.data[:] = rng.uniform(0.3, 2.0, c)
    return model


def mixed():
    """Two inputs, two outputs, and nodes the plan runs as layer calls (Dropout, a batch
    norm after a Dense, a 'same' pooling of an odd size after a convolution)."""
    a, b = Input((7, 7, 2), name="a"), Input((5,), name="b")
    y = MaxPooling2D(2, padding="same")(Conv2D(4, 3, padding="same", activation="relu")(a))
    y = Dropout(0.5)(Flatten()(y))
    z = BatchNormalization()(Dense(6)(b))
    joined = Concatenate()([y, z])
    return svertka.Model([a, b], [Dense(3)(joined), Dense(2, activation="sigmoid")(joined)])


def call(model, x):
    with svertka.no_grad():
        out = model(x)
    return [np.array(o.data) for o in (out if isinstance(out, list) else [out])]


def same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and np.array_equal(u, v)


def images(model, n):
    return [rng.random((n, *t.shape[1:]), dtype=np.float32) for t in model.inputs]


@pytest.mark.parametrize("build", [notes_like, resnet_like, mixed])
@pytest.mark.parametrize("n", [1, 3])
def test_the_plan_gives_the_first_calls_outputs(build, n):
    model = build()
    xs = images(model, n)
    x = xs if len(xs) > 1 else xs[0]
    first = call(model, x)  # the layers one by one, with their checks; makes the plan
    assert len(model._plans) == 1
    same(call(model, x), first)  # the plan
    same(call(model, x), first)
    assert all(w.data.flags.writeable for w in model.weights)  # still the optimizer's


def test_a_plan_made_at_one_batch_size_serves_the_others():
    model = resnet_like()
    x = images(model, 40)[0]
    call(model, x[:1])
    planned = [call(model, x[:n]) for n in (1, 5, 40)]
    for n, out in zip((1, 5, 40), planned):
        model._plans.clear()
        same(out, call(model, x[:n]))  # a fresh first call of that size
    assert len(model._plans) == 1


def test_plans_run_the_kernels_and_fall_back_where_they_have_no_step():
    kinds = {}
    for build in (notes_like, resnet_like, mixed):
        model = build()
        xs = images(model, 1)
        call(model, xs if len(xs) > 1 else xs[0])
        plan, = model._plans.values()
        kinds[build.__name__] = {step.__qualname__.split(".")[0] for step, _ in plan.steps}
    assert kinds["notes_like"] == {"_conv_maxpool", "_layer"}
    assert kinds["resnet_like"] == {"_conv_bn", "_add_relu", "_layer"}
    assert "_fallback" in kinds["mixed"]


def changed_copy(model, change):
    """A fresh model with ``model``'s weights after ``change(model)``: its first call runs
    the layers one by one."""
    change(model)
    twin = resnet_like()
    twin.set_weights(model.get_weights())
    for mine, its in zip(model.layers, twin.layers):
        if isinstance(mine, BatchNormalization):
            its.epsilon = mine.epsilon
    return twin


def first(model, kind):
    return next(layer for layer in model.layers if type(layer) is kind)


def scale_in_place(a, by):
    a *= by


def add_in_place(a, value):
    a += value


@pytest.mark.parametrize("change", [
    lambda m: first(m, Conv2D).kernel.data.__setitem__((0, 0, 0, 0), 3.0),  # in place
    lambda m: scale_in_place(first(m, BatchNormalization).moving_variance.data, 4.0),
    lambda m: setattr(first(m, BatchNormalization), "epsilon", 0.5),  # a setting the fold reads
    lambda m: add_in_place(m.layers[-1].bias.data[:1], 1.0),  # dense, in place
    lambda m: m.set_weights([w * 1.5 for w in m.get_weights()]),  # replaced
])
def test_changed_weights_are_used_at_the_next_call(change):
    model = resnet_like()
    x = images(model, 2)[0]
    before = call(model, x)
    call(model, x)  # the plan, and what it keeps, exist
    twin = changed_copy(model, change)
    after = call(model, x)
    assert not np.array_equal(after[0], before[0])
    same(after, call(twin, x))


def test_a_weight_of_another_shape_drops_the_plan_and_the_layer_says_what_is_wrong():
    model = notes_like()
    x = images(model, 1)[0]
    call(model, x)
    dense = model.layers[-1]
    dense.bias.data = np.zeros(5, np.float32)  # the layer was built with 4 units
    with pytest.raises(ValueError, match=r"dense: argument 'b' must have shape \(4,\)"):
        call(model, x)
    assert model._plans == {}


def test_bad_input_still_gets_the_models_error_once_a_plan_exists():
    model = notes_like()
    call(model, images(model, 1)[0])
    with pytest.raises(ValueError, match=r"input must have shape \(None, 12, 12, 1\)"):
        call(model, np.zeros((1, 12, 13, 1), np.float32))
    with pytest.raises(ValueError, match="expected 1 input"):
        call(model, [np.zeros((1, 12, 12, 1), np.float32)] * 2)


def test_other_signatures_get_their_own_plans_up_to_a_limit(monkeypatch):
    x = Input((None, None, 2))
    model = svertka.Model(x, GlobalAveragePooling2D()(Conv2D(3, 3, activation="relu")(x)))
    monkeypatch.setattr(inference, "MAX_PLANS", 3)
    outs = {}
    for side in (5, 6, 7, 8):
        outs[side] = call(model, np.ones((1, side, side, 2), np.float32))
    assert len(model._plans) == 3  # the fourth size runs the layers every time
    for side in (5, 6, 7, 8):
        same(call(model, np.ones((1, side, side, 2), np.float32)), outs[side])
    call(model, np.ones((1, 5, 5, 2)))  # float64: another signature, past the limit
    assert len(model._plans) == 3


def test_no_plan_with_gradients_on_in_training_or_with_fusion_off():
    model = resnet_like()
    x = images(model, 2)[0]
    model(x)
    model(x, training=True)
    model.fuse_inference = False
    call(model, x)
    assert model._plans == {}


def test_a_copied_model_makes_its_own_plans():
    model = resnet_like()
    x = images(model, 1)[0]
    before = call(model, x)
    call(model, x)
    twin = copy.deepcopy(model)
    assert twin._plans == {}
    first(twin, Conv2D).kernel.data[:] = 0.0
    call(twin, x)
    call(twin, x)
    same(call(model, x), before)


def test_predict_of_one_batch_equals_the_batch_loop():
    model = resnet_like()
    x = images(model, 3)[0]
    fast = model.predict(x)  # one batch of arrays, no callback: the loop's machinery skipped
    seen = []

    class Count(svertka.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(batch)

    looped = model.predict(x, callbacks=[Count()])
    assert seen == [0] and np.array_equal(fast, looped)
