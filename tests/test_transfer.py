"""svertka.transfer: the notes' transfer-learning rule (SPEC §10) as one call."""

import numpy as np
import pytest

import svertka
from svertka import transfer, zoo
from svertka.layers import Conv2D, Dense, Flatten, Rescaling


def letters(n, classes=4, size=28, seed=0):
    """n uint8 images (n, size, size) whose class is where a bright bar sits, and labels."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
    for i, c in enumerate(y):
        x[i, :, 4 + 5 * c: 7 + 5 * c] = 255
    return x, y


def lenet():
    return zoo.lenet5((28, 28, 1), weights="mnist")


def weights_of(model, names):
    return {n: [w.copy() for w in model.get_layer(n).get_weights()] for n in names}


def changed(before, model):
    return {n: not all(np.array_equal(a, b) for a, b in zip(ws, model.get_layer(n).get_weights()))
            for n, ws in before.items()}


@pytest.mark.parametrize("n, strategy, trained", [
    (40, "head", ["new_head"]),
    (100, "head", ["new_head"]),             # the notes' "10-100 images"
    (101, "top", ["F6", "new_head"]),        # in between: the last block joins the head
    (999, "top", ["F6", "new_head"]),
    (1000, "top", ["C5", "F6", "new_head"]),  # "1000+": the upper half of C1, C3, C5, F6
])
def test_auto_picks_the_notes_strategy_by_the_number_of_images(n, strategy, trained):
    x, y = letters(n)
    result = transfer.fine_tune(lenet(), (x, y), 4, epochs=1, batch_size=256, verbose=0)
    assert result.strategy == strategy
    assert result.trainable == trained
    assert set(result.frozen) == {"C1", "C3", "C5", "F6"} - set(trained)


def test_frozen_layers_keep_their_weights_and_trained_ones_change():
    x, y = letters(200)
    base = lenet()
    before = weights_of(base, ["C1", "C3", "C5", "F6"])
    result = transfer.fine_tune(base, (x, y), 4, strategy="top", top_blocks=2, epochs=2,
                                verbose=0)
    assert changed(before, result.model) == {"C1": False, "C3": False, "C5": True, "F6": True}


def test_the_head_alone_trains_on_the_frozen_features_and_learns_the_task():
    x, y = letters(80)
    base = lenet()
    before = weights_of(base, ["C1", "C3", "C5", "F6"])
    result = transfer.fine_tune(base, (x, y), 4, strategy="head", epochs=40, verbose=0)
    model, history = result
    assert not any(changed(before, model).values())
    assert history["accuracy"][-1] > history["accuracy"][0]
    xt, yt = letters(40, seed=1)
    assert np.allclose(result.prepare(xt), transfer.adapt_images(xt, (28, 28, 1)))
    accuracy = (model.predict(result.prepare(xt)).argmax(-1) == yt).mean()
    assert accuracy > 0.5  # chance is 0.25


def test_the_classifier_is_replaced_by_a_head_of_the_new_classes():
    x, y = letters(30, classes=3)
    result = transfer.fine_tune(lenet(), (x, y), 3, epochs=1, verbose=0)
    names = [layer.name for layer in result.model.layers]
    assert result.model.output_shape == (None, 3)
    assert "output" not in names and names[-2:] == ["F6", "new_head"]
    assert result.model.get_layer("new_head").get_weights()[0].shape == (84, 3)


def test_rates_grow_geometrically_towards_the_output_and_are_applied():
    # Adam's first step moves every weight by about its rate (g / |g|): one step shows them
    x, y = letters(64)
    base = lenet()
    before = {n: base.get_layer(n).get_weights()[0].copy() for n in ("C3", "C5", "F6")}
    result = transfer.fine_tune(base, (x, y), 4, strategy="top", top_blocks=3, epochs=1,
                                batch_size=64, learning_rate=1e-3, lowest_rate=0.1, verbose=0)
    rates = result.rates
    assert list(rates) == ["C3", "C5", "F6", "new_head"]
    assert rates["C3"] == pytest.approx(1e-4) and rates["new_head"] == pytest.approx(1e-3)
    ratios = [rates[b] / rates[a] for a, b in zip(rates, list(rates)[1:])]
    assert ratios == pytest.approx([10 ** (1 / 3)] * 3)
    for name, w in before.items():
        step = np.abs(result.model.get_layer(name).get_weights()[0] - w).max()
        assert step == pytest.approx(rates[name], rel=0.05), name


def test_all_trains_every_block_and_scratch_starts_afresh_with_one_rate():
    x, y = letters(64)
    base = lenet()
    before = weights_of(base, ["C1"])
    result = transfer.fine_tune(base, (x, y), 4, strategy="all", epochs=1, verbose=0)
    assert result.trainable == ["C1", "C3", "C5", "F6", "new_head"] and not result.frozen
    assert changed(before, result.model)["C1"]
    base = lenet()
    original = base.get_layer("C1").get_weights()[0].copy()
    result = transfer.fine_tune(base, (x, y), 4, strategy="scratch", epochs=1, verbose=0)
    assert len(set(result.rates.values())) == 1
    assert np.array_equal(base.get_layer("C1").get_weights()[0], original)  # base untouched
    fresh = result.model.get_layer("C1").get_weights()[0]
    assert not np.allclose(fresh, original, atol=0.05)


def test_gradual_unfreeze_shares_the_epochs_over_stages_top_down():
    x, y = letters(64)
    base = lenet()
    before = weights_of(base, ["C1", "C3", "C5", "F6"])
    result = transfer.fine_tune(base, (x, y), 4, strategy="top", top_blocks=2, epochs=6,
                                gradual_unfreeze=True, verbose=0)
    assert len(result.history["loss"]) == 6  # 3 stages: head, + F6, + C5
    assert changed(before, result.model) == {"C1": False, "C3": False, "C5": True, "F6": True}
    assert transfer._share(6, 3) == [2, 2, 2] and transfer._share(4, 3) == [1, 1, 2]
    assert transfer._share(2, 3) == [1, 1, 1]


def test_grey_28x28_letters_feed_a_32x32_colour_network():
    x, y = letters(20)
    base = zoo.resnet20()
    result = transfer.fine_tune(base, (x, y), 4, epochs=1, verbose=0)
    assert result.model.input_shape == (None, 32, 32, 3)
    assert result.model.get_layer("new_head").get_weights()[0].shape == (64, 4)
    a = transfer.adapt_images(x[:2], (32, 32, 3))
    assert a.shape == (2, 32, 32, 3) and a.dtype == np.float32
    assert np.array_equal(a[..., 0], a[..., 2]) and 0 <= a.min() and a.max() <= 1


def test_adapt_images_scales_converts_channels_and_keeps_a_flat_image_flat():
    flat = transfer.adapt_images(np.full((1, 28, 28), 51, np.uint8), (32, 32, 3))
    assert np.allclose(flat, 0.2)
    rgb = np.zeros((1, 4, 4, 3), np.uint8)
    rgb[..., 0], rgb[..., 1] = 255, 51
    assert np.allclose(transfer.adapt_images(rgb, (4, 4, 1)), 0.4)
    floats = np.full((1, 4, 4, 1), 0.5, np.float32)
    assert np.allclose(transfer.adapt_images(floats, (4, 4, 1)), 0.5)  # floats: as given
    assert np.allclose(transfer.adapt_images(np.full((1, 2, 2), 10, np.uint8), (2, 2, 1),
                                             scale=1.0), 10)


def test_bilinear_resizing_matches_torch_for_any_ratio():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((2, 28, 21, 3)).astype(np.float32)
    for size in ((32, 32), (17, 40), (28, 21)):
        ours = transfer.resize_bilinear(x, size)
        ref = torch.nn.functional.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size,
                                              mode="bilinear", align_corners=False)
        assert np.allclose(ours, ref.permute(0, 2, 3, 1).numpy(), atol=1e-5), size


def test_blocks_group_a_resnet_by_residual_block_and_lenet_by_layer():
    groups = transfer.blocks(transfer.feature_extractor(zoo.resnet20()))
    assert len(groups) == 10  # the stem and 3 x 3 residual blocks
    assert [la.name for la in groups[0]] == ["conv1_conv", "conv1_bn"]
    assert {la.name.split("_")[1] for la in groups[-1]} == {"block3"}
    assert [[la.name for la in g] for g in transfer.blocks(transfer.feature_extractor(lenet()))] \
        == [["C1"], ["C3"], ["C5"], ["F6"]]


def test_the_default_cut_is_the_layer_feeding_the_classifier():
    assert transfer.default_cut(lenet()) == "F6"
    assert transfer.default_cut(zoo.resnet20()) == "avg_pool"
    features = transfer.feature_extractor(lenet(), cut="S4")
    assert features.output_shape == (None, 5, 5, 16)
    x, y = letters(20)
    result = transfer.fine_tune(lenet(), (x, y), 4, cut="S4", epochs=1, verbose=0)
    assert result.model.get_layer("new_head").get_weights()[0].shape == (400, 4)


def test_a_base_that_rescales_its_input_gets_raw_pixels():
    base = svertka.Sequential([Rescaling(1 / 255, input_shape=(8, 8, 1)), Conv2D(2, 3),
                               Flatten(), Dense(84, activation="tanh"), Dense(3)])
    assert transfer.takes_raw_pixels(base) and not transfer.takes_raw_pixels(lenet())
    x = np.full((12, 8, 8), 255, np.uint8)
    result = transfer.fine_tune(base, (x, np.arange(12) % 3), 3, epochs=1, verbose=0)
    assert result.scale == 1.0 and np.all(result.prepare(x[:1]) == 255)
    features = transfer.feature_extractor(base).predict(np.full((1, 8, 8, 1), 255.0))
    assert np.allclose(result.model.predict(np.full((1, 8, 8, 1), 255.0)),
                       result.model.get_layer("new_head")(features).numpy(), atol=1e-6)


def test_an_image_tree_is_read_at_the_base_input_and_its_test_split_validates(tmp_path):
    image = pytest.importorskip("PIL.Image")
    x, y = letters(12, classes=2, size=40)
    for split, part in (("train", slice(0, 8)), ("test", slice(8, 12))):
        for i in range(12)[part]:
            folder = tmp_path / split / "ab"[y[i]]
            folder.mkdir(parents=True, exist_ok=True)
            image.fromarray(x[i]).save(folder / f"{i}.png")
    result = transfer.fine_tune(lenet(), tmp_path, 2, epochs=2, verbose=0)
    assert result.strategy == "head" and len(result.history["val_accuracy"]) == 2


@pytest.mark.parametrize("kwargs, words", [
    ({"strategy": "bottom"}, "argument 'strategy' must be one of"),
    ({"head_classes": 0}, "argument 'head_classes'"),
    ({"epochs": 0}, "argument 'epochs'"),
    ({"learning_rate": -1.0}, "argument 'learning_rate'"),
    ({"lowest_rate": 2.0}, "argument 'lowest_rate'"),
    ({"cut": "F7"}, "argument 'cut' must name a layer"),
    ({"strategy": "head", "top_blocks": 2}, "'top_blocks' goes with strategy 'top'"),
    ({"strategy": "top", "top_blocks": 5}, "argument 'top_blocks' must be an int in [1, 4]"),
    ({"strategy": "scratch", "gradual_unfreeze": True}, "strategy 'scratch' has none"),
    ({"data": (np.zeros((4, 28, 28), np.uint8), np.arange(3))}, "pair 4 images with 4"),
    ({"data": (np.zeros((4, 28, 28), np.uint8), np.arange(4) * 2)}, "received labels from 0 to 6"),
    ({"data": (np.zeros((4, 28, 28, 2), np.uint8), np.arange(4))}, "received 2 channels"),
    ({"data": (np.zeros((4, 28), np.uint8), np.arange(4))}, "must be (N, H, W)"),
    ({"data": (np.zeros((0, 28, 28), np.uint8), np.arange(0))}, "holds no images"),
    ({"data": "/no/such/tree"}, "a path that does not exist"),
])
def test_bad_arguments_are_errors_naming_them(kwargs, words):
    args = {"data": letters(8), "head_classes": 4, "epochs": 1, "verbose": 0, **kwargs}
    with pytest.raises(ValueError) as e:
        transfer.fine_tune(lenet(), args.pop("data"), args.pop("head_classes"), **args)
    assert words in str(e.value) and "fine_tune" in str(e.value)


def test_a_base_without_a_dense_classifier_needs_a_cut_and_data_must_be_a_pair():
    headless = zoo.lenet5((28, 28, 1), include_top=False)
    with pytest.raises(ValueError, match="does not end in a Dense classifier.*cut="):
        transfer.fine_tune(headless, letters(8), 4, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="argument 'data' must be"):
        transfer.fine_tune(lenet(), np.zeros((4, 28, 28)), 4, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="argument 'base' must be a built svertka model"):
        transfer.fine_tune("lenet5", letters(8), 4, epochs=1, verbose=0)


def test_the_frozen_part_runs_once_and_training_on_its_outputs_changes_nothing(monkeypatch):
    x, y = letters(96)
    kwargs = {"strategy": "top", "top_blocks": 2, "epochs": 2, "seed": 3, "verbose": 0}
    cached = transfer.fine_tune(lenet(), (x, y), 4, **kwargs).model
    monkeypatch.setattr(transfer, "_split", lambda model, first: (model, None))
    whole = transfer.fine_tune(lenet(), (x, y), 4, **kwargs).model
    for a, b in zip(cached.get_weights(), whole.get_weights()):
        assert np.allclose(a, b, atol=1e-5)


def test_split_cuts_a_resnet_between_blocks_but_not_across_a_shortcut():
    from svertka.layers import Add, Input

    model = zoo.resnet20()
    model.trainable = False
    first = model.get_layer("conv4_block2_1_conv")
    for layer in model.layers[model.layers.index(first):]:
        layer.trainable = True
    part, prefix = transfer._split(model, first)
    assert prefix.output_shape == (None, 8, 8, 64) and part.output_shape == (None, 10)
    x = np.random.default_rng(0).random((3, 32, 32, 3)).astype(np.float32)
    assert np.allclose(part.predict(prefix.predict(x)), model.predict(x), atol=1e-5)
    inp = Input((4,))
    a = Dense(4, name="a", trainable=False)(inp)
    b = Dense(4, name="b")(a)
    skip = svertka.Model(inp, Dense(2, name="c")(Add()([b, inp])))  # inp bypasses a
    assert transfer._split(skip, skip.get_layer("b")) == (skip, None)
