"""The weights that ship inside the package reproduce the accuracy the README states."""

import numpy as np
import pytest

from svertka import datasets, zoo
from svertka.datasets.sources import DatasetNotFoundError


def accuracy(model, data):
    try:
        _, (x, y), _ = datasets.load(data)
    except DatasetNotFoundError:
        pytest.skip(f"{data} is not in $SVERTKA_DATA")
    x = x[..., None] if x.ndim == 3 else x
    return float((model.predict(x / np.float32(255), batch_size=500).argmax(-1) == y).mean())


@pytest.mark.slow
def test_lenet5_mnist_reaches_99_percent():
    model = zoo.lenet5((28, 28, 1), weights="mnist")
    assert accuracy(model, "mnist") >= 0.990


def test_the_notes_model_mnist_reproduces_the_stated_99_34_percent():
    # not slow: one pass over MNIST's 10,000 test digits takes about a second
    model = zoo.notes_cnn(weights="mnist")
    assert accuracy(model, "mnist") >= 0.9934


@pytest.mark.slow
def test_resnet20_cifar10_reproduces_the_stated_90_07_percent():
    # the README states 90.07% (100 epochs with Cutout, two more cosine cycles of 45, the
    # last 12 epochs' weights averaged; the paper's 91.25% took 182)
    model = zoo.resnet20(weights="cifar10")
    assert accuracy(model, "cifar10") >= 0.9007


def test_unknown_weights_name_the_choices():
    with pytest.raises(ValueError, match=r"lenet5: argument 'weights' must be None, a weights "
                                         r"file, or one of \['mnist'\]"):
        zoo.lenet5(weights="imagenet")


def test_a_weights_file_loads_by_path(tmp_path):
    model = zoo.lenet5((28, 28, 1))
    model.save_weights(tmp_path / "w.weights")
    again = zoo.lenet5((28, 28, 1), weights=str(tmp_path / "w.weights"))
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


@pytest.mark.parametrize("spec", zoo.weights.specs())
def test_pretrained_builds_each_shipped_network_for_its_data(spec):
    """``arch:weights``: the builder at the shipped data's image shape, with those weights."""
    arch, _, name = spec.partition(":")
    model = zoo.pretrained(spec)
    assert model.input_shape[1:] == zoo.weights.INPUTS[name]
    by_hand = zoo.ARCHITECTURES[arch](input_shape=zoo.weights.INPUTS[name], weights=name)
    fresh = zoo.ARCHITECTURES[arch](input_shape=zoo.weights.INPUTS[name])
    for a, b in zip(model.get_weights(), by_hand.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.get_weights()[0], fresh.get_weights()[0])


@pytest.mark.parametrize("spec", ["lenet5", "lenet5:imagenet", "vgg16:mnist", ":mnist", ""])
def test_pretrained_names_the_shipped_choices(spec):
    with pytest.raises(ValueError, match=r"zoo.pretrained: argument 'spec' must be a zoo network "
                                         r"with shipped weights \(lenet5:mnist, notes:mnist, "
                                         r"resnet20:cifar10\), received"):
        zoo.pretrained(spec)


def test_from_spec_takes_a_model_file_or_a_shipped_name(tmp_path):
    """The forms the command line and svertka serve take a trained model in."""
    model = zoo.lenet5((28, 28, 1))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "m.svk")
    loaded = zoo.from_spec(str(tmp_path / "m.svk"))
    assert loaded.optimizer is None  # loaded to be used, not to go on training
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    shipped = zoo.from_spec("lenet5:mnist")
    for a, b in zip(shipped.get_weights(), zoo.pretrained("lenet5:mnist").get_weights(),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"^finetune: argument MODEL must be a saved model file "
                                         r"or a zoo network with shipped weights \(lenet5:mnist, "
                                         r".*received 'm2.svk' \(no such file\)$"):
        zoo.from_spec("m2.svk", "finetune", "MODEL")
